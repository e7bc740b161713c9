package billing

import (
	"context"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// Refunds on readers as a state machine: an Interac payment of 12 500,
// random refunds asked of two readers (keys replayed), cards presented
// again, the patient's cancels, the events delivered late, twice, out of
// order or lost (the scheduler then asks Stripe). After every step every
// refund Stripe made is counted, so none is asked beyond what is left
// (Stripe never refuses one for its amount) and the refunds never exceed
// the payment, and the invoice records no more than Stripe refunded; once
// every event is in (or settled), it records exactly what Stripe refunded,
// whatever the order.
func TestReaderRefundsNeverExceedThePayment(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d, pi := paidByInterac(t)
		m := &refundModel{d: d, t: t, rt: rt, pi: pi}
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for i := range steps {
			m.step(rapid.SampledFrom([]string{"refund", "refund", "present", "cancel", "deliver", "deliver", "redeliver", "lose", "settle"}).
				Draw(rt, fmt.Sprint("op", i)))
			m.check(false)
		}
		// The patients cancel what still waits for a card; every event
		// is delivered, then the scheduler runs.
		for _, reader := range []string{"tmr_1", "tmr_2"} {
			if a := d.term.readers[testAccount+"/"+reader].Action; a != nil && a.Status == "in_progress" {
				d.cancelAtReader(reader)
			}
		}
		m.pending = append(m.pending, d.term.takeEvents()...)
		for len(m.pending) > 0 {
			m.step("deliver")
		}
		m.step("settle")
		m.step("settle")
		m.check(true)
		inv := d.invoice(t)
		if got, want := inv.Payments[0].refunded(), d.term.refunded[pi]; got != want || inv.NetPaidOnline() != 12500-want {
			rt.Fatalf("Stripe refunded %d; the invoice records %d, net %d", want, got, inv.NetPaidOnline())
		}
	})
}

type refundModel struct {
	d                  *desk
	t                  *testing.T
	rt                 *rapid.T
	pi                 string
	pending, delivered []*WebhookEvent
}

func (m *refundModel) step(op string) {
	ctx, d := context.Background(), m.d
	reader := rapid.SampledFrom([]string{"tmr_1", "tmr_2"}).Draw(m.rt, "reader")
	switch op {
	case "refund":
		amount := rapid.Int64Range(1, 13000).Draw(m.rt, "amount")
		key := rapid.SampledFrom([]string{"k1", "k2", "k3", "k4", "k5", "k6"}).Draw(m.rt, "key")
		// A refusal of Stripe's (payment_provider_error) would be a
		// refund asked beyond what is left.
		_, err := d.refund(reader, m.pi, amount, key)
		if c := ErrorCode(err); err != nil && c != CodeRefundExceedsPayment && c != CodeReaderBusy && c != CodeConflict {
			m.rt.Fatalf("refund %d on %s: %v", amount, reader, err)
		}
	case "present", "cancel":
		a := d.term.readers[testAccount+"/"+reader].Action
		if a == nil || a.Type != ReaderActionRefundPayment || a.Status != "in_progress" {
			return
		}
		if op == "present" {
			d.presentRefund(m.t, reader)
		} else {
			d.cancelAtReader(reader)
		}
		m.pending = append(m.pending, d.term.takeEvents()...)
	case "deliver", "redeliver", "lose":
		pool := &m.pending
		if op == "redeliver" {
			pool = &m.delivered
		}
		if len(*pool) == 0 {
			return
		}
		i := rapid.IntRange(0, len(*pool)-1).Draw(m.rt, "event")
		ev := (*pool)[i]
		if op != "redeliver" {
			m.pending = append(m.pending[:i:i], m.pending[i+1:]...)
		}
		if op == "lose" {
			return // Stripe gave up on it
		}
		if op == "deliver" {
			m.delivered = append(m.delivered, ev)
		}
		if _, err := d.svc.HandleEvent(ctx, ev); err != nil {
			m.rt.Fatalf("%s %s: %v", ev.Type, ev.ID, err)
		}
	case "settle":
		d.advance(ReaderQuiet)
		if _, err := d.run(ctx, d.clock()); err != nil {
			m.rt.Fatal(err)
		}
	}
}

// check: every refund Stripe made is counted by the invoice (recorded,
// or held by its attempt, in progress or untold), so no refund is asked
// beyond what is left; it records no more than Stripe refunded, and
// Stripe never refunded more than the payment. (While a refund's events
// are in flight it may be counted twice, recorded and held: that only
// refuses more for a moment.) settled: every event is in, and what is
// counted is exactly what Stripe refunded.
func (m *refundModel) check(settled bool) {
	inv := m.d.invoice(m.t)
	p := inv.payment(m.pi)
	counted := p.refunded()
	for i := range inv.ReaderRefunds {
		if r := &inv.ReaderRefunds[i]; r.InProgress() || inv.refundUntold(r) {
			counted += r.Amount
		}
	}
	stripe := m.d.term.refunded[m.pi]
	if stripe > counted || p.refunded() > stripe || stripe > p.Amount || (settled && counted != stripe) {
		m.rt.Fatalf("Stripe refunded %d; %d counted, %d recorded, of a payment of %d: %+v %+v", stripe, counted, p.refunded(), p.Amount, inv.ReaderRefunds, p.Refunds)
	}
}
