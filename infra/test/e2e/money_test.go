package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// The findings of issue 15 against the local servers, with the local
// Stripe playing Stripe at API 2023-10-16: charge.refunded without its
// refunds, each refund's fate apart, the service reading the refunds back
// from the local Stripe's state (through stripe-mock's check of the
// request).

// simulator is the local Stripe on the e2e stack's state, delivering to
// the API's webhook; now fixes its clock (whole seconds, all the same).
func simulator(now time.Time) *localstripe.Simulator {
	return &localstripe.Simulator{State: env.truth, WebhookURL: env.api.URL + "/webhooks/stripe", Secret: localservers.WebhookSecret,
		Now: func() time.Time { return now }}
}

// paidByCard is an invoice of amount paid in full through its link at
// the local checkout, as presented (Adaptive Pricing) if pr says so.
func paidByCard(t *testing.T, sim *localstripe.Simulator, tn *tenant, amount int64, pr localstripe.Presentment) (linked, *localstripe.Payment) {
	t.Helper()
	l := linkedInvoice(t, tn, amount)
	p, ds, err := sim.CheckoutIn(context.Background(), l.linkID, localstripe.Card, pr)
	if err != nil || len(ds) != 1 || ds[0].Outcome != "applied" {
		t.Fatalf("checkout: %v %+v", err, ds)
	}
	return l, p
}

type money struct {
	balance, overpaid, net, feed int64
	status                       string
}

func moneyNow(t *testing.T, l linked) money {
	t.Helper()
	v := l.view(t)
	m := money{balance: v.num("balanceDue"), overpaid: v.num("overpaid"), net: v.num("netPaidOnline"), status: v.str("status")}
	for _, e := range feedFor(t, l.tn, l.invoiceID) {
		m.feed += int64(e["netChange"].(float64))
	}
	return m
}

// TestRefundThatFailsInAnyOrder: a refund of 3 000 counted by
// charge.refunded fails in the same second; whatever order Stripe
// delivers the two events in (duplicates too, one before the failure
// even), the clinic holds the whole payment and owes the 3 000 back.
func TestRefundThatFailsInAnyOrder(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now().Truncate(time.Second))
	ctx := context.Background()
	want := money{balance: 0, overpaid: 3000, net: 12500, feed: 12500, status: "paid"}
	for _, order := range []string{"told as it happens", "total, then failure", "failure, then total", "total twice"} {
		l, p := paidByCard(t, sim, tn, 12500, localstripe.Presentment{})
		refund, err := sim.Refund(ctx, p.PaymentIntent, 3000, localstripe.RefundPending, true)
		if err != nil {
			t.Fatal(err)
		}
		total := refund.Held[0].ID
		if order == "told as it happens" {
			mustDeliver(t, sim, total)
		}
		failed, err := sim.RefundStatus(ctx, refund.Refund.ID, localstripe.RefundFailed, true)
		if err != nil {
			t.Fatal(err)
		}
		update := failed.Held[0].ID
		switch order {
		case "told as it happens":
			mustDeliver(t, sim, update)
		case "total, then failure":
			mustDeliver(t, sim, total, update)
		case "failure, then total":
			mustDeliver(t, sim, update, total)
		case "total twice":
			mustDeliver(t, sim, total, update, total)
		}
		if got := moneyNow(t, l); got != want {
			t.Errorf("%s: %+v, want %+v", order, got, want)
		}
	}
}

func mustDeliver(t *testing.T, sim *localstripe.Simulator, ids ...string) {
	t.Helper()
	ds, err := sim.DeliverHeld(context.Background(), ids)
	if err != nil || len(ds) != len(ids) {
		t.Fatalf("deliver %v: %v %+v", ids, err, ds)
	}
	for _, d := range ds {
		if d.Status != http.StatusOK || (d.Outcome != "applied" && d.Outcome != "duplicate") {
			t.Fatalf("delivery %+v", d)
		}
	}
}

