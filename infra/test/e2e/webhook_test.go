package e2e

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

func TestWebhookPaymentEffects(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")

	t.Run("paid at checkout", func(t *testing.T) {
		l := linkedInvoice(t, tn, 12500)
		before := len(stripeCalls(tn.Account))
		pi := l.pay(t)
		v := l.view(t)
		if v.num("balanceDue") != 0 || v.str("status") != "paid" || v.JSON["paymentLink"] != nil {
			t.Fatalf("after payment: %s", v.Raw)
		}
		links := v.list("links")
		if links[0]["status"] != "completed" || links[0]["endedAt"] == nil {
			t.Fatalf("link: %v", links[0])
		}
		p := v.list("payments")
		if len(p) != 1 || p[0]["paymentIntentId"] != pi || p[0]["amount"] != float64(12500) || p[0]["status"] != "succeeded" ||
			p[0]["sessionId"] == nil || p[0]["paidAt"] == nil || p[0]["paymentLinkId"] != l.linkID {
			t.Fatalf("payment: %s", v.Raw)
		}
		// The link's one-session limit deactivated it at Stripe: the
		// webhook reads how the patient paid, for the receipt, and only
		// changes the link's message to say it was paid.
		calls := stripeCalls(tn.Account)[before:]
		if len(calls) != 2 || calls[0].Method != "GET" || calls[0].Path != "/v1/payment_intents/"+pi ||
			calls[1].Method != "POST" || calls[1].Path != "/v1/payment_links/"+l.linkID || len(calls[1].Form) != 1 ||
			!strings.HasPrefix(calls[1].Form.Get("inactive_message"), "Facture payée, merci.") {
			t.Fatalf("the webhook called Stripe: %v", paths(calls))
		}
		f := feedFor(t, tn, l.invoiceID)
		if len(f) != 1 || f[0]["kind"] != "payment_succeeded" || f[0]["amount"] != float64(12500) ||
			f[0]["balanceDue"] != float64(0) || f[0]["status"] != "paid" || f[0]["cursor"] == "" {
			t.Fatalf("feed: %v", f)
		}
		// Paid online: no new link, no e-mail with a link, no new amounts
		// (a stale replay of the old balance needs If-Match; with it, the
		// balance can't exceed what is unpaid).
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "invoice_paid")
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link/regenerate", tn.Staff, nil).wantError(t, 409, "invoice_paid")
		call(t, "POST", "/invoices/"+l.invoiceID+"/emails", tn.Staff, map[string]any{"includePaymentLink": true}).wantError(t, 409, "invoice_paid")
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr")).wantError(t, 428, "precondition_required")
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr"), "If-Match", v.Header.Get("ETag")).wantError(t, 409, "balance_exceeds_unpaid")
		// Other fields may still change; the receipt can still be e-mailed.
		b := invoiceBody("F-"+l.invoiceID, 12500, 0, "en")
		if up := call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, b).want(t, 200); up.str("patient", "language") != "en" || up.str("status") != "paid" {
			t.Fatalf("non-money change: %s", up.Raw)
		}
		call(t, "POST", "/invoices/"+l.invoiceID+"/emails", tn.Staff, `{}`).want(t, 202)
	})

	t.Run("delayed method: processing then paid", func(t *testing.T) {
		l := linkedInvoice(t, tn, 8000)
		pi, cs := "pi_"+randomHex(8), "cs_test_"+randomHex(8)
		deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		v := l.view(t)
		if v.str("status") != "processing" || v.num("balanceDue") != 8000 || v.JSON["paymentLink"] != nil || v.list("links")[0]["status"] != "completed" {
			t.Fatalf("processing: %s", v.Raw)
		}
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "payment_processing")
		deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.async_payment_succeeded", tn.Account, l.session(cs, pi, "paid"))).want(t, 200)
		v = l.view(t)
		if v.str("status") != "paid" || v.num("balanceDue") != 0 {
			t.Fatalf("paid: %s", v.Raw)
		}
		if k := kinds(feedFor(t, tn, l.invoiceID)); !slices.Equal(k, []string{"payment_processing", "payment_succeeded"}) {
			t.Fatalf("feed: %v", k)
		}
	})

	t.Run("delayed method: processing then failed", func(t *testing.T) {
		l := linkedInvoice(t, tn, 8000)
		pi, cs := "pi_"+randomHex(8), "cs_test_"+randomHex(8)
		deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.async_payment_failed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		v := l.view(t)
		if v.str("status") != "open" || v.num("balanceDue") != 8000 || v.list("payments")[0]["status"] != "failed" {
			t.Fatalf("failed: %s", v.Raw)
		}
		// Ready for a new link.
		next := call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).want(t, 201)
		if next.num("amount") != 8000 {
			t.Fatalf("new link: %s", next.Raw)
		}
	})

	t.Run("refunds never reopen the balance", func(t *testing.T) {
		l := linkedInvoice(t, tn, 12500)
		pi := l.pay(t)
		ch := "ch_" + randomHex(8)
		deliver(t, stripeEvent("evt_"+randomHex(8), "charge.refunded", tn.Account, refundedCharge(tn, ch, pi, 12500, 2500))).want(t, 200)
		v := l.view(t)
		if v.str("status") != "partially_refunded" || v.num("balanceDue") != 0 || v.num("netPaidOnline") != 10000 || v.list("payments")[0]["refunded"] != float64(2500) {
			t.Fatalf("partial refund: %s", v.Raw)
		}
		deliver(t, stripeEvent("evt_"+randomHex(8), "charge.refunded", tn.Account, refundedCharge(tn, ch, pi, 12500, 12500))).want(t, 200)
		v = l.view(t)
		if v.str("status") != "refunded" || v.num("balanceDue") != 0 || v.num("netPaidOnline") != 0 {
			t.Fatalf("full refund: %s", v.Raw)
		}
		// The patient the clinic refunded is not asked to pay again.
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "invoice_paid")
		f := feedFor(t, tn, l.invoiceID)
		if k := kinds(f); !slices.Equal(k, []string{"payment_succeeded", "refund", "refund"}) || f[1]["amount"] != float64(2500) || f[2]["amount"] != float64(10000) ||
			f[2]["netChange"] != float64(-10000) || f[2]["balanceDue"] != float64(0) || f[2]["status"] != "refunded" {
			t.Fatalf("feed: %v", f)
		}
		// Whether the patient owes again is the clinic's decision: a PUT
		// with If-Match, within what is unpaid.
		v = l.view(t)
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr"), "If-Match", v.Header.Get("ETag")).want(t, 200)
		if next := call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).want(t, 201); next.num("amount") != 12500 {
			t.Fatalf("new link: %s", next.Raw)
		}
	})

	t.Run("disputes", func(t *testing.T) {
		for _, outcome := range []struct {
			status  string
			balance int64
			final   string
		}{{"won", 0, "paid"}, {"lost", 0, "dispute_lost"}} {
			l := linkedInvoice(t, tn, 12500)
			pi := l.pay(t)
			dp, ch := "dp_"+randomHex(8), "ch_"+randomHex(8)
			deliver(t, stripeEvent("evt_"+randomHex(8), "charge.dispute.created", tn.Account, disputeObject(dp, ch, pi, 12500, "needs_response"))).want(t, 200)
			v := l.view(t)
			if v.str("status") != "disputed" || len(v.list("payments")[0]["disputes"].([]any)) != 1 {
				t.Fatalf("disputed: %s", v.Raw)
			}
			deliver(t, stripeEvent("evt_"+randomHex(8), "charge.dispute.closed", tn.Account, disputeObject(dp, ch, pi, 12500, outcome.status))).want(t, 200)
			v = l.view(t)
			if v.str("status") != outcome.final || v.num("balanceDue") != outcome.balance {
				t.Fatalf("dispute %s: %s", outcome.status, v.Raw)
			}
			f := feedFor(t, tn, l.invoiceID)
			if k := kinds(f); !slices.Equal(k, []string{"payment_succeeded", "dispute_opened", "dispute_closed"}) || f[2]["disputeStatus"] != outcome.status {
				t.Fatalf("feed: %v", f)
			}
		}
	})

	t.Run("other event types are acknowledged", func(t *testing.T) {
		r := deliver(t, stripeEvent("evt_"+randomHex(8), "customer.created", tn.Account, map[string]any{"id": "cus_1", "object": "customer"})).want(t, 200)
		if r.str("outcome") != "ignored" {
			t.Fatalf("%s", r.Raw)
		}
	})
}

