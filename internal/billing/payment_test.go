package billing

import (
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

func TestPaymentMergeIsOrderIndependent(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	facts := []PaymentFacts{
		{PaymentIntentID: "pi_1", SessionID: "cs_1", Amount: 10000, Currency: "cad", State: PaymentProcessing},
		{PaymentIntentID: "pi_1", State: PaymentFailed},
		{PaymentIntentID: "pi_1", SessionID: "cs_1", Amount: 10000, State: PaymentSucceeded},
		{PaymentIntentID: "pi_1", Amount: 10000, State: PaymentSucceeded, Refunded: i64(3000)},
		{PaymentIntentID: "pi_1", Amount: 10000, State: PaymentSucceeded, Refunded: i64(1000)},
		{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "under_review"}},
		{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "needs_response"}},
		{PaymentIntentID: "pi_1", State: PaymentSucceeded, Dispute: &Dispute{ID: "dp_1", Amount: 2000, Status: "lost"}},
	}
	// Every rotation of the list ends in the same payment.
	var want *Payment
	for start := range facts {
		var p Payment
		for i := range facts {
			p.merge(facts[(start+i)%len(facts)], now)
		}
		if p.State != PaymentSucceeded || p.Refunded != 3000 || p.Amount != 10000 || len(p.Disputes) != 1 || p.Disputes[0].Status != "lost" {
			t.Fatalf("rotation %d: %+v", start, p)
		}
		if got := p.netPaid(); got != 10000-3000-2000 {
			t.Fatalf("rotation %d: net %d", start, got)
		}
		if want == nil {
			want = &p
		}
	}
}

func TestBalanceFollowsPayments(t *testing.T) {
	tests := []struct {
		name         string
		balance      int64
		payments     []Payment
		wantBalance  int64
		wantOverpaid int64
		wantStatus   string
	}{
		{"paid in full", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded}}, 0, 0, StatusPaid},
		{"paid twice", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded}, {Amount: 12500, State: PaymentSucceeded}}, 0, 12500, StatusPaid},
		{"partial refund", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded, Refunded: 2500}}, 2500, 0, StatusPartiallyRefunded},
		{"full refund", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded, Refunded: 12500}}, 12500, 0, StatusRefunded},
		{"processing", 12500, []Payment{{Amount: 12500, State: PaymentProcessing}}, 12500, 0, StatusProcessing},
		{"failed", 12500, []Payment{{Amount: 12500, State: PaymentFailed}}, 12500, 0, StatusOpen},
		{"open dispute", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded, Disputes: []Dispute{{ID: "d", Amount: 12500, Status: "needs_response"}}}}, 0, 0, StatusDisputed},
		{"lost dispute", 12500, []Payment{{Amount: 12500, State: PaymentSucceeded, Disputes: []Dispute{{ID: "d", Amount: 12500, Status: "lost"}}}}, 12500, 0, StatusOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &Invoice{BalanceDue: tc.balance}
			inv.Payments = tc.payments
			inv.settleBalance(0)
			if inv.BalanceDue != tc.wantBalance || inv.Overpaid != tc.wantOverpaid || inv.Status() != tc.wantStatus {
				t.Fatalf("balance %d overpaid %d status %s", inv.BalanceDue, inv.Overpaid, inv.Status())
			}
		})
	}
}
