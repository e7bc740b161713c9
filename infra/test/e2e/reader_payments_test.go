package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/wiring"
)

// Paying an invoice at the front desk against the local servers: the
// local Stripe plays the clinic's simulated reader as Stripe's test mode
// does (behind stripe-mock's check of every call), presenting test cards
// and sending Stripe's signed events to the webhook route.

// deskReader registers a simulated reader (simulated-wpe) on the tenant's
// account at the local Stripe and keeps it as the service keeps a clinic's
// readers.
func deskReader(t *testing.T, tn *tenant) string {
	t.Helper()
	form := url.Values{"registration_code": {localstripe.SimulatedReaderCode}, "label": {"Front desk"}}
	req, err := http.NewRequest("POST", env.stripe.URL+"/v1/terminal/readers", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv(wiring.EnvStripeAPIKey))
	req.Header.Set("Stripe-Account", tn.Account)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || r.ID == "" {
		t.Fatalf("register a reader: %d %v", resp.StatusCode, err)
	}
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		t.Fatal(err)
	}
	store, err := wiring.Store(awsCfg, wiring.OS())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.SaveReader(context.Background(), &billing.Reader{CompanyID: tn.ID, ID: r.ID, Label: "Front desk",
		DeviceType: "simulated_wisepos_e", Status: billing.ReaderOnline, Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func startOnReader(t *testing.T, l linked, reader string) *response {
	t.Helper()
	return call(t, "POST", "/invoices/"+l.invoiceID+"/reader-payment", l.tn.Staff, map[string]any{"readerId": reader},
		"Idempotency-Key", "desk-"+randomHex(6))
}

func present(t *testing.T, reader, typ, number string) *localstripe.ReaderOutcome {
	t.Helper()
	out, err := env.desk.PresentPaymentMethod(context.Background(), reader, localstripe.Presented{Type: typ, Number: number})
	if err != nil {
		t.Fatal(err)
	}
	env.desk.Pending() // the capture's events, delivered
	return out
}

// captures counts the captures of a PaymentIntent Stripe made: calls
// answered 200, one per idempotency key (a redelivered event asks again
// with the same key, and Stripe replays its answer).
func captures(pi string) int {
	keys := map[string]bool{}
	for _, r := range env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/capture" && r.Status == 200
	}) {
		keys[r.Header.Get("Idempotency-Key")] = true
	}
	return len(keys)
}

