package billing

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The findings of issue 15 ("Money, second pass"), one test each, on the
// in-memory fakes; infra/test/e2e shows them against the local servers.

// moneyView is what must not depend on the order Stripe's events arrive in:
// the invoice's money, its status, and what its feed adds up to.
type moneyView struct {
	BalanceDue, Overpaid, NetPaidOnline, FeedSum int64
	Status                                       string
	Payments                                     int
	Refunded                                     []int64
}

func (f *fixture) moneyView(t *testing.T) moneyView {
	t.Helper()
	inv := f.checkMoney(t)
	v := moneyView{BalanceDue: inv.BalanceDue, Overpaid: inv.Overpaid, NetPaidOnline: inv.NetPaidOnline(), Status: inv.Status(), Payments: len(inv.Payments)}
	for _, e := range f.feed(t) {
		v.FeedSum += e.NetChange
	}
	for i := range inv.Payments {
		v.Refunded = append(v.Refunded, inv.Payments[i].refunded())
	}
	return v
}

// deliverInOrder plays events, in order, against a fresh invoice of 12 500
// whose link was made as the events' (plink_1, generation 1), with
// Stripe's refunds as truth says, and returns the money it ends with.
func deliverInOrder(t *testing.T, truth map[string][]Refund, events []*WebhookEvent) moneyView {
	t.Helper()
	f := newFixture(t)
	f.link(t)
	for ch, list := range truth {
		for _, r := range list {
			f.stripe.setRefund(ch, r)
		}
	}
	for _, ev := range events {
		c := *ev
		c.Facts.Refunds, c.Facts.RefundsRead = nil, false
		f.handle(t, &c)
	}
	return f.moneyView(t)
}

func refundEvent(id string, at time.Time, r Refund) *WebhookEvent {
	return &WebhookEvent{ID: id, Type: EventChargeRefundUpdated, AccountID: testAccount, Created: at,
		Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Currency: "cad", Refund: &r}}
}

// chargeRefunded is charge.refunded as API 2023-10-16 sends it: the running
// total, no refunds list.
func chargeRefunded(id string, at time.Time, total int64) *WebhookEvent {
	return &WebhookEvent{ID: id, Type: EventChargeRefunded, AccountID: testAccount, Created: at,
		Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Amount: 12500, Currency: "cad", State: PaymentSucceeded, ChargeRefunded: &total}}
}

// TestRefundFailureInAnyOrder: a refund of 3 000 counted by charge.refunded
// fails, in the same second (Stripe's times are whole seconds). Every order
// of the same events ends with the same money: the 3 000 are the clinic's
// again, still to refund (overpaid). Before the fix the orders ended with
// overpaid 3 000 or 0, and a same-second failure left netPaidOnline 3 000
// short.
func TestRefundFailureInAnyOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	pending := Refund{ID: "re_1", Amount: 3000, Status: RefundPending, CreatedAt: t0}
	failed := pending
	failed.Status = RefundFailed
	paid := &WebhookEvent{ID: "evt_paid", Type: EventCheckoutCompleted, AccountID: testAccount, Created: t0.Add(-time.Minute),
		CompanyID: "c1", InvoiceID: "i1", Generation: 1,
		Facts: PaymentFacts{PaymentIntentID: "pi_1", SessionID: "cs_1", LinkID: "plink_1", Amount: 12500, Currency: "cad", State: PaymentSucceeded}}
	news := []*WebhookEvent{chargeRefunded("evt_total", t0, 3000), refundEvent("evt_pending", t0, pending), refundEvent("evt_failed", t0, failed)}
	want := moneyView{BalanceDue: 0, Overpaid: 3000, NetPaidOnline: 12500, FeedSum: 12500, Status: StatusPaid, Payments: 1, Refunded: []int64{0}}
	truth := map[string][]Refund{"ch_1": {failed}}
	for _, order := range permutations(len(news)) {
		events := []*WebhookEvent{paid}
		for _, i := range order {
			events = append(events, news[i])
		}
		if got := deliverInOrder(t, truth, events); !equalViews(got, want) {
			t.Errorf("order %v (Stripe already says failed): %+v, want %+v", order, got, want)
		}
	}
	// Told as it happens: Stripe's truth moves with the events.
	for _, order := range permutations(len(news)) {
		f := newFixture(t)
		f.link(t)
		f.handle(t, paid)
		f.stripe.setRefund("ch_1", pending)
		for _, i := range order {
			if news[i].ID == "evt_failed" {
				f.stripe.setRefund("ch_1", failed)
			}
			c := *news[i]
			f.handle(t, &c)
		}
		f.stripe.setRefund("ch_1", failed)
		if got := f.moneyView(t); !equalViews(got, want) {
			t.Errorf("order %v told as it happens: %+v, want %+v", order, got, want)
		}
	}
}

