// Package devconsole is the staff console of make dev (local only, never
// deployed): a page of plain HTML, CSS and JavaScript modules that calls
// only the public HTTP API with a bearer token, so it is also the reference
// client for front-end teams. Beside it, make dev's local endpoints under
// /_local/: the console's token, the mailbox (the e-mails SES received,
// kept across restarts), the local Stripe's refunds and disputes, and its
// Terminal readers (a test card presented, a reader offline); and each
// payment link's page, /pay/{link} (infra/local/localstripe).
package devconsole

import (
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

//go:embed static
var static embed.FS

// Config is what the console needs from make dev.
type Config struct {
	// APIBase is the API's address as the browser reaches it.
	APIBase string
	// Company is the demo billing company the console opens.
	Company string
	// Token issues a billing:admin token for a company (the dev server
	// signs it with the local secret).
	Token func(company string) (token string, expires time.Time, err error)
	// Mailbox holds the e-mails SES received.
	Mailbox *Mailbox
	// Stripe is the local Stripe (payments, refunds, disputes) and
	// Checkout its payment pages.
	Stripe   *localstripe.Simulator
	Checkout *localstripe.Checkout
	Log      *slog.Logger
	// Hosts are the Host values the console answers to: its own host:port
	// as a browser names it (localhost:3001, 127.0.0.1:3001…). Any other
	// is refused (DNS rebinding). Empty: a loopback name on any port.
	Hosts []string
}

// New serves the console, its local endpoints and the payment pages, at
// its own host only; the local endpoints to its own page (or to a tool
// that names no origin) only.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	files, _ := fs.Sub(static, "static")
	assets := http.FileServer(http.FS(files))
	mux.Handle("GET /assets/", securityHeaders(cfg, assets))
	mux.Handle("GET /{$}", securityHeaders(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})))
	h := &handlers{cfg: cfg}
	mux.Handle("GET /help/{lang}", securityHeaders(cfg, http.HandlerFunc(h.help)))
	mux.Handle("GET /help/images/{name}", securityHeaders(cfg, http.HandlerFunc(helpImage)))
	mux.HandleFunc("GET /_local/session", sameOrigin(h.session))
	mux.HandleFunc("GET /_local/mailbox", sameOrigin(h.mailList))
	mux.HandleFunc("GET /_local/mailbox/{id}", sameOrigin(h.mailOne))
	mux.HandleFunc("POST /_local/stripe/pay", sameOrigin(h.pay))
	mux.HandleFunc("POST /_local/stripe/payments/{pi}/refund", sameOrigin(h.refund))
	mux.HandleFunc("POST /_local/stripe/payments/{pi}/dispute", sameOrigin(h.dispute))
	mux.HandleFunc("POST /_local/stripe/payments/{pi}/settle", sameOrigin(h.settle))
	mux.HandleFunc("POST /_local/stripe/refunds/{id}/status", sameOrigin(h.refundStatus))
	mux.HandleFunc("POST /_local/stripe/events/deliver", sameOrigin(h.deliverHeld))
	mux.HandleFunc("GET /_local/terminal/readers", sameOrigin(h.readers))
	mux.HandleFunc("POST /_local/terminal/readers/{readerId}/present_payment_method", sameOrigin(h.presentPaymentMethod))
	mux.HandleFunc("POST /_local/terminal/readers/{readerId}/cancel", sameOrigin(h.customerCancel))
	mux.HandleFunc("POST /_local/terminal/readers/{readerId}/status", sameOrigin(h.readerStatus))
	if cfg.Checkout != nil {
		cfg.Checkout.Routes(mux)
	}
	return ownHost(cfg, mux)
}

// securityHeaders: the console runs no inline script and loads nothing from
// elsewhere; it calls the API (connect-src) and shows an e-mail's HTML in a
// sandboxed frame (inline styles, no script).
func securityHeaders(cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' "+cfg.APIBase+
			"; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self' about:; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

func init() {
	// Some systems map .js to text/plain; modules need a JavaScript type.
	_ = mime.AddExtensionType(".js", "text/javascript; charset=utf-8")
}

type handlers struct{ cfg Config }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// readJSON reads a local endpoint's body. JSON only: a page on another
// origin can't send it without a preflight, which these endpoints never
// answer, so no other site can make payments happen in a tester's dev.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not the expected JSON: "+err.Error())
		return false
	}
	return true
}

