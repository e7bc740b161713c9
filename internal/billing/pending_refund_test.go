package billing

import (
	"testing"
	"time"
)

// A refund Stripe told of before its payment's invoice was known, for
// more than the payment turns out to have captured, is left out as it is
// when it comes after the payment: the same events in any order give the
// same money. (FuzzInvoiceModelAtTheDesk found it: its case
// refund-beyond-the-payment-told-before-it.)
func TestPendingRefundBeyondThePayment(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		refund   int64
		refunded int64
	}{
		{"beyond the payment", 2001, 0},
		{"within it", 500, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &Invoice{CompanyID: "c1", ID: "i1", Currency: "cad", Total: 5000, BalanceDue: 2000,
				Links: []Link{{ID: "plink_1", Generation: 1, Amount: 2000, Currency: "cad", Status: LinkActive}}}
			pending := &Payment{PaymentIntentID: "pi_1", ChargeID: "ch_1",
				Refunds: []Refund{{ID: "re_1", Amount: tc.refund, Status: RefundSucceeded, CreatedAt: now}}}
			ev := &WebhookEvent{ID: "evt_1", Type: EventCheckoutCompleted, Created: now, Facts: PaymentFacts{
				PaymentIntentID: "pi_1", SessionID: "cs_1", LinkID: "plink_1", Amount: 2000, Currency: "cad", State: PaymentSucceeded}}
			if _, reason := inv.recordPayment(ev, &inv.Links[0], pending, now); reason != "" {
				t.Fatalf("rejected: %s", reason)
			}
			if p := inv.payment("pi_1"); p == nil || p.refunded() != tc.refunded || inv.NetPaidOnline() != 2000-tc.refunded {
				t.Fatalf("payment %+v, net paid %d", p, inv.NetPaidOnline())
			}
		})
	}
}