func equalViews(a, b moneyView) bool {
	return a.BalanceDue == b.BalanceDue && a.Overpaid == b.Overpaid && a.NetPaidOnline == b.NetPaidOnline &&
		a.FeedSum == b.FeedSum && a.Status == b.Status && a.Payments == b.Payments && slices.Equal(slices.Sorted(slices.Values(a.Refunded)), slices.Sorted(slices.Values(b.Refunded)))
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

// TestRefundReadFailureIsRetried: when Stripe's refunds can't be read the
// delivery fails (Stripe delivers again) and nothing is recorded; the
// redelivery applies it.
func TestRefundReadFailureIsRetried(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	f.stripe.failRefunds = &Error{Code: CodePaymentProviderUnavailable, Message: "Stripe is down"}
	f.stripe.setRefund("ch_1", Refund{ID: "re_1", Amount: 5000, Status: RefundSucceeded})
	ev := chargeRefunded("evt_total", f.clock(), 5000)
	if _, err := f.svc.HandleEvent(context.Background(), ev); ErrorCode(err) != CodeUnavailable {
		t.Fatalf("a failed read answered %v, want %s", err, CodeUnavailable)
	}
	if inv := f.checkMoney(t); inv.NetPaidOnline() != 12500 || len(inv.Payments[0].Refunds) != 0 {
		t.Fatalf("a failed read changed the invoice: %+v", inv.Payments[0])
	}
	f.stripe.failRefunds = nil
	if res := f.handle(t, chargeRefunded("evt_total", f.clock(), 5000)); res.Outcome != OutcomeApplied {
		t.Fatalf("redelivery: %+v", res)
	}
	if inv := f.checkMoney(t); inv.NetPaidOnline() != 7500 || inv.Status() != StatusPartiallyRefunded {
		t.Fatalf("net %d status %s", inv.NetPaidOnline(), inv.Status())
	}
	// A charge Stripe does not have on the account is ignored, said why.
	f.stripe.failRefunds = fmt.Errorf("read: %w", ErrUnknownCharge)
	if res := f.handle(t, chargeRefunded("evt_other", f.clock(), 5000)); res.Outcome != OutcomeIgnored || res.Reason != IgnoredUnknownCharge {
		t.Fatalf("%+v", res)
	}
}

// TestOneSessionIsOnePayment: a Checkout Session told once with its
// PaymentIntent and once with it null is one payment, in either order;
// and a debit told as processing then succeeded (the PaymentIntent given
// only by one of them) is one payment that succeeded. Before the fix the
// order "with, then without" made two payments.
func TestOneSessionIsOnePayment(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then string // event types
		piFirst     bool
	}{
		{"paid with, then without the PaymentIntent", EventCheckoutCompleted, EventCheckoutCompleted, true},
		{"paid without, then with", EventCheckoutCompleted, EventCheckoutCompleted, false},
		{"processing with, succeeded without", "processing", EventAsyncSucceeded, true},
		{"processing without, succeeded with", "processing", EventAsyncSucceeded, false},
		{"succeeded without, processing with (late)", EventAsyncSucceeded, "processing", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			l := f.link(t)
			mk := func(typ string, withPI bool) *WebhookEvent {
				state := PaymentSucceeded
				if typ == "processing" {
					typ, state = EventCheckoutCompleted, PaymentProcessing
				}
				ev := f.sessionEvent(t, l, typ, "pi_1", 12500, "cad")
				ev.ID += string(state) + fmt.Sprint(withPI)
				ev.Facts.State = state
				if !withPI {
					ev.Facts.PaymentIntentID = ""
				}
				return ev
			}
			f.handle(t, mk(tc.first, tc.piFirst))
			f.handle(t, mk(tc.then, !tc.piFirst))
			inv := f.checkMoney(t)
			if len(inv.Payments) != 1 || inv.Payments[0].State != PaymentSucceeded || inv.Payments[0].PaymentIntentID != "pi_1" ||
				inv.BalanceDue != 0 || inv.Overpaid != 0 || inv.Status() != StatusPaid {
				t.Fatalf("payments %+v, balance %d, overpaid %d, status %s", inv.Payments, inv.BalanceDue, inv.Overpaid, inv.Status())
			}
		})
	}
}

