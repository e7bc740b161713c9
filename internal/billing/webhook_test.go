package billing

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The webhook's rules on in-memory fakes: what each Stripe fact does to the
// invoice, its balance and the feed. The same behaviours are shown against
// the local servers in infra/test/e2e.

const testAccount = "acct_1Test"

// pay makes a link for the invoice and returns a session event for it.
func (f *fixture) sessionEvent(t *testing.T, link *Link, typ, pi string, amount int64, currency string) *WebhookEvent {
	t.Helper()
	return &WebhookEvent{
		ID: "evt_" + pi + typ, Type: typ, AccountID: testAccount, Created: f.clock(),
		CompanyID: "c1", InvoiceID: "i1", Generation: link.Generation,
		Facts: PaymentFacts{PaymentIntentID: pi, SessionID: "cs_" + pi, LinkID: link.ID, Amount: amount, Currency: currency,
			State: map[string]PaymentState{EventCheckoutCompleted: PaymentSucceeded, EventAsyncSucceeded: PaymentSucceeded, EventAsyncFailed: PaymentFailed}[typ]},
	}
}

func (f *fixture) link(t *testing.T) *Link {
	t.Helper()
	l, _, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) handle(t *testing.T, ev *WebhookEvent) EventResult {
	t.Helper()
	f.advance(time.Second)
	if ev.Created.IsZero() {
		ev.Created = f.clock()
	}
	res, err := f.svc.HandleEvent(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s: %v", ev.Type, err)
	}
	return res
}

func (f *fixture) feed(t *testing.T) []FeedEntry {
	t.Helper()
	entries, _, _, err := f.svc.ListPayments(context.Background(), Staff("c1"), "", MaxFeedPage)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// checkMoney is the balance rule and the feed's sum: 0 <= balance <=
// max(0, total - net paid online), and the feed's net changes add up to
// what was paid online.
func (f *fixture) checkMoney(t *testing.T) *Invoice {
	t.Helper()
	inv := f.invoice(t)
	if inv.BalanceDue < 0 || inv.BalanceDue > inv.MaxBalanceDue() || inv.Overpaid < 0 {
		t.Fatalf("balance %d, max %d, overpaid %d", inv.BalanceDue, inv.MaxBalanceDue(), inv.Overpaid)
	}
	var sum int64
	for _, e := range f.feed(t) {
		sum += e.NetChange
		if e.NetChange != 0 && abs(e.NetChange) != e.Amount {
			t.Fatalf("entry %s: amount %d, net change %d", e.Kind, e.Amount, e.NetChange)
		}
	}
	if sum != inv.NetPaidOnline() {
		t.Fatalf("feed sums to %d, net paid online %d", sum, inv.NetPaidOnline())
	}
	return inv
}

func kindsOf(entries []FeedEntry) string {
	var s []string
	for _, e := range entries {
		s = append(s, fmt.Sprintf("%s:%+d", e.Kind, e.NetChange))
	}
	return fmt.Sprint(s)
}

func TestPaymentSettlesTheInvoiceOnce(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	ev := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad")
	if res := f.handle(t, ev); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	if res := f.handle(t, ev); res.Outcome != OutcomeDuplicate {
		t.Fatalf("second delivery: %+v", res)
	}
	inv := f.checkMoney(t)
	if inv.BalanceDue != 0 || inv.Status() != StatusPaid || inv.Links[0].Status != LinkCompleted {
		t.Fatalf("after payment: balance %d status %s link %s", inv.BalanceDue, inv.Status(), inv.Links[0].Status)
	}
	if got := kindsOf(f.feed(t)); got != "[payment_succeeded:+12500]" {
		t.Fatalf("feed %s", got)
	}
}

func TestWrongCurrencyNeedsReview(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	res := f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_usd", 12500, "usd"))
	if res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	inv := f.checkMoney(t)
	if inv.BalanceDue != 12500 || inv.Payments[0].Review != ReviewCurrencyMismatch || inv.Status() != StatusOpen {
		t.Fatalf("balance %d, payment %+v", inv.BalanceDue, inv.Payments[0])
	}
	if got := kindsOf(f.feed(t)); got != "[payment_needs_review:+0]" {
		t.Fatalf("feed %s", got)
	}
	// The invoice still owes: a new link can be made.
	if _, created, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", ""); err != nil || !created {
		t.Fatalf("new link: %v %v", created, err)
	}
}

