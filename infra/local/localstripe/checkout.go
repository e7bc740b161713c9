package localstripe

import (
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/clinicpay/payments/internal/billing"
)

//go:embed checkout.html
var checkoutHTML string

var checkoutPage = template.Must(template.New("checkout").Parse(checkoutHTML))

// Checkout serves each payment link's page, as Stripe's hosted page would
// at the link's URL: GET /pay/{link} shows it, POST pays it.
type Checkout struct {
	Sim *Simulator
	// ClinicName is the connected account's business name, which Stripe's
	// page shows (make dev reads the billing company).
	ClinicName func(ctx context.Context, companyID string) string
	Log        *slog.Logger
}

// Routes registers the page's routes on mux.
func (c *Checkout) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /pay/{link}", c.show)
	mux.HandleFunc("POST /pay/{link}", c.pay)
	mux.HandleFunc("GET /pay/{link}/payments/{pi}", c.result)
	mux.HandleFunc("POST /pay/{link}/payments/{pi}", c.settle)
}

// pageWords is the page's own wording; the invoice's texts come from the
// link, in the patient's language already.
var pageWords = map[billing.Language]map[string]string{
	billing.French: {
		"title": "Paiement", "test": "Mode test — page locale qui tient lieu de Stripe Checkout (make dev). Aucun argent ne bouge.",
		"pay": "Payer", "card": "Payer par carte", "pad": "Payer par débit préautorisé", "decline": "Carte refusée (simulation)",
		"cardHint": "Carte de test 4242 4242 4242 4242", "padHint": "Débit préautorisé (DPA) : le paiement est en traitement quelques jours",
		"declined": "Votre carte a été refusée. Essayez un autre mode de paiement.", "processing": "Votre paiement par débit préautorisé est en cours de traitement. Vous recevrez une confirmation lorsqu'il sera complété.",
		"failed": "Le débit préautorisé a échoué. Aucun montant n'a été prélevé.", "tester": "Pour le testeur : l'issue du débit",
		"succeed": "Le débit passe", "fail": "Le débit échoue", "events": "Événements envoyés au webhook", "notFound": "Ce lien de paiement n'existe pas.",
		"reference": "Référence", "method": "Mode de paiement",
	},
	billing.English: {
		"title": "Payment", "test": "Test mode — a local page standing in for Stripe Checkout (make dev). No money moves.",
		"pay": "Pay", "card": "Pay by card", "pad": "Pay by pre-authorized debit", "decline": "Card declined (simulation)",
		"cardHint": "Test card 4242 4242 4242 4242", "padHint": "Pre-authorized debit (PAD): the payment processes for a few days",
		"declined": "Your card was declined. Try another payment method.", "processing": "Your pre-authorized debit payment is processing. You will get a confirmation once it completes.",
		"failed": "The pre-authorized debit failed. No money was taken.", "tester": "For the tester: how the debit ends",
		"succeed": "The debit clears", "fail": "The debit fails", "events": "Events sent to the webhook", "notFound": "This payment link does not exist.",
		"reference": "Reference", "method": "Payment method",
	},
}

type pageData struct {
	Lang       billing.Language
	W          map[string]string
	Link       *Link
	Clinic     string
	Amount     string
	State      string // pay, declined, paid, processing, failed, inactive, not_found, error
	Message    string
	Payment    *Payment
	Deliveries []Delivery
}

// language is the link's language, else the tester's ?locale=, else the
// browser's, as Stripe's locale=auto does.
func language(r *http.Request, l *Link) billing.Language {
	if q := billing.Language(r.URL.Query().Get("locale")); q.Valid() {
		return q
	}
	if l != nil {
		if lang, ok := billing.PageLanguage(l.ProductName); ok {
			return lang
		}
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en") {
		return billing.English
	}
	return billing.French
}