// TestWebhookExactlyOnce: the same event five times in a row and five times
// at once changes the balance once.
func TestWebhookExactlyOnce(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	for _, concurrent := range []bool{false, true} {
		l := linkedInvoice(t, tn, 12500)
		payload := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))
		outcomes := make([]string, 5)
		var wg sync.WaitGroup
		for i := range outcomes {
			deliverOne := func() { outcomes[i] = deliver(t, payload).want(t, 200).str("outcome") }
			if concurrent {
				wg.Go(deliverOne)
			} else {
				deliverOne()
			}
		}
		wg.Wait()
		slices.Sort(outcomes)
		if !slices.Equal(outcomes, []string{"applied", "duplicate", "duplicate", "duplicate", "duplicate"}) {
			t.Fatalf("concurrent=%v outcomes %v", concurrent, outcomes)
		}
		v := l.view(t)
		if len(v.list("payments")) != 1 || v.num("balanceDue") != 0 || v.num("overpaid") != 0 {
			t.Fatalf("concurrent=%v: %s", concurrent, v.Raw)
		}
		if f := feedFor(t, tn, l.invoiceID); len(f) != 1 {
			t.Fatalf("concurrent=%v: %d feed entries", concurrent, len(f))
		}
	}

	// Two different events for one payment: completed (paid), then a
	// retried async_payment_succeeded for the same session.
	l := linkedInvoice(t, tn, 5000)
	pi, cs := "pi_"+randomHex(8), "cs_test_"+randomHex(8)
	deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, l.session(cs, pi, "paid"))).want(t, 200)
	deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.async_payment_succeeded", tn.Account, l.session(cs, pi, "paid"))).want(t, 200)
	if v := l.view(t); len(v.list("payments")) != 1 || v.num("balanceDue") != 0 || v.num("overpaid") != 0 {
		t.Fatalf("two events, one payment: %s", v.Raw)
	}
	if f := feedFor(t, tn, l.invoiceID); len(f) != 1 {
		t.Fatalf("two events, one payment: %d feed entries", len(f))
	}
}