// TestRefundReadFailsThenRetried: Stripe can't be read: the delivery
// answers 503 and records nothing; Stripe's redelivery applies it.
func TestRefundReadFailsThenRetried(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now())
	l, p := paidByCard(t, sim, tn, 12500, localstripe.Presentment{})
	rule := env.stripe.Inject(faultproxy.Rule{
		Match:  func(r *faultproxy.Request) bool { return r.Path == "/v1/refunds" && r.Query.Get("charge") == p.Charge },
		Status: 500, Body: `{"error":{"type":"api_error","message":"oops"}}`, Header: http.Header{"Content-Type": {"application/json"}},
	})
	o, err := sim.Refund(context.Background(), p.PaymentIntent, 5000, "", true)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := sim.DeliverHeld(context.Background(), []string{o.Held[0].ID})
	if len(ds) != 1 || ds[0].Status != http.StatusServiceUnavailable {
		t.Fatalf("with Stripe unreadable: %+v", ds)
	}
	if got := moneyNow(t, l); got.net != 12500 || got.feed != 12500 {
		t.Fatalf("a failed read changed the money: %+v", got)
	}
	env.stripe.Remove(rule)
	mustDeliver(t, sim, o.Held[0].ID)
	if got := moneyNow(t, l); got.net != 7500 || got.status != "partially_refunded" {
		t.Fatalf("after the redelivery: %+v", got)
	}
}

// TestOneSessionOnePayment: a session told with its PaymentIntent and
// again with it null, and a debit told processing (PaymentIntent null)
// then succeeded, are one payment each.
func TestOneSessionOnePayment(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 12500)
	pi, cs := "pi_"+randomHex(8), "cs_test_"+randomHex(8)
	wantApplied(t, deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, l.session(cs, pi, "paid"))))
	wantApplied(t, deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, l.session(cs, "", "paid"))))
	if v := l.view(t); len(v.list("payments")) != 1 || v.num("overpaid") != 0 || v.num("balanceDue") != 0 {
		t.Fatalf("told twice: %s", v.Raw)
	}

	d := linkedInvoice(t, tn, 12500)
	pi, cs = "pi_"+randomHex(8), "cs_test_"+randomHex(8)
	wantApplied(t, deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.completed", tn.Account, d.session(cs, "", "unpaid"))))
	wantApplied(t, deliver(t, stripeEvent("evt_"+randomHex(8), "checkout.session.async_payment_succeeded", tn.Account, d.session(cs, pi, "paid"))))
	v := d.view(t)
	if ps := v.list("payments"); len(ps) != 1 || ps[0]["status"] != "succeeded" || ps[0]["paymentIntentId"] != pi || v.str("status") != "paid" {
		t.Fatalf("the processing twin: %s", v.Raw)
	}
}

// TestAdaptivePricingInIDR: CAD 800 000.00 paid in IDR 928 000 000 000
// (minor units) at the local checkout, then half refunded there: half the
// invoice is still paid online.
func TestAdaptivePricingInIDR(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now())
	l, p := paidByCard(t, sim, tn, 80_000_000, localstripe.Presentment{Currency: "idr", Amount: 928_000_000_000})
	if v := l.view(t); v.num("balanceDue") != 0 || v.list("payments")[0]["chargedCurrency"] != "idr" {
		t.Fatalf("paid in idr: %s", v.Raw)
	}
	o, err := sim.Refund(context.Background(), p.PaymentIntent, 464_000_000_000, "", false)
	if err != nil || len(o.Deliveries) != 1 || o.Deliveries[0].Outcome != "applied" {
		t.Fatalf("%v %+v", err, o)
	}
	if got := moneyNow(t, l); got.net != 40_000_000 || got.feed != 40_000_000 || got.status != "partially_refunded" {
		t.Fatalf("half refunded: %+v", got)
	}
}

// TestChargebackLostIsNotPaid: a payment all taken back by a lost dispute
// reads dispute_lost, is listed under it and not under paid, and a link
// request says why it can't be made.
func TestChargebackLostIsNotPaid(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now())
	l, p := paidByCard(t, sim, tn, 12500, localstripe.Presentment{})
	if _, ds, err := sim.Dispute(context.Background(), p.PaymentIntent, localstripe.DisputeLost); err != nil || len(ds) != 2 {
		t.Fatalf("%v %+v", err, ds)
	}
	if got := moneyNow(t, l); got.status != "dispute_lost" || got.net != 0 {
		t.Fatalf("lost: %+v", got)
	}
	listed := func(status string) bool {
		for _, inv := range call(t, "GET", "/invoices?status="+status, tn.Staff, nil).want(t, 200).list("invoices") {
			if inv["id"] == l.invoiceID {
				return true
			}
		}
		return false
	}
	if !listed("dispute_lost") || listed("paid") {
		t.Fatal("the list filter does not tell dispute_lost")
	}
	r := call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link", tn.Staff, nil).wantError(t, 409, "nothing_due")
	if msg := r.str("error", "message"); !strings.Contains(msg, "lost dispute") {
		t.Fatalf("the refusal does not say why: %s", r.Raw)
	}
}