func (c *Checkout) data(r *http.Request, l *Link) *pageData {
	lang := language(r, l)
	d := &pageData{Lang: lang, W: pageWords[lang], Link: l}
	if l != nil {
		d.Amount = billing.FormatMoney(l.Amount, l.Currency, lang)
		if c.ClinicName != nil {
			d.Clinic = c.ClinicName(r.Context(), l.Metadata["billing_company_id"])
		}
	}
	return d
}

func (c *Checkout) render(w http.ResponseWriter, status int, d *pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := checkoutPage.Execute(w, d); err != nil && c.Log != nil {
		c.Log.Error("checkout page", "error", err.Error())
	}
}

func (c *Checkout) show(w http.ResponseWriter, r *http.Request) {
	l := c.Sim.State.Link(r.PathValue("link"))
	d := c.data(r, l)
	switch {
	case l == nil:
		d.State = "not_found"
		c.render(w, http.StatusNotFound, d)
		return
	case !l.Usable():
		d.State, d.Message = "inactive", l.InactiveMessage
	case r.URL.Query().Has("declined"):
		d.State = "declined"
	default:
		d.State = "pay"
	}
	c.render(w, http.StatusOK, d)
}

func (c *Checkout) pay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("link")
	p, deliveries, err := c.Sim.Checkout(r.Context(), id, r.FormValue("method"))
	c.logDeliveries(deliveries)
	switch {
	case errors.Is(err, ErrNoLink), errors.Is(err, ErrLinkInactive):
		c.show(w, r)
		return
	case err != nil:
		d := c.data(r, c.Sim.State.Link(id))
		d.State, d.Message = "error", err.Error()
		c.render(w, http.StatusBadGateway, d)
		return
	case p == nil: // declined
		http.Redirect(w, r, "/pay/"+id+"?declined=1"+localeParam(r, "&"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/pay/"+id+"/payments/"+p.PaymentIntent+localeParam(r, "?"), http.StatusSeeOther)
}

func localeParam(r *http.Request, sep string) string {
	if q := r.URL.Query().Get("locale"); billing.Language(q).Valid() {
		return sep + "locale=" + q
	}
	return ""
}

func (c *Checkout) result(w http.ResponseWriter, r *http.Request) {
	l := c.Sim.State.Link(r.PathValue("link"))
	p := c.Sim.State.Payment(r.PathValue("pi"))
	d := c.data(r, l)
	if l == nil || p == nil || p.LinkID != l.ID {
		d.State = "not_found"
		c.render(w, http.StatusNotFound, d)
		return
	}
	d.Payment = p
	switch p.Status {
	case Succeeded:
		d.State, d.Message = "paid", l.ConfirmationMessage
	case Processing:
		d.State = "processing"
	default:
		d.State = "failed"
	}
	c.render(w, http.StatusOK, d)
}

func (c *Checkout) settle(w http.ResponseWriter, r *http.Request) {
	if p := c.Sim.State.Payment(r.PathValue("pi")); p == nil || p.LinkID != r.PathValue("link") {
		d := c.data(r, c.Sim.State.Link(r.PathValue("link")))
		d.State = "not_found"
		c.render(w, http.StatusNotFound, d)
		return
	}
	_, deliveries, err := c.Sim.Settle(r.Context(), r.PathValue("pi"), r.FormValue("outcome") == Succeeded)
	c.logDeliveries(deliveries)
	if err != nil && !errors.Is(err, ErrNotProcessing) && !errors.Is(err, ErrNoPayment) {
		d := c.data(r, c.Sim.State.Link(r.PathValue("link")))
		d.State, d.Message = "error", err.Error()
		c.render(w, http.StatusBadGateway, d)
		return
	}
	http.Redirect(w, r, "/pay/"+r.PathValue("link")+"/payments/"+r.PathValue("pi")+localeParam(r, "?"), http.StatusSeeOther)
}

func (c *Checkout) logDeliveries(ds []Delivery) {
	if c.Log == nil {
		return
	}
	for _, d := range ds {
		c.Log.Info("local stripe event delivered", "event", d.EventID, "type", d.Type, "status", d.Status, "outcome", d.Outcome, "reason", d.Reason)
	}
}
