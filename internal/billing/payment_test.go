package billing

import (
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

// TestPaymentMergeIsOrderIndependent: whatever order Stripe's events (and
// the refunds read with them) arrive in, a payment ends in the same state.
// The refund re_2 fails after a charge.refunded counted it, in the same
// second as the next one: only re_1 stays refunded, whatever the order.
func TestPaymentMergeIsOrderIndependent(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	re1 := Refund{ID: "re_1", Amount: 1000, Status: RefundSucceeded, CreatedAt: at(9)}
	re2 := Refund{ID: "re_2", Amount: 2000, Status: RefundPending, CreatedAt: at(20)}
	re2failed := re2
	re2failed.Status = RefundFailed
	type told struct {
		f  PaymentFacts
		at time.Time
	}
	facts := []told{
		{PaymentFacts{PaymentIntentID: "pi_1", SessionID: "cs_1", Amount: 10000, Currency: "cad", State: PaymentProcessing}, at(0)},
		{PaymentFacts{PaymentIntentID: "pi_1", State: PaymentFailed}, at(1)},
		{PaymentFacts{SessionID: "cs_1", Amount: 10000, Currency: "cad", State: PaymentSucceeded}, at(1)},
		{PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Amount: 10000, Currency: "cad", State: PaymentSucceeded, ChargeRefunded: i64(1000),
			Refunds: []Refund{re1}, RefundsRead: true}, at(10)},
		{PaymentFacts{PaymentIntentID: "pi_1", ChargeID: "ch_1", Amount: 10000, Currency: "cad", State: PaymentSucceeded, ChargeRefunded: i64(3000),
			Refunds: []Refund{re2, re1}, RefundsRead: true}, at(30)},
		{PaymentFacts{PaymentIntentID: "pi_1", Currency: "cad", Refund: &re2failed, Refunds: []Refund{re2failed, re1}, RefundsRead: true}, at(30)},
		{PaymentFacts{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "warning_under_review"}}, at(50)},
		{PaymentFacts{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "needs_response"}}, at(51)},
		{PaymentFacts{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "lost"}}, at(52)},
	}
	for start := range facts {
		p := Payment{Amount: 10000, Currency: "cad"}
		for i := range facts {
			x := facts[(start+i)%len(facts)]
			p.merge(x.f, x.at, now)
		}
		if p.State != PaymentSucceeded || p.refunded() != 1000 || p.ChargedAmount != 10000 || len(p.Disputes) != 1 || p.Disputes[0].Status != "lost" {
			t.Fatalf("rotation %d: refunded %d, %+v", start, p.refunded(), p)
		}
		if got := p.netPaid(); got != 10000-1000-2000 {
			t.Fatalf("rotation %d: net %d", start, got)
		}
		if len(p.Refunds) != 2 || p.Refunds[0].ID != "re_1" || p.Refunds[1].Status != RefundFailed {
			t.Fatalf("rotation %d: refunds %+v", start, p.Refunds)
		}
	}
}

func TestRefunded(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	re := func(id string, amount int64, status RefundStatus) Refund {
		return Refund{ID: id, Amount: amount, Status: status, CreatedAt: t0}
	}
	tests := []struct {
		name     string
		snapshot *Snapshot
		refunds  []Refund
		want     int64
	}{
		{"a charge total counts nothing by itself", &Snapshot{5000, t0}, nil, 0},
		{"succeeded and pending count", nil, []Refund{re("re_1", 2000, RefundSucceeded), re("re_2", 500, RefundPending), re("re_3", 100, RefundRequiresAction)}, 2600},
		{"failed and canceled don't", &Snapshot{5000, t0}, []Refund{re("re_1", 2000, RefundFailed), re("re_2", 3000, RefundCanceled)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Payment{ChargeRefunds: tc.snapshot, Refunds: tc.refunds}
			if got := p.refunded(); got != tc.want {
				t.Fatalf("refunded %d, want %d", got, tc.want)
			}
		})
	}
}

