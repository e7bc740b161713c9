package e2e

import (
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/billing"
)

// crashOp is one kind of request, with what the world looks like before it.
type crashOp struct {
	// setup prepares an invoice and returns the request to crash and retry.
	setup func(t *testing.T, tn *tenant) crashRequest
	want  int // the retry's answer
	links int // Payment Links made at Stripe for the invoice, in all
	check func(t *testing.T, tn *tenant, r crashRequest, step string)
}

type crashRequest struct {
	invoiceID    string
	method, path string
	body         any
	to           string // e-mail address, for e-mail requests
	webhook      bool   // a Stripe delivery (re-signed when resent)
	reader       string // the reader a reader payment is sent to
}

// TestCrashAtEveryStep kills each request at each of its steps (the process
// stops there for good) and then retries it, as a client or Stripe would.
// The fault table: every row must end with the invariants of checkLinks
// (at most one active link; Stripe and the store agree; no lease left) plus
// the row's own.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	ops := map[string]crashOp{
		"create": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				return crashRequest{invoiceID: id, method: "POST", path: "/invoices/" + id + "/payment-link"}
			},
			want: 201, links: 1,
		},
		"regenerate": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
				return crashRequest{invoiceID: id, method: "POST", path: "/invoices/" + id + "/payment-link/regenerate"}
			},
			want: 201, links: 2,
		},
		"remove": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
				return crashRequest{invoiceID: id, method: "DELETE", path: "/invoices/" + id + "/payment-link"}
			},
			want: 204, links: 1,
		},
		"amount change": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
				return crashRequest{invoiceID: id, method: "PUT", path: "/invoices/" + id, body: invoiceBody("F-2026-0042", 12500, 5000, "fr")}
			},
			want: 200, links: 1,
			check: func(t *testing.T, tn *tenant, r crashRequest, _ string) {
				v := call(t, "GET", "/invoices/"+r.invoiceID, tn.Staff, nil).want(t, 200)
				if v.num("balanceDue") != 5000 || v.list("links")[0]["reason"] != "amount_changed" {
					t.Fatalf("after the change: %s", v.Raw)
				}
			},
		},
		"e-mail with a link": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				to := "crash-" + randomHex(6) + "@example.com"
				return crashRequest{invoiceID: id, method: "POST", path: "/invoices/" + id + "/emails", to: to,
					body: map[string]any{"includePaymentLink": true, "to": to}}
			},
			want: 202, links: 1, check: checkEmails,
		},
		"e-mail": {
			setup: func(t *testing.T, tn *tenant) crashRequest {
				id := newInvoice(t, tn)
				to := "crash-" + randomHex(6) + "@example.com"
				return crashRequest{invoiceID: id, method: "POST", path: "/invoices/" + id + "/emails", to: to, body: map[string]any{"to": to}}
			},
			want: 202, links: 0, check: checkEmails,
		},
		"reader payment": {
			// Staff send the invoice to a reader: its link ends first.
			setup: func(t *testing.T, tn *tenant) crashRequest {
				l := linkedInvoice(t, tn, 12500)
				reader := registerReader(t, tn, "Desk "+randomHex(3)).want(t, 201).str("id")
				return crashRequest{invoiceID: l.invoiceID, method: "POST", path: "/invoices/" + l.invoiceID + "/reader-payment",
					body: map[string]any{"readerId": reader}, reader: reader}
			},
			want: 201, links: 1, check: checkReaderStart,
		},
		"webhook": {
			// The patient pays through a link already replaced: the
			// webhook must end the current link too.
			setup: func(t *testing.T, tn *tenant) crashRequest {
				old := linkedInvoice(t, tn, 12500)
				call(t, "POST", "/invoices/"+old.invoiceID+"/payment-link/regenerate", tn.Staff, nil).want(t, 201)
				ev := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, old.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))
				return crashRequest{invoiceID: old.invoiceID, method: "POST", path: "/webhooks/stripe", body: ev, webhook: true}
			},
			want: 200, links: 2,
			check: func(t *testing.T, tn *tenant, r crashRequest, _ string) {
				v := call(t, "GET", "/invoices/"+r.invoiceID, tn.Staff, nil).want(t, 200)
				if v.num("balanceDue") != 0 || len(v.list("payments")) != 1 || v.JSON["paymentLink"] != nil {
					t.Fatalf("after redelivery: %s", v.Raw)
				}
				// The feed tells of the payment once, wherever the first
				// delivery died.
				if entries := feedFor(t, tn, r.invoiceID); len(entries) != 1 || entries[0]["kind"] != "payment_succeeded" || entries[0]["netChange"] != float64(12500) {
					t.Fatalf("the feed after redelivery: %v", entries)
				}
			},
		},
	}
	table := []struct {
		op    string
		steps []string
	}{
		{"create", []string{stepClaimed, stepPriceCreated, stepLinkCreated, stepStripeDone, stepCommitted}},
		{"regenerate", []string{stepClaimed, stepLinkCreated, stepLinkDeactivated, stepStripeDone, stepCommitted}},
		{"remove", []string{stepClaimed, stepLinkDeactivated, stepStripeDone, stepCommitted}},
		{"amount change", []string{stepClaimed, stepLinkDeactivated, stepStripeDone, stepCommitted}},
		{"e-mail with a link", []string{stepClaimed, stepLinkCreated, stepStripeDone, stepEmailMarked, stepEmailAccepted, stepCommitted}},
		{"e-mail", []string{stepEmailMarked, stepEmailAccepted, stepCommitted}},
		{"reader payment", []string{stepClaimed, stepLinkDeactivated, stepStripeDone, stepCommitted, stepIntentCreated, stepReaderAction}},
		{"webhook", []string{stepEventRecorded, stepClaimed, stepLinkDeactivated, stepCommitted}},
	}
	tn := readerTenant(t) // an address, for its readers' Location
	for _, row := range table {
		op := ops[row.op]
		for _, step := range row.steps {
			t.Run(row.op+" dies at "+step, func(t *testing.T) {
				t.Parallel()
				r := op.setup(t, tn)
				key := "crash-" + randomHex(8)
				hdr := []string{"Idempotency-Key", key}
				tok := tn.Staff
				if r.webhook {
					hdr, tok = []string{"Stripe-Signature", sign(r.body.([]byte), localservers.WebhookSecret, time.Now())}, ""
				}
				if !crashAt(t, step, r.method, r.path, tok, r.body, hdr...) {
					t.Fatalf("the request never reached %s", step)
				}
				// Its invocation's deadline passes: what it held runs out.
				if r.webhook {
					key = ""
				}
				expireHolds(t, tn.ID, r.invoiceID, key)
				if r.reader != "" {
					expireAttempt(t, tn.ID, r.invoiceID)
				}
				if r.to != "" {
					// SES publishes its events within seconds; an
					// attempt they did not record (it died before SES)
					// is taken for lost once an hour passed.
					flushSES(t)
					expireEmailAttempt(t, tn.ID, r.invoiceID)
				}
				// The retry: same request, same key (Stripe: same event,
				// signed anew).
				if r.webhook {
					hdr = []string{"Stripe-Signature", sign(r.body.([]byte), localservers.WebhookSecret, time.Now())}
				}
				got := retryUntilSettled(t, r.method, r.path, tok, r.body, hdr...)
				got.want(t, op.want)
				if made := checkLinks(t, tn, r.invoiceID); made != op.links {
					t.Fatalf("%d links made at Stripe, want %d", made, op.links)
				}
				if op.check != nil {
					op.check(t, tn, r, step)
				}
			})
		}
	}
}