// TestPayAtTheDesk is the table of issue 20's reader payments, each row
// its own invoice on its own clinic's reader.
func TestPayAtTheDesk(t *testing.T) {
	t.Parallel()
	t.Run("card approved, captured by the service", func(t *testing.T) {
		t.Parallel()
		tn := newTenant(t, "fr")
		reader := deskReader(t, tn)
		l := linkedInvoice(t, tn, 12500)
		a := startOnReader(t, l, reader).want(t, 201)
		if a.str("status") != billing.ReaderWaiting || a.num("amount") != 12500 || a.str("readerId") != reader {
			t.Fatalf("attempt %s", a.Raw)
		}
		v := l.view(t)
		if v.JSON["paymentLink"] != nil || v.str("paymentLinkBlocked", "code") != "reader_payment_in_progress" ||
			v.str("readerPayment", "id") != a.str("id") {
			t.Fatalf("view during the attempt: %s", v.Raw)
		}
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "reader_payment_in_progress")
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 10000, "fr")).
			wantError(t, 409, "reader_payment_in_progress")
		present(t, reader, "card_present", "4242424242424242")
		v = l.view(t)
		p, _ := dig(v.JSON, "payments").([]any)
		if v.num("balanceDue") != 0 || v.str("readerPayment", "status") != billing.ReaderSucceeded || len(p) != 1 ||
			dig(p[0], "channel") != "in_person" || dig(p[0], "method", "type") != "card_present" || dig(p[0], "method", "last4") != "4242" {
			t.Fatalf("after the card: %s", v.Raw)
		}
		if n := captures(a.str("paymentIntentId")); n != 1 {
			t.Fatalf("%d captures", n)
		}
		if e := feedFor(t, tn, l.invoiceID); len(e) != 1 || e[0]["channel"] != "in_person" {
			t.Fatalf("feed %v", e)
		}
	})
	t.Run("interac approved, no capture call", func(t *testing.T) {
		t.Parallel()
		tn := newTenant(t, "fr")
		reader := deskReader(t, tn)
		l := linkedInvoice(t, tn, 8000)
		a := startOnReader(t, l, reader).want(t, 201)
		present(t, reader, "interac_present", "4506445006931933")
		v := l.view(t)
		p, _ := dig(v.JSON, "payments").([]any)
		if v.num("balanceDue") != 0 || len(p) != 1 || dig(p[0], "method", "type") != "interac_present" {
			t.Fatalf("after Interac: %s", v.Raw)
		}
		if n := captures(a.str("paymentIntentId")); n != 0 || v.str("readerPayment", "status") != billing.ReaderSucceeded {
			t.Fatalf("%d captures; %s", n, v.Raw)
		}
	})
	t.Run("declined, then approved on the same PaymentIntent", func(t *testing.T) {
		t.Parallel()
		tn := newTenant(t, "fr")
		reader := deskReader(t, tn)
		l := linkedInvoice(t, tn, 5000)
		first := startOnReader(t, l, reader).want(t, 201)
		present(t, reader, "card_present", "4000000000000002")
		if v := l.view(t); v.str("readerPayment", "status") != billing.ReaderDeclined || v.str("readerPayment", "reason") == "" {
			t.Fatalf("after the decline: %s", v.Raw)
		}
		second := startOnReader(t, l, reader).want(t, 201)
		if second.str("paymentIntentId") != first.str("paymentIntentId") {
			t.Fatalf("a second PaymentIntent: %s", second.Raw)
		}
		present(t, reader, "card_present", "4242424242424242")
		if v := l.view(t); v.num("balanceDue") != 0 {
			t.Fatalf("after the approval: %s", v.Raw)
		}
	})
	t.Run("staff cancel", func(t *testing.T) {
		t.Parallel()
		tn := newTenant(t, "fr")
		reader := deskReader(t, tn)
		l := linkedInvoice(t, tn, 5000)
		startOnReader(t, l, reader).want(t, 201)
		c := call(t, "DELETE", "/invoices/"+l.invoiceID+"/reader-payment", tn.Staff, nil).want(t, 200)
		if c.str("status") != billing.ReaderCanceled || c.str("reason") != billing.ReasonCanceledByStaff {
			t.Fatalf("cancel: %s", c.Raw)
		}
		env.desk.Pending()
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).want(t, 201)
	})
	t.Run("reader busy, another clinic's reader", func(t *testing.T) {
		t.Parallel()
		tn, other := newTenant(t, "fr"), newTenant(t, "fr")
		reader, theirs := deskReader(t, tn), deskReader(t, other)
		l, m := linkedInvoice(t, tn, 5000), linkedInvoice(t, tn, 7000)
		startOnReader(t, l, reader).want(t, 201)
		startOnReader(t, m, reader).wantError(t, 409, "reader_busy")
		startOnReader(t, m, theirs).wantError(t, 404, "not_found")
		call(t, "DELETE", "/invoices/"+m.invoiceID+"/reader-payment", tn.Staff, nil).wantError(t, 404, "not_found")
	})
}

// TestReaderPaymentWhileStripeCannotEndTheLink: Stripe fails to end the
// invoice's link as a reader payment starts. The claim on the invoice is
// released at once (an UpdateItem the function's role must allow), so
// the retry with the same key starts the payment without waiting for the
// claim to run out, and the link ended once.
func TestReaderPaymentWhileStripeCannotEndTheLink(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	reader := deskReader(t, tn)
	l := linkedInvoice(t, tn, 12500)
	rule := env.stripe.Inject(faultproxy.Rule{Match: stripeTarget("deactivate")(tn.Account, l.invoiceID), Status: 500, Body: stripeDown, Header: jsonHeader})
	path, body, key := "/invoices/"+l.invoiceID+"/reader-payment", map[string]any{"readerId": reader}, "desk-"+randomHex(6)
	call(t, "POST", path, tn.Staff, body, "Idempotency-Key", key).wantError(t, 503, "payment_provider_unavailable")
	env.stripe.Remove(rule)
	a := retryUntilSettled(t, "POST", path, tn.Staff, body, "Idempotency-Key", key).want(t, 201)
	if a.str("status") != billing.ReaderWaiting || a.num("amount") != 12500 {
		t.Fatalf("attempt %s", a.Raw)
	}
}
