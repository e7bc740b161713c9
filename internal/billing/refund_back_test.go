package billing

import (
	"testing"
	"time"
)

// A refund that failed gives back all it held, even when refunds asked
// more than the charge in all (one failed earlier, its part asked
// again): the balance is lowered by what came back, as netPaid counts
// it. (FuzzInvoiceModel found it: its case
// refund-failure-after-a-refund-asked-again.)
func TestRefundFailureGivesAllItHeldBack(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 7, 15, 0, s, 0, time.UTC) }
	inv := &Invoice{Currency: "cad", Total: 40779, BalanceDue: 40769, Payments: []Payment{{
		PaymentIntentID: "pi_1", Amount: 3, Currency: "cad", ChargedAmount: 3, ChargedCurrency: "cad", State: PaymentSucceeded,
		Refunds: []Refund{
			{ID: "re_1", Amount: 1, Status: RefundFailed, CreatedAt: at(1)},
			{ID: "re_2", Amount: 1, Status: RefundPending, CreatedAt: at(2)},
			{ID: "re_3", Amount: 2, Status: RefundSucceeded, CreatedAt: at(3)},
		}}}}
	inv.startLedger() // the clinic's PUT
	before := inv.NetPaidOnline()
	inv.Payments[0].Refunds[2].Status = RefundFailed
	inv.fromLedger()
	if back := inv.NetPaidOnline() - before; back != 2 || inv.BalanceDue != 40769-back || inv.Overpaid != 0 {
		t.Fatalf("%d came back: balance %d, overpaid %d", back, inv.BalanceDue, inv.Overpaid)
	}
}
