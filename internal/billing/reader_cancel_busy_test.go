package billing

import (
	"context"
	"testing"
)

// busyOnCancel answers cancel_action as Stripe (and the local Stripe) do
// once the reader collected the card: terminal_reader_busy.
type busyOnCancel struct{ *fakeTerminal }

func (busyOnCancel) CancelReaderAction(context.Context, string, string, string) (*TerminalReader, error) {
	return nil, Errorf(CodeReaderBusy, "terminal_reader_busy")
}

// Staff cancel after the card was presented, its events not yet here,
// and Stripe refuses the reader's cancel as busy: the payment is
// completing (409 reader_payment_completing), not a busy reader, and the
// outcome is honoured. (FuzzInvoiceModelAtTheDesk found it: its case
// cancel-after-interac-before-its-events.)
func TestReaderCancelRefusedBusyOnceTheCardWasPresented(t *testing.T) {
	for _, card := range []string{cardApproved, cardInterac} {
		t.Run(card, func(t *testing.T) {
			d := newDesk(t)
			d.svc = NewService(Deps{Store: d.store, Payments: d.stripe, Mailer: d.mail, Now: d.clock, Queue: d.queue,
				Terminal: busyOnCancel{d.term}, Readers: d.readers})
			d.start(t, "tmr_1", "")
			d.present(t, card)
			_, err := d.svc.CancelReaderPayment(context.Background(), Staff("c1"), "i1")
			wantCode(t, err, CodeReaderPaymentCompleting)
			d.deliver(t)
			if inv := d.checkMoney(t); inv.BalanceDue != 0 {
				t.Fatalf("the outcome was not honoured: balance %d", inv.BalanceDue)
			}
		})
	}
}