// TestWebhookOutOfOrder: whatever order the events arrive in, the invoice
// ends in the state Stripe's objects are in.
func TestWebhookOutOfOrder(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	type step struct {
		typ    string
		object func(l linked, pi, cs, ch, dp string) map[string]any
	}
	completed := func(status string) step {
		return step{"checkout.session.completed", func(l linked, pi, cs, _, _ string) map[string]any { return l.session(cs, pi, status) }}
	}
	succeeded := step{"checkout.session.async_payment_succeeded", func(l linked, pi, cs, _, _ string) map[string]any { return l.session(cs, pi, "paid") }}
	failed := step{"checkout.session.async_payment_failed", func(l linked, pi, cs, _, _ string) map[string]any { return l.session(cs, pi, "unpaid") }}
	refunded := func(amount int64) step {
		return step{"charge.refunded", func(l linked, pi, _, ch, _ string) map[string]any {
			return refundedCharge(l.tn, ch, pi, l.amount, amount)
		}}
	}
	dispute := func(typ, status string) step {
		return step{typ, func(l linked, pi, _, ch, dp string) map[string]any {
			return disputeObject(dp, ch, pi, l.amount, status)
		}}
	}
	tests := []struct {
		name     string
		steps    []step
		status   string
		balance  int64
		refunded int64
		payment  string
	}{
		{"refund before completion", []step{refunded(4000), completed("paid")}, "partially_refunded", 0, 4000, "succeeded"},
		{"full refund before partial refund", []step{completed("paid"), refunded(10000), refunded(4000)}, "refunded", 0, 10000, "succeeded"},
		{"success before processing", []step{succeeded, completed("unpaid")}, "paid", 0, 0, "succeeded"},
		{"success after failure", []step{completed("unpaid"), failed, succeeded}, "paid", 0, 0, "succeeded"},
		{"failure after success", []step{completed("unpaid"), succeeded, failed}, "paid", 0, 0, "succeeded"},
		{"dispute closed before created", []step{completed("paid"), dispute("charge.dispute.closed", "won"), dispute("charge.dispute.created", "needs_response")}, "paid", 0, 0, "succeeded"},
		{"dispute before completion", []step{dispute("charge.dispute.created", "needs_response"), completed("paid")}, "disputed", 0, 0, "succeeded"},
		{"refund and dispute before completion", []step{refunded(2000), dispute("charge.dispute.created", "under_review"), dispute("charge.dispute.updated", "needs_response"), completed("paid")}, "disputed", 0, 2000, "succeeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := linkedInvoice(t, tn, 10000)
			pi, cs, ch, dp := "pi_"+randomHex(8), "cs_test_"+randomHex(8), "ch_"+randomHex(8), "dp_"+randomHex(8)
			// Every event carries the same creation second, as when Stripe
			// sends them close together: the order of arrival is the only
			// order, whatever the clock says while the test runs.
			created := time.Now().Add(-time.Minute)
			for _, s := range tc.steps {
				deliver(t, localstripe.Event("evt_"+randomHex(8), s.typ, tn.Account, s.object(l, pi, cs, ch, dp), created)).want(t, 200)
			}
			v := l.view(t)
			p := v.list("payments")
			if v.str("status") != tc.status || v.num("balanceDue") != tc.balance || len(p) != 1 ||
				p[0]["status"] != tc.payment || p[0]["refunded"] != float64(tc.refunded) {
				t.Fatalf("got status %s balance %d: %s", v.str("status"), v.num("balanceDue"), v.Raw)
			}
			// The feed adds up to the same balance.
			last := feedFor(t, tn, l.invoiceID)
			if len(last) == 0 || last[len(last)-1]["balanceDue"] != float64(tc.balance) {
				t.Fatalf("feed: %v", last)
			}
		})
	}
}

