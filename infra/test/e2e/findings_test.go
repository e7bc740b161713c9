package e2e

import (
	"encoding/json"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
)

// stripeFixture is one of Stripe's own objects, as stripe-mock serves it
// (GET on the object's path): the shapes the webhook must read, with every
// field Stripe sends, not only the ones a hand-written event would have.
func stripeFixture(t tb, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", env.stack.Stripe.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+localservers.StripeMockKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stripe-mock %s: %d %v", path, resp.StatusCode, err)
	}
	return obj
}

// fixtureSession is stripe-mock's Checkout Session made into a payment of
// link l: its metadata, link, PaymentIntent, amount and currency.
func (l linked) fixtureSession(t tb, pi string, amount any, currency, status string) map[string]any {
	s := stripeFixture(t, "/v1/checkout/sessions/cs_test_"+randomHex(8))
	s["metadata"] = map[string]any{"billing_company_id": l.tn.ID, "invoice_id": l.invoiceID, "link_generation": l.generation}
	s["payment_link"], s["payment_intent"], s["payment_status"], s["status"] = l.linkID, pi, status, "complete"
	s["amount_total"], s["amount_subtotal"], s["currency"] = amount, amount, currency
	s["currency_conversion"] = nil // set only under Adaptive Pricing
	return s
}

func fixtureRefund(t tb, pi, ch string, amount int64, currency, status string) map[string]any {
	r := stripeFixture(t, "/v1/refunds/re_"+randomHex(8))
	r["payment_intent"], r["charge"], r["amount"], r["currency"], r["status"] = pi, ch, amount, currency, status
	if stripeCharges(pi, ch) != nil {
		env.truth.PutRefund(pi, localstripe.Refunded{ID: r["id"].(string), Amount: amount, Status: status, CreatedAt: time.Now()})
	}
	return r
}

func fixtureCharge(t tb, pi string, amount, refunded int64) map[string]any {
	c := stripeFixture(t, "/v1/charges/ch_"+randomHex(8))
	c["payment_intent"], c["amount"], c["amount_captured"], c["amount_refunded"], c["currency"] = pi, amount, amount, refunded, "cad"
	c["captured"], c["paid"], c["status"], c["refunded"] = true, true, "succeeded", refunded >= amount
	delete(c, "refunds") // API 2023-10-16 sends none in events
	if p := stripeCharges(pi, c["id"].(string)); p != nil && refunded > p.Refunded() {
		env.truth.PutRefund(pi, localstripe.Refunded{ID: "re_" + randomHex(8), Amount: refunded - p.Refunded(), Status: localstripe.RefundSucceeded, CreatedAt: time.Now()})
	}
	return c
}

func fixtureDispute(t tb, pi string, amount int64, status string) map[string]any {
	d := stripeFixture(t, "/v1/disputes/dp_fixture")
	d["payment_intent"], d["amount"], d["currency"], d["status"] = pi, amount, "cad", status
	return d
}

func (l linked) payWith(t tb, session map[string]any) *response {
	t.Helper()
	return deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", l.tn.Account, session)).want(t, 200)
}