// TestAdaptivePricingHugeAmounts: CAD 800 000.00 paid in IDR
// 928 000 000 000 (minor units) and half refunded is half the payment.
// Before the fix x*Amount overflowed int64.
func TestAdaptivePricingHugeAmounts(t *testing.T) {
	f := newFixture(t)
	in := invoiceInput(80_000_000, 80_000_000)
	if _, _, _, err := f.svc.PutInvoice(context.Background(), Staff("c1"), "i1", in, Precondition{}); err != nil {
		t.Fatal(err)
	}
	l := f.link(t)
	ev := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 928_000_000_000, "idr")
	ev.Facts.SourceAmount, ev.Facts.SourceCurrency = 80_000_000, "cad"
	if res := f.handle(t, ev); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	f.stripe.setRefund("ch_1", Refund{ID: "re_1", Amount: 464_000_000_000, Status: RefundSucceeded, Currency: "idr"})
	ch := chargeRefunded("evt_half", f.clock(), 464_000_000_000)
	ch.Facts.Amount, ch.Facts.Currency = 928_000_000_000, "idr"
	if res := f.handle(t, ch); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	if inv := f.checkMoney(t); inv.NetPaidOnline() != 40_000_000 || inv.Status() != StatusPartiallyRefunded {
		t.Fatalf("net %d status %s", inv.NetPaidOnline(), inv.Status())
	}
	// Beyond what Stripe can hold: not Stripe's.
	big := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_2", MaxStripeAmount+1, "idr")
	big.Facts.SourceAmount, big.Facts.SourceCurrency = 80_000_000, "cad"
	if res := f.handle(t, big); res.Outcome != OutcomeRejected || res.Reason != RejectInvalidAmount {
		t.Fatalf("%+v", res)
	}
}

// TestConversionIsExact: over the whole range of Stripe's amounts, the
// conversion is math/big's, rounded half up, and never more than the
// payment.
func TestConversionIsExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amount := rapid.OneOf(rapid.Int64Range(1, MaxAmount), rapid.Just[int64](MaxAmount), rapid.Just[int64](80_000_000)).Draw(t, "amount")
		charged := rapid.OneOf(rapid.Int64Range(1, MaxStripeAmount), rapid.Just[int64](MaxStripeAmount), rapid.Just[int64](928_000_000_000)).Draw(t, "charged")
		x := rapid.OneOf(rapid.Int64Range(0, charged), rapid.Int64Range(0, MaxStripeAmount), rapid.Just(charged/2)).Draw(t, "taken back")
		p := Payment{Amount: amount, Currency: "cad", ChargedAmount: charged, ChargedCurrency: "idr"}
		got := p.inInvoiceCurrency(x)
		want := new(big.Int).Mul(big.NewInt(min(x, charged)), big.NewInt(amount))
		want.Add(want, big.NewInt(charged/2)).Quo(want, big.NewInt(charged))
		if got != want.Int64() || got < 0 || got > amount {
			t.Fatalf("%d of %d (worth %d): %d, want %s", x, charged, amount, got, want)
		}
	})
}