func TestOldLinkAfterCurrencyChangeNeedsReview(t *testing.T) {
	f := newFixture(t)
	old := f.link(t)
	in := invoiceInput(12500, 12500)
	in.Currency = "usd"
	if _, _, _, err := f.svc.PutInvoice(context.Background(), Staff("c1"), "i1", in, Precondition{}); err != nil {
		t.Fatal(err)
	}
	// A patient with the old page open pays in cad, the link's currency.
	f.handle(t, f.sessionEvent(t, old, EventCheckoutCompleted, "pi_old", 12500, "cad"))
	inv := f.checkMoney(t)
	if inv.BalanceDue != 12500 || inv.Payments[0].Review != ReviewCurrencyMismatch || !inv.Payments[0].ViaInactiveLink {
		t.Fatalf("balance %d, payment %+v", inv.BalanceDue, inv.Payments[0])
	}
}

func TestAdaptivePricingCountsTheSourceAmount(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	ev := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_ap", 9100, "usd")
	ev.Facts.SourceAmount, ev.Facts.SourceCurrency = 12500, "cad"
	f.handle(t, ev)
	inv := f.checkMoney(t)
	if inv.BalanceDue != 0 || inv.Payments[0].Amount != 12500 || inv.Payments[0].ChargedCurrency != "usd" {
		t.Fatalf("balance %d, payment %+v", inv.BalanceDue, inv.Payments[0])
	}
	// A refund of half, in the patient's currency, is half the payment.
	f.stripe.setRefund("ch_ap", Refund{ID: "re_ap", Amount: 4550, Status: RefundSucceeded, Currency: "usd"})
	f.handle(t, &WebhookEvent{ID: "evt_r", Type: EventChargeRefunded, AccountID: testAccount,
		Facts: PaymentFacts{PaymentIntentID: "pi_ap", ChargeID: "ch_ap", Amount: 9100, Currency: "usd", State: PaymentSucceeded, ChargeRefunded: i64(4550)}})
	if inv := f.checkMoney(t); inv.NetPaidOnline() != 6250 {
		t.Fatalf("net %d", inv.NetPaidOnline())
	}
}

func TestHostileAmountsAreRejected(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	tests := []struct {
		name     string
		ev       *WebhookEvent
		reason   string
		changeFn func(*WebhookEvent)
	}{
		{"another amount", f.sessionEvent(t, l, EventCheckoutCompleted, "pi_a", 100, "cad"), RejectAmountMismatch, nil},
		{"a negative total", f.sessionEvent(t, l, EventCheckoutCompleted, "pi_b", -5000, "cad"), RejectInvalidAmount, nil},
		{"no total", f.sessionEvent(t, l, EventCheckoutCompleted, "pi_c", 0, "cad"), RejectInvalidAmount, nil},
		{"no currency", f.sessionEvent(t, l, EventCheckoutCompleted, "pi_d", 12500, ""), RejectInvalidCurrency, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if res := f.handle(t, tc.ev); res.Outcome != OutcomeRejected || res.Reason != tc.reason {
				t.Fatalf("%+v, want rejected %s", res, tc.reason)
			}
			if res := f.handle(t, tc.ev); res.Outcome != OutcomeDuplicate {
				t.Fatalf("redelivery: %+v", res)
			}
		})
	}
	inv := f.checkMoney(t)
	if inv.BalanceDue != 12500 || len(inv.Payments) != 0 || inv.Links[0].Status != LinkActive || len(f.feed(t)) != 0 {
		t.Fatalf("a rejected event changed the invoice: %+v", inv)
	}
}