// TestWebhookRejections: deliveries that are not Stripe's, or not for us,
// change nothing.
func TestWebhookRejections(t *testing.T) {
	t.Parallel()
	a, b := newTenant(t, "fr"), newTenant(t, "fr")
	l := linkedInvoice(t, a, 12500)
	good := stripeEvent("evt_"+randomHex(8), "checkout.session.completed", a.Account, l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))
	now := time.Now()
	truncated := good[:len(good)/2]
	huge := append([]byte(`{"id":"evt_big","pad":"`), []byte(strings.Repeat("x", 1<<20))...)
	huge = append(huge, '"', '}')
	oldVersion := []byte(strings.Replace(string(good), `"2023-10-16"`, `"2022-11-15"`, 1))

	rejected := []struct {
		name    string
		payload []byte
		sig     string
		status  int
		code    string
	}{
		{"no signature", good, "", 400, "invalid_signature"},
		{"forged signature", good, "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + strings.Repeat("ab", 32), 400, "invalid_signature"},
		{"wrong secret", good, sign(good, "whsec_not_ours", now), 400, "invalid_signature"},
		{"stale timestamp", good, sign(good, localservers.WebhookSecret, now.Add(-6*time.Minute)), 400, "invalid_signature"},
		{"body changed after signing", append([]byte(nil), good...), sign(append(append([]byte(nil), good...), ' '), localservers.WebhookSecret, now), 400, "invalid_signature"},
		{"truncated JSON", truncated, sign(truncated, localservers.WebhookSecret, now), 400, "invalid_event"},
		{"other API version", oldVersion, sign(oldVersion, localservers.WebhookSecret, now), 400, "invalid_event"},
		{"1 MiB body", huge, sign(huge, localservers.WebhookSecret, now), 413, "payload_too_large"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			deliverSigned(t, tc.payload, tc.sig).wantError(t, tc.status, tc.code)
		})
	}

	ignored := []struct {
		name    string
		payload []byte
	}{
		// Company A's metadata, sent from company B's connected account.
		{"another company's account", stripeEvent("evt_"+randomHex(8), "checkout.session.completed", b.Account, l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))},
		{"unknown invoice", stripeEvent("evt_"+randomHex(8), "checkout.session.completed", a.Account, func() map[string]any {
			s := l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid")
			s["metadata"].(map[string]any)["invoice_id"] = "inv-unknown"
			return s
		}())},
		{"a link that is not the invoice's", stripeEvent("evt_"+randomHex(8), "checkout.session.completed", a.Account, func() map[string]any {
			s := l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid")
			s["payment_link"] = "plink_someoneelse"
			return s
		}())},
		{"no metadata", stripeEvent("evt_"+randomHex(8), "checkout.session.completed", a.Account, func() map[string]any {
			s := l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid")
			s["metadata"] = map[string]any{}
			return s
		}())},
	}
	for _, tc := range ignored {
		t.Run(tc.name, func(t *testing.T) {
			r := deliver(t, tc.payload).want(t, 200)
			if r.str("outcome") != "ignored" {
				t.Fatalf("%s", r.Raw)
			}
		})
	}

	v := l.view(t)
	if v.num("balanceDue") != 12500 || len(v.list("payments")) != 0 || v.str("paymentLink", "id") != l.linkID {
		t.Fatalf("invoice changed: %s", v.Raw)
	}
	if len(feed(t, a)) != 0 || len(feed(t, b)) != 0 {
		t.Fatal("feed entries recorded")
	}
	// Rejections are logged with their reason and nothing of the body.
	logs := env.logs.String()
	if !strings.Contains(logs, `"reason":"stale_timestamp"`) || !strings.Contains(logs, `"reason":"bad_signature"`) {
		t.Fatal("rejection reasons are not logged")
	}
	if strings.Contains(logs, "patient@example.com") || strings.Contains(logs, "cs_test_") {
		t.Fatal("a delivery's content reached the logs")
	}
}