// TestLostDisputeIsNotPaid: a payment all taken back by a lost chargeback
// reads dispute_lost (listed under it, not under paid), and a link
// request says why none can be made. Before the fix it read paid and a
// link was refused as invoice_paid.
func TestLostDisputeIsNotPaid(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	for _, status := range []string{"needs_response", "lost"} {
		f.handle(t, &WebhookEvent{ID: "evt_dp_" + status, Type: EventDisputeUpdated, AccountID: testAccount,
			Facts: PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Currency: "cad", State: PaymentSucceeded,
				Dispute: &Dispute{ID: "dp_1", Amount: 12500, Status: status}}})
	}
	inv := f.checkMoney(t)
	if inv.Status() != StatusDisputeLost || inv.NetPaidOnline() != 0 || inv.BalanceDue != 0 {
		t.Fatalf("status %s net %d balance %d", inv.Status(), inv.NetPaidOnline(), inv.BalanceDue)
	}
	_, _, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	if e, ok := err.(*Error); !ok || e.Code != CodeNothingDue || !containsAll(e.Message, "lost dispute", "balanceDue") {
		t.Fatalf("link request: %v", err)
	}
	page, err := f.svc.ListInvoices(context.Background(), Staff("c1"), InvoiceFilter{Status: StatusDisputeLost}, "", 10)
	if err != nil || len(page.Invoices) != 1 {
		t.Fatalf("?status=dispute_lost: %v %+v", err, page)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestAnyOrderSameMoney is the property behind the findings: whatever
// Stripe's truth (payments through the link, each told with or without
// its PaymentIntent, some charged in IDR up to Stripe's twelve digits,
// refunds that succeed, stay pending, fail or are canceled, lost disputes)
// and whatever order its events arrive in,
// duplicates and same-second times included, the invoice ends with the
// same money, status and feed total.
func TestAnyOrderSameMoney(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		st := &story{rt: rt, truth: map[string][]Refund{}, t0: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
		for p := range rapid.IntRange(1, 2).Draw(rt, "payments") {
			pi, ch := fmt.Sprintf("pi_%d", p), fmt.Sprintf("ch_%d", p)
			st.charged, st.currency = 12500, "cad"
			if rapid.IntRange(0, 2).Draw(rt, "Adaptive Pricing") == 0 {
				st.charged, st.currency = rapid.Int64Range(1, MaxStripeAmount).Draw(rt, "charged in idr"), "idr"
			}
			st.sessions(pi, fmt.Sprintf("cs_%d", p))
			st.refunds(pi, ch)
			if rapid.IntRange(0, 3).Draw(rt, "a lost dispute") == 0 {
				st.lostDispute(pi, ch)
			}
		}
		if rapid.Bool().Draw(rt, "a duplicate") {
			st.events = append(st.events, st.events[rapid.IntRange(0, len(st.events)-1).Draw(rt, "duplicated")])
		}
		first := deliverInOrder(t, st.truth, shuffled(rt, st.events, "first order"))
		second := deliverInOrder(t, st.truth, shuffled(rt, st.events, "second order"))
		if !equalViews(first, second) {
			rt.Fatalf("two orders of the same events:\n%+v\n%+v", first, second)
		}
	})
}

// story draws Stripe's truth about payments of 12 500 through plink_1 and
// the events that tell it, each created in one of four seconds.
type story struct {
	rt *rapid.T
	t0 time.Time
	n  int
	// charged and currency are what the payment being drawn charged (under
	// Adaptive Pricing, another currency than the link's 12 500 cad).
	charged  int64
	currency string
	truth    map[string][]Refund
	events   []*WebhookEvent
}

func (s *story) id(kind string) string { s.n++; return fmt.Sprintf("%s_%d", kind, s.n) }

func (s *story) at() time.Time {
	return s.t0.Add(time.Duration(rapid.IntRange(0, 3).Draw(s.rt, "second")) * time.Second)
}