// TestAdaptivePricing: refunds in the patient's currency are taken off the
// invoice's amount pro rata; a full refund is exactly the whole payment.
func TestAdaptivePricing(t *testing.T) {
	p := Payment{Amount: 12500, Currency: "cad", ChargedAmount: 9100, ChargedCurrency: "usd", State: PaymentSucceeded}
	for _, tc := range []struct{ refunded, wantNet int64 }{{0, 12500}, {4550, 6250}, {9100, 0}, {1, 12499}} {
		p.Refunds = nil
		if tc.refunded > 0 {
			p.Refunds = []Refund{{ID: "re_1", Amount: tc.refunded, Status: RefundSucceeded}}
		}
		if got := p.netPaid(); got != tc.wantNet {
			t.Errorf("refunded %d usd: net %d cad, want %d", tc.refunded, got, tc.wantNet)
		}
	}
}

func TestCheckFacts(t *testing.T) {
	paid := Payment{Amount: 10000, Currency: "cad", ChargedAmount: 10000, ChargedCurrency: "cad", State: PaymentSucceeded,
		Refunds: []Refund{{ID: "re_1", Amount: 6000, Status: RefundSucceeded}}}
	tests := []struct {
		name string
		f    PaymentFacts
		want string
	}{
		{"a refund within the charge", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: 4000, Status: RefundPending}}, ""},
		// Refunds that add up to more than the charge may be true for a
		// while (the failure of an earlier one not delivered yet): kept,
		// and capped where they are used.
		{"refunds that add up beyond the charge", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: 4001, Status: RefundPending}}, ""},
		{"a refund beyond the charge", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: 10001, Status: RefundPending}}, RejectExceedsPayment},
		{"a refund of nothing", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: 0, Status: RefundPending}}, RejectInvalidAmount},
		{"a negative refund", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: -5, Status: RefundPending}}, RejectInvalidAmount},
		{"a refund in another currency", PaymentFacts{Currency: "usd", Refund: &Refund{ID: "re_2", Amount: 10, Status: RefundPending}}, RejectWrongCurrency},
		{"an unknown refund status", PaymentFacts{Currency: "cad", Refund: &Refund{ID: "re_2", Amount: 10, Status: "lost"}}, RejectInvalidStatus},
		{"a charge total beyond the charge", PaymentFacts{ChargeID: "ch", Amount: 10000, Currency: "cad", ChargeRefunded: i64(50000)}, RejectExceedsPayment},
		{"a charge of another amount", PaymentFacts{ChargeID: "ch", Amount: 50000, Currency: "cad", ChargeRefunded: i64(0)}, RejectAmountMismatch},
		{"a dispute beyond the charge", PaymentFacts{Currency: "cad", Dispute: &Dispute{ID: "dp", Amount: 10001, Status: "lost"}}, RejectExceedsPayment},
		{"an open dispute of the rest", PaymentFacts{Currency: "cad", Dispute: &Dispute{ID: "dp", Amount: 4000, Status: "needs_response"}}, ""},
		{"an unknown dispute status", PaymentFacts{Currency: "cad", Dispute: &Dispute{ID: "dp", Amount: 10, Status: "escalated"}}, RejectInvalidStatus},
		{"a currency that is no code", PaymentFacts{Currency: "CAD", Refund: &Refund{ID: "re_2", Amount: 10, Status: RefundPending}}, RejectInvalidCurrency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := clonePayment(&paid)
			if got := p.checkFacts(tc.f); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}

// TestTakenBackIsCapped: refunds and lost disputes that add up to more
// than the charge (for a while) never make a payment worth less than 0.
func TestTakenBackIsCapped(t *testing.T) {
	p := Payment{Amount: 10000, Currency: "cad", ChargedAmount: 10000, ChargedCurrency: "cad", State: PaymentSucceeded,
		Refunds:  []Refund{{ID: "re_1", Amount: 8000, Status: RefundSucceeded}, {ID: "re_2", Amount: 8000, Status: RefundPending}},
		Disputes: []Dispute{{ID: "dp", Amount: 10000, Status: "lost"}}}
	if got := p.netPaid(); got != 0 {
		t.Fatalf("net %d", got)
	}
}

func TestDisputeStatusesOnlyMoveForward(t *testing.T) {
	order := []string{"warning_needs_response", "warning_under_review", "needs_response", "under_review", "lost"}
	for i := 1; i < len(order); i++ {
		if disputeRank(order[i]) <= disputeRank(order[i-1]) {
			t.Errorf("%s should come after %s", order[i], order[i-1])
		}
	}
	for _, s := range []string{"won", "lost", "warning_closed", "charge_refunded"} {
		if (Dispute{Status: s}).Open() {
			t.Errorf("%s is closed", s)
		}
	}
}
