package e2e

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// linked is an invoice with an active payment link, as a patient would pay it.
type linked struct {
	tn         *tenant
	invoiceID  string
	linkID     string
	generation string
	amount     int64
}

// linkedInvoice stores an invoice of amount due in full and adds a link.
func linkedInvoice(t tb, tn *tenant, amount int64) linked {
	t.Helper()
	id := "inv-" + randomHex(5)
	call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, amount, amount, "fr")).want(t, 201)
	link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	return linked{tn: tn, invoiceID: id, linkID: link.str("id"), generation: linkGeneration(t, link.str("id")), amount: amount}
}

// linkGeneration reads the generation the link carries in its metadata, from
// what Stripe (stripe-mock) was sent when the link was made.
func linkGeneration(t tb, linkID string) string {
	t.Helper()
	for _, r := range env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_links"
	}) {
		var obj struct{ ID string }
		if json.Unmarshal(r.Response, &obj) == nil && obj.ID == linkID {
			return r.Form.Get("metadata[link_generation]")
		}
	}
	t.Fatalf("no creation of link %s seen at Stripe", linkID)
	return ""
}

// session is a Checkout Session of link l, as Stripe sends it in events
// (infra/local/localstripe holds the shapes, for these tests and make dev alike).
func (l linked) session(sessionID, paymentIntent, paymentStatus string) map[string]any {
	return localstripe.Session(localstripe.SessionFacts{
		ID: sessionID, PaymentIntent: paymentIntent, PaymentStatus: paymentStatus, LinkID: l.linkID,
		Amount: l.amount, Currency: "cad", Email: "patient@example.com",
		Metadata: map[string]string{"billing_company_id": l.tn.ID, "invoice_id": l.invoiceID, "link_generation": l.generation},
	})
}

// chargeObject is a Charge as charge.refunded sends it (API 2023-10-16: no
// refunds list).
func chargeObject(chargeID, paymentIntent string, amount, refunded int64) map[string]any {
	return localstripe.Charge(chargeID, paymentIntent, "cad", amount, refunded)
}

// refundedCharge is chargeObject for a charge Stripe holds (on the
// tenant's account) with refunds that add up to refunded: Stripe's truth,
// which the webhook reads, gains a succeeded refund for what its refunds
// did not yet add up to.
func refundedCharge(tn *tenant, chargeID, paymentIntent string, amount, refunded int64) map[string]any {
	stripeHolds(tn, chargeID, paymentIntent, amount, "cad")
	if p := env.truth.Payment(paymentIntent); p != nil && refunded > p.Refunded() {
		env.truth.PutRefund(paymentIntent, localstripe.Refunded{ID: "re_" + randomHex(8), Amount: refunded - p.Refunded(),
			Status: localstripe.RefundSucceeded, CreatedAt: time.Now()})
	}
	return chargeObject(chargeID, paymentIntent, amount, refunded)
}

// stripeHolds makes a charge Stripe's truth on the tenant's account (its
// refunds kept if it is known already).
func stripeHolds(tn *tenant, chargeID, paymentIntent string, amount int64, currency string) {
	if p := env.truth.Payment(paymentIntent); p != nil && p.Charge == chargeID {
		return
	}
	env.truth.PutPayment(localstripe.Payment{PaymentIntent: paymentIntent, Charge: chargeID, Account: tn.Account,
		Amount: amount, Currency: currency, Status: localstripe.Succeeded})
}

// stripeCharges gives a payment Stripe holds (made by pay) its charge id,
// as a test's event names it.
func stripeCharges(paymentIntent, chargeID string) *localstripe.Payment {
	p := env.truth.Payment(paymentIntent)
	if p != nil && p.Charge != chargeID {
		p.Charge = chargeID
		env.truth.PutPayment(*p)
	}
	return p
}

// disputeObject is a Dispute as charge.dispute.* events send it.
func disputeObject(disputeID, chargeID, paymentIntent string, amount int64, status string) map[string]any {
	return localstripe.Dispute(disputeID, chargeID, paymentIntent, "cad", amount, status)
}

// stripeEvent wraps an object in a Connect event created now.
func stripeEvent(id, eventType, account string, object map[string]any) []byte {
	return localstripe.Event(id, eventType, account, object, time.Now())
}

// sign makes the Stripe-Signature header for payload.
func sign(payload []byte, secret string, at time.Time) string {
	return localstripe.Sign(payload, secret, at)
}

// deliver posts a signed delivery to the webhook.
func deliver(t tb, payload []byte) *response {
	t.Helper()
	return deliverSigned(t, payload, sign(payload, localservers.WebhookSecret, time.Now()))
}

// deliverAsStripe delivers an event as Stripe does: again, freshly signed,
// while the webhook answers 5xx (a busy invoice or feed asks for it with
// 503 and Retry-After), so concurrent writers on a loaded machine still
// land every event.
func deliverAsStripe(t tb, payload []byte) *response {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a slow machine
	for {
		r := deliver(t, payload)
		if r.Status < 500 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deliverSigned(t tb, payload []byte, signature string) *response {
	t.Helper()
	hdr := []string{}
	if signature != "" {
		hdr = append(hdr, "Stripe-Signature", signature)
	}
	return call(t, "POST", "/webhooks/stripe", "", payload, hdr...)
}

// pay delivers a checkout.session.completed (paid) for the link and returns
// the PaymentIntent id.
func (l linked) pay(t tb) string {
	t.Helper()
	pi := "pi_" + randomHex(10)
	env.truth.PutPayment(localstripe.Payment{PaymentIntent: pi, Account: l.tn.Account, Amount: l.amount, Currency: "cad", Status: localstripe.Succeeded})
	r := deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", l.tn.Account, l.session("cs_test_"+randomHex(10), pi, "paid"))).want(t, http.StatusOK)
	if r.str("outcome") != "applied" {
		t.Fatalf("payment not applied: %s", r.Raw)
	}
	return pi
}

func (l linked) view(t tb) *response {
	t.Helper()
	return call(t, "GET", "/invoices/"+l.invoiceID, l.tn.Staff, nil).want(t, 200)
}

// feed reads the whole feed of a tenant.
func feed(t tb, tn *tenant) []map[string]any {
	t.Helper()
	var all []map[string]any
	after := ""
	for {
		r := call(t, "GET", "/payments?limit=100&after="+after, tn.Staff, nil).want(t, 200)
		all = append(all, r.list("payments")...)
		after = r.str("nextCursor")
		if r.JSON["hasMore"] != true {
			return all
		}
	}
}

func feedFor(t tb, tn *tenant, invoiceID string) []map[string]any {
	var out []map[string]any
	for _, e := range feed(t, tn) {
		if e["invoiceId"] == invoiceID {
			out = append(out, e)
		}
	}
	return out
}

func kinds(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e["kind"].(string))
	}
	return out
}