// sessions: paid by card (told again without its PaymentIntent, perhaps),
// or by a debit told processing (with or without it), then succeeded.
func (s *story) sessions(pi, cs string) {
	session := func(typ string, state PaymentState, withPI bool) {
		ev := &WebhookEvent{ID: s.id("evt"), Type: typ, AccountID: testAccount, Created: s.at(), CompanyID: "c1", InvoiceID: "i1", Generation: 1,
			Facts: PaymentFacts{SessionID: cs, LinkID: "plink_1", Amount: s.charged, Currency: s.currency, State: state}}
		if s.currency != "cad" {
			ev.Facts.SourceAmount, ev.Facts.SourceCurrency = 12500, "cad"
		}
		if withPI {
			ev.Facts.PaymentIntentID = pi
		}
		s.events = append(s.events, ev)
	}
	if rapid.Bool().Draw(s.rt, "a debit") {
		session(EventCheckoutCompleted, PaymentProcessing, rapid.Bool().Draw(s.rt, "processing with its PaymentIntent"))
		session(EventAsyncSucceeded, PaymentSucceeded, true)
		return
	}
	session(EventCheckoutCompleted, PaymentSucceeded, true)
	if rapid.Bool().Draw(s.rt, "told again without its PaymentIntent") {
		session(EventCheckoutCompleted, PaymentSucceeded, false)
	}
}

// refunds: each pending first, then perhaps succeeded, failed or
// canceled, each step told by charge.refund.updated, and a
// charge.refunded (no list) for each.
func (s *story) refunds(pi, ch string) {
	left := s.charged
	for range rapid.IntRange(0, 3).Draw(s.rt, "refunds") {
		if left == 0 {
			return
		}
		r := Refund{ID: s.id("re"), Amount: rapid.Int64Range(1, left).Draw(s.rt, "refund amount"), Status: RefundPending, CreatedAt: s.at()}
		left -= r.Amount
		fate := rapid.SampledFrom([][]RefundStatus{{}, {RefundSucceeded}, {RefundFailed}, {RefundCanceled}, {RefundSucceeded, RefundFailed}}).Draw(s.rt, "fate")
		for _, st := range append([]RefundStatus{RefundPending}, fate...) {
			told := r
			told.Status = st
			ev := refundEvent(s.id("evt"), s.at(), told)
			ev.Facts.PaymentIntentID, ev.Facts.ChargeID, ev.Facts.Currency = pi, ch, s.currency
			s.events = append(s.events, ev)
			r.Status = st
		}
		if r.Status.ended() {
			left += r.Amount
		}
		s.truth[ch] = append(s.truth[ch], r)
		total := chargeRefunded(s.id("evt"), s.at(), 0)
		total.Facts.PaymentIntentID, total.Facts.ChargeID, total.Facts.Amount, total.Facts.Currency = pi, ch, s.charged, s.currency
		s.events = append(s.events, total)
	}
}

func (s *story) lostDispute(pi, ch string) {
	disputed := rapid.Int64Range(1, s.charged).Draw(s.rt, "disputed")
	for _, st := range []string{"needs_response", "lost"} {
		s.events = append(s.events, &WebhookEvent{ID: s.id("evt"), Type: EventDisputeUpdated, AccountID: testAccount, Created: s.at(),
			Facts: PaymentFacts{PaymentIntentID: pi, ChargeID: ch, Currency: s.currency, State: PaymentSucceeded,
				Dispute: &Dispute{ID: "dp_" + pi, Amount: disputed, Status: st}}})
	}
}