// TestPaymentThroughAReplacedLink: real money through a link already
// replaced is recorded; the second payment shows as a credit to refund.
func TestPaymentThroughAReplacedLink(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	old := linkedInvoice(t, tn, 12500)
	fresh := call(t, "POST", "/invoices/"+old.invoiceID+"/payment-link/regenerate", tn.Staff, nil).want(t, 201)
	current := old
	current.linkID, current.generation = fresh.str("id"), linkGeneration(t, fresh.str("id"))

	old.pay(t) // the patient had the old page open
	v := old.view(t)
	if v.num("balanceDue") != 0 || v.str("status") != "paid" || v.list("payments")[0]["viaInactiveLink"] != true {
		t.Fatalf("after paying the old link: %s", v.Raw)
	}
	// The current link must not take a second payment: it was ended at
	// Stripe by the webhook.
	if v.JSON["paymentLink"] != nil {
		t.Fatalf("a link is still active on a paid invoice: %s", v.Raw)
	}
	wantDeactivated(t, tn.Account, current.linkID)
	hist := v.list("links")
	if hist[1]["status"] != "removed" || hist[1]["reason"] != "paid_online" {
		t.Fatalf("history: %v", hist)
	}

	current.pay(t) // it went through before the deactivation reached Stripe
	v = old.view(t)
	if v.num("balanceDue") != 0 || v.num("overpaid") != 12500 || len(v.list("payments")) != 2 {
		t.Fatalf("overpaid: %s", v.Raw)
	}
	f := feedFor(t, tn, old.invoiceID)
	if len(f) != 2 || !slices.Contains(toStrings(f[0]["flags"]), "via_inactive_link") ||
		!slices.Contains(toStrings(f[1]["flags"]), "overpaid") || f[1]["overpaid"] != float64(12500) {
		t.Fatalf("feed: %v", f)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func paths(calls []*faultproxy.Request) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// A PUT that changes the balance ends the active link at Stripe first; the
// patient pays that link while the PUT waits on Stripe. The payment is
// recorded (the webhook's follow-up waits for the PUT: 503, Stripe delivers
// again) and the PUT, checked before the payment, is refused rather than
// written over it: the balance stays what the payment left (make load
// found a balance above what was unpaid this way).
func TestAmountChangeWhileThePatientPays(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 12500)
	atStripe, release := make(chan struct{}), make(chan struct{})
	env.stripe.Inject(faultproxy.Rule{
		Match: func(r *faultproxy.Request) bool {
			return r.Method == "POST" && r.Path == "/v1/payment_links/"+l.linkID && r.Form.Get("active") == "false"
		},
		Times: 1, Reached: atStripe, Hold: release,
	})
	var put *response
	var wg sync.WaitGroup
	wg.Go(func() {
		put = call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 8000, "fr"))
	})
	select {
	case <-atStripe:
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		close(release)
		t.Fatal("the PUT never reached Stripe")
	}
	paid := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(10), "pi_"+randomHex(10), "paid"))
	deliver(t, paid).wantError(t, 503, "service_unavailable")
	close(release)
	wg.Wait()
	put.wantError(t, 428, "precondition_required")

	if r := deliver(t, paid).want(t, 200); r.str("outcome") != "duplicate" {
		t.Fatalf("redelivery: %s", r.Raw)
	}
	v := l.view(t)
	if v.num("balanceDue") != 0 || v.num("netPaidOnline") != 12500 || v.JSON["paymentLink"] != nil || v.str("status") != "paid" {
		t.Fatalf("after the payment and the refused PUT: %s", v.Raw)
	}
}