// checkEmails: one e-mail per request, wherever the first died; also
// after SES accepted it and before the invoice recorded it: its attempt
// was marked under the request's key, and SES's events recorded it. One
// that died after the mark and before SES is sent by the retry once the
// attempt is taken for lost.
func checkEmails(t *testing.T, tn *tenant, r crashRequest, _ string) {
	t.Helper()
	if n := sesReceived(t, r.to); n != 1 {
		t.Fatalf("%d e-mails reached SES, want 1", n)
	}
	v := call(t, "GET", "/invoices/"+r.invoiceID, tn.Staff, nil).want(t, 200)
	if len(v.list("emails")) != 1 {
		t.Fatalf("%d e-mails recorded, want 1", len(v.list("emails")))
	}
}

// checkReaderStart: wherever the first request died, the retry made one
// PaymentIntent and one reader action, and the reader waits for its card.
func checkReaderStart(t *testing.T, tn *tenant, r crashRequest, _ string) {
	t.Helper()
	v := call(t, "GET", "/invoices/"+r.invoiceID, tn.Staff, nil).want(t, 200)
	pi := v.str("readerPayment", "paymentIntentId")
	if v.str("readerPayment", "status") != billing.ReaderWaiting || pi == "" {
		t.Fatalf("after the retry: %s", v.Raw)
	}
	if n := (deskRow{tn: tn, reader: r.reader, l: linked{invoiceID: r.invoiceID}}).intentsMade(); n != 1 {
		t.Fatalf("%d PaymentIntents made, want 1", n)
	}
	keys := map[string]bool{}
	for _, c := range stripeCalls(tn.Account) {
		if c.Method == "POST" && c.Path == "/v1/terminal/readers/"+r.reader+"/process_payment_intent" && c.Status == 200 {
			keys[c.Header.Get("Idempotency-Key")] = true
		}
	}
	if at := env.truth.Reader(r.reader); len(keys) != 1 || at.Action == nil || at.Action.PaymentIntent != pi {
		t.Fatalf("%d reader actions (want 1); the reader at Stripe: %+v", len(keys), at)
	}
}