func TestRefundsNeverReopenTheBalance(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	refund := func(id string, amount int64, status RefundStatus) EventResult {
		return f.handle(t, &WebhookEvent{ID: "evt_" + id + string(status), Type: EventChargeRefundUpdated, AccountID: testAccount,
			Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Currency: "cad",
				Refund: &Refund{ID: id, Amount: amount, Status: status, CreatedAt: f.clock()}}})
	}
	if res := refund("re_1", 5000, RefundPending); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	inv := f.checkMoney(t)
	if inv.BalanceDue != 0 || inv.NetPaidOnline() != 7500 || inv.Status() != StatusPartiallyRefunded {
		t.Fatalf("after a refund: balance %d net %d status %s", inv.BalanceDue, inv.NetPaidOnline(), inv.Status())
	}
	if _, _, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", ""); ErrorCode(err) != CodeInvoicePaid {
		t.Fatalf("a refund must not ask the patient to pay again: %v", err)
	}
	// The refund fails: the money is the clinic's again, a credit to give back.
	refund("re_1", 5000, RefundFailed)
	inv = f.checkMoney(t)
	if inv.NetPaidOnline() != 12500 || inv.Overpaid != 5000 || inv.BalanceDue != 0 {
		t.Fatalf("after the refund failed: net %d overpaid %d balance %d", inv.NetPaidOnline(), inv.Overpaid, inv.BalanceDue)
	}
	// More than the charge: rejected, nothing changes.
	if res := refund("re_2", 99999, RefundSucceeded); res.Outcome != OutcomeRejected || res.Reason != RejectExceedsPayment {
		t.Fatalf("%+v", res)
	}
	// A charge said to be of another amount: rejected.
	res := f.handle(t, &WebhookEvent{ID: "evt_ch", Type: EventChargeRefunded, AccountID: testAccount,
		Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Amount: 50000, Currency: "cad", State: PaymentSucceeded, ChargeRefunded: i64(50000)}})
	if res.Outcome != OutcomeRejected {
		t.Fatalf("%+v", res)
	}
	refund("re_3", 12500, RefundSucceeded)
	inv = f.checkMoney(t)
	if inv.Status() != StatusRefunded || inv.BalanceDue != 0 || inv.NetPaidOnline() != 0 || inv.Overpaid != 0 {
		t.Fatalf("after a full refund: status %s balance %d net %d overpaid %d", inv.Status(), inv.BalanceDue, inv.NetPaidOnline(), inv.Overpaid)
	}
	if got := kindsOf(f.feed(t)); got != "[payment_succeeded:+12500 refund:-5000 refund_reversed:+5000 refund:-12500]" {
		t.Fatalf("feed %s", got)
	}
}

func TestDisputeEscalationIsRecorded(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	for i, status := range []string{"warning_under_review", "needs_response", "lost"} {
		typ := EventDisputeUpdated
		if i == 0 {
			typ = EventDisputeCreated
		}
		f.handle(t, &WebhookEvent{ID: "evt_d" + status, Type: typ, AccountID: testAccount,
			Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Currency: "cad", State: PaymentSucceeded,
				Dispute: &Dispute{ID: "dp_1", Amount: 12500, Status: status}}})
	}
	inv := f.checkMoney(t)
	if inv.Payments[0].Disputes[0].Status != "lost" || inv.NetPaidOnline() != 0 || inv.BalanceDue != 0 {
		t.Fatalf("%+v", inv.Payments[0])
	}
	if got := kindsOf(f.feed(t)); got != "[payment_succeeded:+12500 dispute_opened:+0 dispute_updated:+0 dispute_closed:-12500]" {
		t.Fatalf("feed %s", got)
	}
}

func TestAccountEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	updated := func(id string, at time.Time, charges bool) EventResult {
		return f.handle(t, &WebhookEvent{ID: id, Type: EventAccountUpdated, AccountID: testAccount, Created: at,
			Account: &StripeAccount{ChargesEnabled: charges, DetailsSubmitted: true, Country: "CA", DefaultCurrency: "cad", Warnings: []string{}}})
	}
	if res := updated("evt_a1", f.clock().Add(time.Minute), false); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	c, _ := f.store.GetCompany(ctx, "c1")
	if c.Stripe.ChargesEnabled || !c.Stripe.DetailsSubmitted {
		t.Fatalf("%+v", c.Stripe)
	}
	// An older event delivered late changes nothing.
	if res := updated("evt_a0", f.clock().Add(-time.Hour), true); res.Outcome != OutcomeIgnored || res.Reason != IgnoredStale {
		t.Fatalf("%+v", res)
	}
	// Another account's events find no company.
	res := f.handle(t, &WebhookEvent{ID: "evt_x", Type: EventAccountUpdated, AccountID: "acct_other", Account: &StripeAccount{}})
	if res.Outcome != OutcomeIgnored || res.Reason != IgnoredUnknownAccount {
		t.Fatalf("%+v", res)
	}
	f.handle(t, &WebhookEvent{ID: "evt_deauth", Type: EventAccountDeauthorized, AccountID: testAccount, Created: f.clock().Add(2 * time.Minute)})
	c, _ = f.store.GetCompany(ctx, "c1")
	if c.Connected() || c.Warnings()[0] != WarningDeauthorized {
		t.Fatalf("still connected: %+v", c.Stripe)
	}
	if _, _, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", ""); ErrorCode(err) != CodeStripeAccountNotConnected {
		t.Fatalf("a link on a deauthorized account: %v", err)
	}
	inv := f.invoice(t)
	if b := LinkBlocker(inv, c); b == nil || b.Code != CodeStripeAccountNotConnected {
		t.Fatalf("the invoice should say why: %v", b)
	}
}