func shuffled(rt *rapid.T, events []*WebhookEvent, label string) []*WebhookEvent {
	out := slices.Clone(events)
	for i := len(out) - 1; i > 0; i-- {
		j := rapid.IntRange(0, i).Draw(rt, label)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// TestOverpaidSaysWhatIsStillToRefund: a refund that failed is still to
// make, unless a later one made it good or the payment is all given back;
// a credit from paying twice is given back by refunds. In every order of
// the events.
func TestOverpaidSaysWhatIsStillToRefund(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	re := func(id string, amount int64, s RefundStatus, sec int) Refund {
		return Refund{ID: id, Amount: amount, Status: s, CreatedAt: t0.Add(time.Duration(sec) * time.Second)}
	}
	tests := []struct {
		name     string
		payments int
		refunds  []Refund // of the last payment
		overpaid int64
	}{
		{"a refund that failed", 1, []Refund{re("re_1", 3000, RefundFailed, 1)}, 3000},
		{"made again after it failed", 1, []Refund{re("re_1", 3000, RefundFailed, 1), re("re_2", 3000, RefundSucceeded, 2)}, 0},
		{"all given back after one failed", 1, []Refund{re("re_1", 5000, RefundCanceled, 1), re("re_2", 12500, RefundSucceeded, 2)}, 0},
		{"paid twice", 2, nil, 12500},
		{"paid twice, the refund of it failed", 2, []Refund{re("re_1", 3000, RefundFailed, 1)}, 12500},
		{"paid twice, refunded after a failure", 2, []Refund{re("re_1", 3000, RefundFailed, 1), re("re_2", 3000, RefundSucceeded, 2)}, 9500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var events []*WebhookEvent
			for p := 1; p <= tc.payments; p++ {
				events = append(events, &WebhookEvent{ID: fmt.Sprintf("evt_paid_%d", p), Type: EventCheckoutCompleted, AccountID: testAccount, Created: t0,
					CompanyID: "c1", InvoiceID: "i1", Generation: 1,
					Facts: PaymentFacts{PaymentIntentID: fmt.Sprintf("pi_%d", p), SessionID: fmt.Sprintf("cs_%d", p), LinkID: "plink_1", Amount: 12500, Currency: "cad", State: PaymentSucceeded}})
			}
			pi, ch := fmt.Sprintf("pi_%d", tc.payments), fmt.Sprintf("ch_%d", tc.payments)
			for _, r := range tc.refunds {
				ev := refundEvent("evt_"+r.ID, t0.Add(time.Minute), r)
				ev.Facts.PaymentIntentID, ev.Facts.ChargeID = pi, ch
				events = append(events, ev)
			}
			truth := map[string][]Refund{ch: tc.refunds}
			for _, order := range permutations(len(events)) {
				var in []*WebhookEvent
				for _, i := range order {
					in = append(in, events[i])
				}
				if got := deliverInOrder(t, truth, in); got.Overpaid != tc.overpaid || got.BalanceDue != 0 {
					t.Fatalf("order %v: overpaid %d balance %d, want overpaid %d", order, got.Overpaid, got.BalanceDue, tc.overpaid)
				}
			}
		})
	}
}

// TestRefundFailsAfterTheClinicAskedAgain: the clinic asked the patient
// again for a refunded 3 000 (PUT); the refund then fails: the money came
// back, nothing is asked any more and nothing is owed.
func TestRefundFailsAfterTheClinicAskedAgain(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad"))
	r := Refund{ID: "re_1", Amount: 3000, Status: RefundPending, CreatedAt: f.clock()}
	f.stripe.setRefund("ch_1", r)
	f.handle(t, refundEvent("evt_pending", f.clock(), r))
	inv := f.invoice(t)
	if _, _, _, err := f.svc.PutInvoice(context.Background(), Staff("c1"), "i1", invoiceInput(12500, 3000), Precondition{Given: true, Versions: []int64{inv.Version}}); err != nil {
		t.Fatal(err)
	}
	r.Status = RefundFailed
	f.stripe.setRefund("ch_1", r)
	f.handle(t, refundEvent("evt_failed", f.clock(), r))
	if inv := f.checkMoney(t); inv.BalanceDue != 0 || inv.Overpaid != 0 || inv.NetPaidOnline() != 12500 {
		t.Fatalf("balance %d overpaid %d net %d", inv.BalanceDue, inv.Overpaid, inv.NetPaidOnline())
	}
}