// TestHostileAndConfusedClients shows each way the money could go wrong
// that was found by trying the service as a hostile or merely confused
// client would (issue 8), now refused or harmless, against the local
// servers and with Stripe's own object shapes.
func TestHostileAndConfusedClients(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")

	t.Run("1 a clinic takes over another clinic's Stripe account", func(t *testing.T) {
		other := newTenant(t, "fr")
		call(t, "PUT", "/billing-companies/"+other.ID, other.Admin, map[string]any{
			"name": "Clinique B", "replyToEmail": "b@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
		}).wantError(t, 403, "forbidden")
		call(t, "PUT", "/billing-companies/"+other.ID, platformToken(t), map[string]any{
			"name": "Clinique B", "replyToEmail": "b@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
		}).wantError(t, 409, "stripe_account_in_use")
		if l := linkedInvoice(t, other, 1000); countCalls(stripeCalls(tn.Account), "POST", "/v1/payment_links") != 0 {
			t.Fatalf("B's link %s was made on A's account", l.linkID)
		}
	})

	t.Run("2 a payment in another currency settles the invoice", func(t *testing.T) {
		for _, currency := range []string{"usd", "jpy"} {
			l := linkedInvoice(t, tn, 12500)
			r := l.payWith(t, l.fixtureSession(t, "pi_"+randomHex(8), 12500, currency, "paid"))
			wantApplied(t, r)
			v := l.view(t)
			p := v.list("payments")
			if v.num("balanceDue") != 12500 || v.str("status") != "open" || v.num("netPaidOnline") != 0 ||
				len(p) != 1 || p[0]["status"] != "needs_review" || p[0]["reason"] != "currency_mismatch" {
				t.Fatalf("%s payment of a cad invoice: %s", currency, v.Raw)
			}
			f := feedFor(t, tn, l.invoiceID)
			if len(f) != 1 || f[0]["kind"] != "payment_needs_review" || f[0]["netChange"] != float64(0) || f[0]["reason"] != "currency_mismatch" {
				t.Fatalf("feed: %v", f)
			}
		}
		// A cad payment through an old link after the invoice became usd.
		l := linkedInvoice(t, tn, 12500)
		usd := invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr")
		usd["currency"] = "usd"
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, usd).want(t, 200)
		wantApplied(t, l.payWith(t, l.fixtureSession(t, "pi_"+randomHex(8), 12500, "cad", "paid")))
		if v := l.view(t); v.num("balanceDue") != 12500 || v.list("payments")[0]["status"] != "needs_review" {
			t.Fatalf("an old cad link on a usd invoice: %s", v.Raw)
		}
		if !strings.Contains(env.logs.String(), `"PaymentsNeedingReview"`) {
			t.Fatal("payments needing review are not counted")
		}
	})

	t.Run("3 the balance leaves 0…total−paid online", func(t *testing.T) {
		l := linkedInvoice(t, tn, 12500)
		pi := l.pay(t)
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refund.updated", tn.Account, fixtureRefund(t, pi, "ch_"+randomHex(8), 5000, "cad", "succeeded"))).want(t, 200)
		v := l.view(t)
		if v.num("balanceDue") != 0 || v.num("netPaidOnline") != 7500 {
			t.Fatalf("after a refund: %s", v.Raw)
		}
		etag := v.Header.Get("ETag")
		// The billing module replays its stale PUT.
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr")).wantError(t, 428, "precondition_required")
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr"), "If-Match", `"v1"`).wantError(t, 412, "precondition_failed")
		r := call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 12500, 12500, "fr"), "If-Match", etag).wantError(t, 409, "balance_exceeds_unpaid")
		if !strings.Contains(r.str("error", "message"), "at most 5000") {
			t.Fatalf("the maximum is not said: %s", r.Raw)
		}
		call(t, "PUT", "/invoices/"+l.invoiceID, tn.Staff, invoiceBody("F-"+l.invoiceID, 20000, 5000, "fr"), "If-Match", etag).wantError(t, 409, "invoice_paid")
		if v := l.view(t); v.num("balanceDue") != 0 || v.num("total") != 12500 {
			t.Fatalf("the invoice changed: %s", v.Raw)
		}
		// Paid 5 000 of 12 500 online, then a PUT asking 12 500 again.
		id := "inv-" + randomHex(5)
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, 12500, 5000, "fr")).want(t, 201)
		link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
		part := linked{tn: tn, invoiceID: id, linkID: link.str("id"), generation: linkGeneration(t, link.str("id")), amount: 5000}
		part.pay(t)
		v = part.view(t)
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, 12500, 12500, "fr"), "If-Match", v.Header.Get("ETag")).wantError(t, 409, "balance_exceeds_unpaid")
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, 12500, 7500, "fr"), "If-Match", v.Header.Get("ETag")).want(t, 200)
	})

	t.Run("4 amounts in signed events are trusted blindly", func(t *testing.T) {
		l := linkedInvoice(t, tn, 12500)
		pi := l.pay(t)
		r := deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refund.updated", tn.Account, fixtureRefund(t, pi, "ch_x", 99999, "cad", "succeeded"))).want(t, 200)
		wantRejected(t, r, "exceeds_payment")
		r = deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refunded", tn.Account, fixtureCharge(t, pi, 50000, 50000))).want(t, 200)
		wantRejected(t, r, "amount_mismatch")
		if v := l.view(t); v.num("netPaidOnline") != 12500 || len(feedFor(t, tn, l.invoiceID)) != 1 {
			t.Fatalf("a rejected event changed the money: %s", v.Raw)
		}
		neg := linkedInvoice(t, tn, 12500)
		wantRejected(t, neg.payWith(t, neg.fixtureSession(t, "pi_"+randomHex(8), -5000, "cad", "paid")), "invalid_amount")
		if v := neg.view(t); v.str("paymentLink", "id") != neg.linkID || len(v.list("payments")) != 0 {
			t.Fatalf("a negative total completed the link: %s", v.Raw)
		}
		if !strings.Contains(env.logs.String(), `"WebhookEventsRejected"`) || !strings.Contains(env.logs.String(), `"eventReason":"invalid_amount"`) {
			t.Fatal("rejected events are not logged and counted")
		}
	})

	t.Run("5 claims and bodies are read loosely", func(t *testing.T) {
		inv := newInvoice(t, tn)
		secret := []byte(localapi.DefaultSecret)
		claims := func(tenant any, scope string) string {
			c := jwt.MapClaims{"iss": localapi.Issuer, "aud": localapi.Audience, "exp": time.Now().Add(time.Hour).Unix(), "billing_company_id": tenant}
			if scope != "" {
				c["scope"] = scope
			}
			return signed(t, jwt.SigningMethodHS256, secret, c)
		}
		for _, tenant := range []any{nil, true, 123, []any{tn.ID}} {
			call(t, "GET", "/invoices/"+inv, claims(tenant, ""), nil).wantError(t, 401, "unauthorized")
		}
		for _, scope := range []string{"billing:admin]", "[billing:admin", "billing:admin\u00a0x", "billing:admin\tx", "Billing:Admin"} {
			call(t, "GET", "/billing-companies/"+tn.ID, claims(tn.ID, scope), nil).wantError(t, 403, "forbidden")
		}
		call(t, "GET", "/billing-companies/"+tn.ID, claims(tn.ID, "[openid billing:admin]"), nil).want(t, 200)
		body := invoiceBody("F-1", 12500, 12500, "fr")
		raw, _ := json.Marshal(body)
		upper := strings.Replace(string(raw), `"total"`, `"TOTAL"`, 1)
		call(t, "PUT", "/invoices/"+inv, tn.Staff, upper).wantError(t, 400, "invalid_request")
		call(t, "PUT", "/invoices/"+inv, tn.Staff, raw, "Content-Type", "text/xml").wantError(t, 415, "unsupported_media_type")
		broken := strings.Replace(string(raw), "Marie", "Marie \xff", 1)
		call(t, "PUT", "/invoices/"+inv, tn.Staff, []byte(broken)).wantError(t, 400, "invalid_request")
		call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"Clinique \u202eeuqinilC","replyToEmail":"a@clinique.example","defaultLanguage":"fr"}`).wantError(t, 400, "invalid_request")
		l := linkedInvoice(t, tn, 12500)
		ev := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.fixtureSession(t, "pi_"+randomHex(8), 12500, "cad", "paid"))
		deliverSigned(t, ev, sign(ev, localservers.WebhookSecret, time.Now().Add(24*time.Hour))).wantError(t, 400, "invalid_signature")
		if v := l.view(t); len(v.list("payments")) != 0 {
			t.Fatalf("an event signed tomorrow was applied: %s", v.Raw)
		}
	})

	t.Run("6 real Stripe shapes are read wrongly", func(t *testing.T) {
		// A refund that later fails gives the money back to the clinic.
		l := linkedInvoice(t, tn, 12500)
		pi, ch := l.pay(t), "ch_"+randomHex(8)
		refund := fixtureRefund(t, pi, ch, 12500, "cad", "pending")
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refund.updated", tn.Account, refund)).want(t, 200)
		if v := l.view(t); v.num("netPaidOnline") != 0 || v.str("status") != "refunded" {
			t.Fatalf("refund pending: %s", v.Raw)
		}
		refund["status"] = "failed"
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refund.updated", tn.Account, refund)).want(t, 200)
		v := l.view(t)
		if v.num("netPaidOnline") != 12500 || v.str("status") != "paid" || v.num("overpaid") != 12500 || v.num("balanceDue") != 0 {
			t.Fatalf("refund failed: %s", v.Raw)
		}
		if k := kinds(feedFor(t, tn, l.invoiceID)); !slices.Equal(k, []string{"payment_succeeded", "refund", "refund_reversed"}) {
			t.Fatalf("feed: %v", k)
		}

		// Adaptive Pricing: the patient paid 9 100 US cents; what counts is
		// the session's source amount, 12 500 Canadian cents.
		ap := linkedInvoice(t, tn, 12500)
		s := ap.fixtureSession(t, "pi_"+randomHex(8), 9100, "usd", "paid")
		s["currency_conversion"] = map[string]any{"amount_subtotal": 12500, "amount_total": 12500, "fx_rate": "0.728", "source_currency": "cad"}
		wantApplied(t, ap.payWith(t, s))
		if v := ap.view(t); v.num("balanceDue") != 0 || v.num("netPaidOnline") != 12500 || v.list("payments")[0]["chargedCurrency"] != "usd" {
			t.Fatalf("adaptive pricing: %s", v.Raw)
		}

		// stripe-mock's own session has amount_total null.
		nul := linkedInvoice(t, tn, 12500)
		wantRejected(t, nul.payWith(t, nul.fixtureSession(t, "pi_"+randomHex(8), nil, "cad", "paid")), "invalid_amount")
		if v := nul.view(t); v.str("paymentLink", "id") != nul.linkID {
			t.Fatalf("a session of no amount completed the link: %s", v.Raw)
		}

		// An inquiry escalates to a chargeback under the same id.
		d := linkedInvoice(t, tn, 12500)
		dpi := d.pay(t)
		dispute := fixtureDispute(t, dpi, 12500, "warning_under_review")
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.dispute.created", tn.Account, dispute)).want(t, 200)
		dispute["status"] = "needs_response"
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.dispute.updated", tn.Account, dispute)).want(t, 200)
		dv := d.view(t)
		if got := dv.list("payments")[0]["disputes"].([]any)[0].(map[string]any)["status"]; got != "needs_response" || dv.str("status") != "disputed" {
			t.Fatalf("escalation: %s", dv.Raw)
		}
		if k := kinds(feedFor(t, tn, d.invoiceID)); !slices.Equal(k, []string{"payment_succeeded", "dispute_opened", "dispute_updated"}) {
			t.Fatalf("feed: %v", k)
		}
	})

	t.Run("7 a refund reopens the invoice", func(t *testing.T) {
		l := linkedInvoice(t, tn, 12500)
		pi := l.pay(t)
		deliver(t, stripeEvent("evt_"+randomHex(10), "charge.refunded", tn.Account, fixtureCharge(t, pi, 12500, 12500))).want(t, 200)
		v := l.view(t)
		if v.num("balanceDue") != 0 || v.str("status") != "refunded" || v.JSON["paymentLinkBlocked"] == nil {
			t.Fatalf("after a full refund: %s", v.Raw)
		}
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "invoice_paid")
		call(t, "POST", "/invoices/"+l.invoiceID+"/emails", tn.Staff, map[string]any{"includePaymentLink": true}).wantError(t, 409, "invoice_paid")
	})
}

func wantApplied(t tb, r *response) {
	t.Helper()
	if r.str("outcome") != "applied" {
		t.Fatalf("event not applied: %s", r.Raw)
	}
}

func wantRejected(t tb, r *response, reason string) {
	t.Helper()
	if r.str("outcome") != "rejected" || r.str("reason") != reason {
		t.Fatalf("event %s, want rejected %s", r.Raw, reason)
	}
}