func invoiceInput(total, balance int64) *InvoiceInput {
	return &InvoiceInput{
		Number: "F-1", Currency: "cad", Total: ptr(total), BalanceDue: ptr(balance), IssuedOn: "2026-11-20",
		Patient: &PatientInput{Name: "Marie", Email: "marie@example.com"},
		Lines:   []LineInput{{Description: "Consultation", Amount: ptr(total)}},
	}
}

func TestPutAfterAnOnlinePayment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	f.handle(t, &WebhookEvent{ID: "evt_r", Type: EventChargeRefundUpdated, AccountID: testAccount,
		Facts: PaymentFacts{PaymentIntentID: "pi_1", Currency: "cad", Refund: &Refund{ID: "re_1", Amount: 5000, Status: RefundSucceeded}}})
	inv := f.invoice(t)
	fresh := Precondition{Given: true, Versions: []int64{inv.Version}}
	stale := Precondition{Given: true, Versions: []int64{inv.Version - 1}}
	tests := []struct {
		name string
		in   *InvoiceInput
		pre  Precondition
		want Code
	}{
		{"a stale replay without If-Match", invoiceInput(12500, 12500), Precondition{}, CodePreconditionRequired},
		{"a stale ETag", invoiceInput(12500, 5000), stale, CodePreconditionFailed},
		{"a new total", invoiceInput(20000, 5000), fresh, CodeInvoicePaid},
		{"more than is unpaid", invoiceInput(12500, 5001), fresh, CodeBalanceExceedsUnpaid},
		{"the clinic asks for the refunded part", invoiceInput(12500, 5000), fresh, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := f.svc.PutInvoice(ctx, Staff("c1"), "i1", tc.in, tc.pre)
			if ErrorCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
		})
	}
	if inv := f.checkMoney(t); inv.BalanceDue != 5000 {
		t.Fatalf("balance %d", inv.BalanceDue)
	}
	// The patient pays the rest through a new link for exactly that.
	l2 := f.link(t)
	if l2.Amount != 5000 {
		t.Fatalf("link asks %d", l2.Amount)
	}
}

// A PUT that changes the balance ends the active link at Stripe first,
// under the lease; a patient who pays that link meanwhile is recorded by
// the webhook (the lease holds off requests, not Stripe's facts). The PUT's
// new balance was checked against the invoice before the payment: it must
// be checked again, not written over the payment (found by make load: a
// balance of 6054 left on an invoice of 10000 with 5000 paid online).
func TestAmountChangeWhileTheLinkIsPaid(t *testing.T) {
	tests := []struct {
		name    string
		ifMatch bool
		want    Code
	}{
		{"without If-Match: the payment now needs one", false, CodePreconditionRequired},
		{"with If-Match: decided on a version that is gone", true, CodePreconditionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			l := f.link(t)
			paid := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad")
			f.stripe.onDeactivate = func(string) {
				f.stripe.onDeactivate = nil
				// Recorded; only its follow-up waits for the lease (503:
				// Stripe delivers again).
				if _, err := f.svc.HandleEvent(ctx, paid); ErrorCode(err) != CodeUnavailable {
					t.Errorf("payment during the PUT: %v, want it recorded and its follow-up deferred", err)
				}
			}
			pre := Precondition{}
			if tc.ifMatch {
				pre = Precondition{Given: true, Versions: []int64{f.invoice(t).Version}}
			}
			_, _, _, err := f.svc.PutInvoice(ctx, Staff("c1"), "i1", invoiceInput(12500, 8000), pre)
			if ErrorCode(err) != tc.want {
				t.Fatalf("PUT: %v, want %s", err, tc.want)
			}
			if res := f.handle(t, paid); res.Outcome != OutcomeDuplicate {
				t.Fatalf("redelivery: %+v", res)
			}
			inv := f.checkMoney(t)
			if inv.BalanceDue != 0 || inv.NetPaidOnline() != 12500 || inv.ActiveLink() != nil || inv.Lease != nil {
				t.Fatalf("balance %d, paid online %d, active link %v, lease %v", inv.BalanceDue, inv.NetPaidOnline(), inv.ActiveLink(), inv.Lease)
			}
		})
	}
}
