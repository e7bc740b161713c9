package localstripe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/stripegateway"
)

const secret = "whsec_test_local"

// receiver is a webhook endpoint that reads each delivery with the
// service's own reader (signature, API version, shapes) and answers as the
// webhook route does.
type receiver struct {
	mu     sync.Mutex
	events []*billing.WebhookEvent
}

func (rc *receiver) serve(t *testing.T) *httptest.Server {
	reader := stripegateway.NewWebhookReader(stripegateway.StaticSecret(secret))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := reader.Read(r.Context(), body, r.Header.Get("Stripe-Signature"))
		if err != nil {
			t.Errorf("the service's reader refused a local event: %v\n%s", err, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.events = append(rc.events, ev)
		rc.mu.Unlock()
		_, _ = io.WriteString(w, `{"received":true,"outcome":"applied"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (rc *receiver) last() *billing.WebhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.events[len(rc.events)-1]
}

// makeLink plays the service's calls to Stripe for one link, as the proxy
// sees them.
func makeLink(s *State, linkID string, amount string) {
	price := url.Values{"unit_amount": {amount}, "currency": {"cad"}, "product_data[name]": {"Facture F-1"}}
	s.Observe(http.MethodPost, "/v1/prices", http.Header{"Stripe-Account": {"acct_1Clinic"}}, price, 200, []byte(`{"id":"price_1","object":"price"}`))
	link := url.Values{
		"line_items[0][price]": {"price_1"}, "line_items[0][quantity]": {"1"},
		"restrictions[completed_sessions][limit]": {"1"}, "inactive_message": {"Ce lien n'est plus actif."},
		"after_completion[hosted_confirmation][custom_message]": {"Merci!"},
		"metadata[billing_company_id]":                          {"clinic-1"}, "metadata[invoice_id]": {"F-1"}, "metadata[link_generation]": {"3"},
	}
	s.Observe(http.MethodPost, "/v1/payment_links", http.Header{"Stripe-Account": {"acct_1Clinic"}}, link, 200,
		[]byte(`{"id":"`+linkID+`","object":"payment_link","url":"http://localhost:3001/pay/`+linkID+`"}`))
}

func TestObserveLearnsWhatTheServiceMade(t *testing.T) {
	s, _ := Open("")
	makeLink(s, "plink_1", "12500")
	l := s.Link("plink_1")
	if l == nil || l.Amount != 12500 || l.Currency != "cad" || l.Account != "acct_1Clinic" || l.ProductName != "Facture F-1" ||
		l.Metadata["link_generation"] != "3" || l.InactiveMessage == "" || l.ConfirmationMessage != "Merci!" || !l.Usable() || l.SessionLimit != 1 {
		t.Fatalf("%+v", l)
	}
	if a := s.ActiveLink("clinic-1", "F-1"); a == nil || a.ID != "plink_1" {
		t.Fatalf("active link %+v", a)
	}
	// A refused call teaches nothing; a deactivation ends the link.
	s.Observe(http.MethodPost, "/v1/payment_links/plink_1", nil, url.Values{"active": {"false"}}, 400, []byte(`{"error":{}}`))
	if !s.Link("plink_1").Usable() {
		t.Fatal("a refused deactivation ended the link")
	}
	s.Observe(http.MethodPost, "/v1/payment_links/plink_1", nil, url.Values{"active": {"false"}}, 200, []byte(`{"id":"plink_1","object":"payment_link"}`))
	if s.Link("plink_1").Usable() || s.ActiveLink("clinic-1", "F-1") != nil {
		t.Fatal("a deactivated link still takes payments")
	}
	// A paid link's new message is what its page says.
	s.Observe(http.MethodPost, "/v1/payment_links/plink_1", nil, url.Values{"inactive_message": {"Facture payée, merci."}}, 200,
		[]byte(`{"id":"plink_1","object":"payment_link"}`))
	if l := s.Link("plink_1"); l.InactiveMessage != "Facture payée, merci." || l.Usable() {
		t.Fatalf("%+v", l)
	}
}

// TestPaymentsSendWhatStripeSends: each outcome sends the events the
// service reads, with the link's amount, currency, account and metadata.
func TestPaymentsSendWhatStripeSends(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{}
	srv := rc.serve(t)
	path := filepath.Join(t.TempDir(), "stripe.json")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sim := &Simulator{State: s, WebhookURL: srv.URL, Secret: secret}

	makeLink(s, "plink_card", "12500")
	if p, ds, err := sim.Checkout(ctx, "plink_card", Decline); err != nil || p != nil || len(ds) != 1 || ds[0].Type != "payment_intent.payment_failed" {
		t.Fatalf("decline: %v %+v %+v", err, p, ds)
	}
	if !s.Link("plink_card").Usable() {
		t.Fatal("a declined card used the link up")
	}
	p, ds, err := sim.Checkout(ctx, "plink_card", Card)
	if err != nil || p.Status != Succeeded || len(ds) != 1 || ds[0].Outcome != "applied" {
		t.Fatalf("card: %v %+v %+v", err, p, ds)
	}
	ev := rc.last()
	if ev.Type != billing.EventCheckoutCompleted || ev.AccountID != "acct_1Clinic" || ev.CompanyID != "clinic-1" || ev.InvoiceID != "F-1" ||
		ev.Generation != 3 || ev.Facts.State != billing.PaymentSucceeded || ev.Facts.Amount != 12500 || ev.Facts.Currency != "cad" ||
		ev.Facts.LinkID != "plink_card" || ev.Facts.PaymentIntentID != p.PaymentIntent {
		t.Fatalf("the service read %+v", ev)
	}
	if _, _, err := sim.Checkout(ctx, "plink_card", Card); !errors.Is(err, ErrLinkInactive) {
		t.Fatalf("a used link took a second payment: %v", err)
	}

	// Refunds: partial, then the rest; never more than was paid. The
	// charge comes without its refunds (API 2023-10-16); the reads answer
	// them from the state, on the payment's account only.
	if _, err := sim.Refund(ctx, p.PaymentIntent, 2500, "", false); err != nil {
		t.Fatal(err)
	}
	if ev := rc.last(); ev.Type != billing.EventChargeRefunded || *ev.Facts.ChargeRefunded != 2500 || ev.Facts.PaymentIntentID != p.PaymentIntent {
		t.Fatalf("refund read as %+v", ev)
	}
	if _, err := sim.Refund(ctx, p.PaymentIntent, 10001, "", false); !errors.Is(err, ErrBadAmount) {
		t.Fatalf("over-refund: %v", err)
	}
	o, err := sim.Refund(ctx, p.PaymentIntent, 0, RefundPending, true)
	if err != nil || o.Refund.Amount != 10000 || o.Refund.Status != RefundPending || len(o.Held) != 1 || len(o.Deliveries) != 0 {
		t.Fatalf("held refund of the rest: %v %+v", err, o)
	}
	status, body, ok := s.Answer(http.MethodGet, "/v1/refunds", http.Header{"Stripe-Account": {"acct_1Clinic"}}, url.Values{"charge": {p.Charge}})
	if !ok || status != 200 || !strings.Contains(string(body), o.Refund.ID) || !strings.Contains(string(body), `"pending"`) {
		t.Fatalf("refunds read: %d %s", status, body)
	}
	if status, _, _ := s.Answer(http.MethodGet, "/v1/refunds", http.Header{"Stripe-Account": {"acct_1Other"}}, url.Values{"charge": {p.Charge}}); status != 404 {
		t.Fatalf("another account read the refunds: %d", status)
	}
	// The charge with its refunds expanded, and the PaymentIntent with its
	// charge, as stripe-go asks for them.
	acct := http.Header{"Stripe-Account": {"acct_1Clinic"}}
	if _, body, ok := s.Answer(http.MethodGet, "/v1/charges/"+p.Charge, acct, url.Values{"expand[0]": {"refunds"}}); !ok ||
		!strings.Contains(string(body), `"amount_refunded":12500`) || !strings.Contains(string(body), o.Refund.ID) {
		t.Fatalf("charge read: %s", body)
	}
	if _, body, ok := s.Answer(http.MethodGet, "/v1/payment_intents/"+p.PaymentIntent, acct, url.Values{"expand[0]": {"latest_charge"}}); !ok ||
		!strings.Contains(string(body), `"last4":"4242"`) {
		t.Fatalf("payment intent read: %s", body)
	}
	// The refund fails: charge.refund.updated; amount_refunded drops.
	if o, err := sim.RefundStatus(ctx, o.Refund.ID, RefundFailed, false); err != nil || len(o.Deliveries) != 1 || o.Payment.Refunded() != 2500 {
		t.Fatalf("refund failed: %v %+v", err, o)
	}
	if ev := rc.last(); ev.Type != billing.EventChargeRefundUpdated || ev.Facts.Refund == nil || ev.Facts.Refund.Status != billing.RefundFailed {
		t.Fatalf("refund update read as %+v", ev)
	}
	if _, err := sim.RefundStatus(ctx, o.Refund.ID, RefundSucceeded, false); !errors.Is(err, ErrRefundState) {
		t.Fatalf("a failed refund succeeded: %v", err)
	}
	// The held charge.refunded goes when asked, twice if named twice.
	if ds, err := sim.DeliverHeld(ctx, []string{o.Held[0].ID, o.Held[0].ID}); err != nil || len(ds) != 2 || ds[0].Type != "charge.refunded" {
		t.Fatalf("deliver held: %v %+v", err, ds)
	}
	if q, err := sim.Refund(ctx, p.PaymentIntent, 0, "", false); err != nil || q.Payment.Refunded() != 12500 || *rc.last().Facts.ChargeRefunded != 12500 {
		t.Fatalf("refund of the rest: %v %+v", err, q)
	}

	// A dispute opens, then is lost; it can't be won afterwards.
	if _, ds, err := sim.Dispute(ctx, p.PaymentIntent, DisputeLost); err != nil || len(ds) != 2 || ds[0].Type != "charge.dispute.created" || ds[1].Type != "charge.dispute.closed" {
		t.Fatalf("dispute: %v %+v", err, ds)
	}
	if ev := rc.last(); ev.Facts.Dispute == nil || ev.Facts.Dispute.Status != "lost" {
		t.Fatalf("dispute read as %+v", ev)
	}
	if _, _, err := sim.Dispute(ctx, p.PaymentIntent, DisputeWon); !errors.Is(err, ErrDisputeState) {
		t.Fatalf("a closed dispute was won: %v", err)
	}

	// A pre-authorized debit clears days later: processing, then failed.
	makeLink(s, "plink_pad", "8000")
	p, _, err = sim.Checkout(ctx, "plink_pad", PreAuthorizedDebit)
	if err != nil || p.Status != Processing || rc.last().Facts.State != billing.PaymentProcessing {
		t.Fatalf("debit: %v %+v %+v", err, p, rc.last())
	}
	if _, err := sim.Refund(ctx, p.PaymentIntent, 100, "", false); !errors.Is(err, ErrNotPaid) {
		t.Fatalf("refund of a clearing debit: %v", err)
	}
	if _, _, err := sim.Settle(ctx, p.PaymentIntent, false); err != nil || rc.last().Type != billing.EventAsyncFailed || rc.last().Facts.State != billing.PaymentFailed {
		t.Fatalf("failed debit: %v %+v", err, rc.last())
	}
	if _, _, err := sim.Settle(ctx, p.PaymentIntent, true); !errors.Is(err, ErrNotProcessing) {
		t.Fatalf("a failed debit cleared: %v", err)
	}

	// What the local Stripe knows survives a restart of make dev.
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if l := again.Link("plink_card"); l == nil || l.Usable() || l.CompletedSessions != 1 {
		t.Fatalf("after a restart: %+v", l)
	}
	if got := again.Payments("clinic-1", "F-1"); len(got) != 2 || got[0].PaymentIntent != p.PaymentIntent || len(got[1].Deliveries) != 6 {
		t.Fatalf("after a restart: %+v", got)
	}
}

// The page of each link speaks the patient's language, read from the
// link's own texts.
func TestCheckoutLanguage(t *testing.T) {
	for _, tc := range []struct {
		product, locale, accept string
		want                    billing.Language
	}{
		{"Facture F-1", "", "en-CA", billing.French},
		{"Invoice F-1", "", "fr-CA", billing.English},
		{"Facture F-1", "en", "", billing.English},
		{"Something else", "", "en-US,en", billing.English},
		{"Something else", "", "", billing.French},
	} {
		r := httptest.NewRequest(http.MethodGet, "/pay/x?locale="+tc.locale, nil)
		r.Header.Set("Accept-Language", tc.accept)
		if got := language(r, &Link{ProductName: tc.product}); got != tc.want {
			t.Errorf("%+v: %s", tc, got)
		}
	}
}