func (h *handlers) session(w http.ResponseWriter, r *http.Request) {
	company := r.URL.Query().Get("company")
	if company == "" {
		company = h.cfg.Company
	}
	tok, exp, err := h.cfg.Token(company)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"apiBase": h.cfg.APIBase, "companyId": company, "token": tok, "expiresAt": exp.UTC().Format(time.RFC3339),
	})
}

func (h *handlers) mailList(w http.ResponseWriter, r *http.Request) {
	mails, err := h.cfg.Mailbox.List(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, "mailbox_unavailable", err.Error())
		return
	}
	out := make([]map[string]any, 0, len(mails))
	for _, m := range mails {
		out = append(out, m.summary())
	}
	writeJSON(w, http.StatusOK, map[string]any{"emails": out})
}

func (h *handlers) mailOne(w http.ResponseWriter, r *http.Request) {
	m, err := h.cfg.Mailbox.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNoMail):
		writeError(w, http.StatusNotFound, "not_found", "no e-mail with that message id")
	case err != nil:
		writeError(w, http.StatusBadGateway, "mailbox_unavailable", err.Error())
	default:
		writeJSON(w, http.StatusOK, m)
	}
}

// simulated answers a local Stripe action: the payment as Stripe now holds
// it and the events delivered, or the tester's mistake.
func (h *handlers) simulated(w http.ResponseWriter, p *localstripe.Payment, ds []localstripe.Delivery, err error) {
	h.logDeliveries(ds)
	if ds == nil {
		ds = []localstripe.Delivery{}
	}
	var code string
	status := http.StatusConflict
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"payment": p, "deliveries": ds})
		return
	case errors.Is(err, localstripe.ErrNoLink), errors.Is(err, localstripe.ErrNoPayment), errors.Is(err, localstripe.ErrNoRefund), errors.Is(err, localstripe.ErrNoEvent):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, localstripe.ErrLinkInactive):
		code = "link_inactive"
	case errors.Is(err, localstripe.ErrBadAmount), errors.Is(err, localstripe.ErrBadMethod):
		status, code = http.StatusBadRequest, "invalid_request"
	case errors.Is(err, localstripe.ErrNotProcessing), errors.Is(err, localstripe.ErrNotPaid), errors.Is(err, localstripe.ErrDisputeState),
		errors.Is(err, localstripe.ErrRefundState):
		code = "invalid_state"
	case errors.Is(err, localstripe.ErrWebhookUnreachable):
		status, code = http.StatusBadGateway, "webhook_unreachable"
	default: // the local Stripe's state could not be kept, say
		status, code = http.StatusInternalServerError, "internal_error"
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}, "deliveries": ds})
}

func (h *handlers) dispute(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action string `json:"action"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	p, ds, err := h.cfg.Stripe.Dispute(r.Context(), r.PathValue("pi"), in.Action)
	h.simulated(w, p, ds, err)
}

func (h *handlers) settle(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Outcome string `json:"outcome"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Outcome != localstripe.Succeeded && in.Outcome != localstripe.Failed {
		writeError(w, http.StatusBadRequest, "invalid_request", "outcome must be succeeded or failed")
		return
	}
	p, ds, err := h.cfg.Stripe.Settle(r.Context(), r.PathValue("pi"), in.Outcome == localstripe.Succeeded)
	h.simulated(w, p, ds, err)
}

// pay is make pay: an outcome for an invoice's payment, as a patient (or
// their bank, or Stripe) would bring it about.
func (h *handlers) pay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Company, Invoice, Outcome string
		// Adaptive Pricing: the patient pays in this currency and amount.
		PresentmentCurrency string `json:"presentmentCurrency"`
		PresentmentAmount   int64  `json:"presentmentAmount"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Company == "" {
		in.Company = h.cfg.Company
	}
	if in.Invoice == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "name the invoice: make pay INVOICE=<id>")
		return
	}
	p, ds, err := pay(r.Context(), h.cfg.Stripe, in.Company, in.Invoice, in.Outcome,
		localstripe.Presentment{Currency: in.PresentmentCurrency, Amount: in.PresentmentAmount})
	if errors.Is(err, errBadOutcome) {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	h.simulated(w, p, ds, err)
}
