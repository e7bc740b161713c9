package localstripe

import (
	"context"
	"fmt"
	"slices"
)

// Held names an event kept instead of delivered.
type Held struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Outcome is what a local Stripe action did: the payment as Stripe now
// holds it, the refund it is about (if any), the events delivered, and
// those held.
type Outcome struct {
	Payment    *Payment
	Refund     *Refunded
	Deliveries []Delivery
	Held       []Held
}

// refundRank orders a refund's statuses as Stripe moves them: pending,
// then succeeded, then (rarely) failed; pending may also fail or be
// canceled. A refund never moves back.
var refundRank = map[string]int{RefundPending: 1, RefundSucceeded: 2, RefundFailed: 3, RefundCanceled: 3}

// Refund refunds amount of a payment (0: all that is left), with status
// pending or succeeded ("" is succeeded, a card's usual), and sends
// charge.refunded as API 2023-10-16 does: the charge with its
// amount_refunded, no refunds list. With hold, the event is kept for
// DeliverHeld instead.
func (s *Simulator) Refund(ctx context.Context, paymentIntent string, amount int64, status string, hold bool) (*Outcome, error) {
	if status == "" {
		status = RefundSucceeded
	}
	if status != RefundPending && status != RefundSucceeded {
		return nil, fmt.Errorf("%w: a new refund is pending or succeeded", ErrRefundState)
	}
	var rf Refunded
	p, err := s.change(paymentIntent, func(p *Payment) error {
		if p.Status != Succeeded {
			return ErrNotPaid
		}
		charged, _ := p.Charged()
		left := charged - p.Refunded()
		if amount == 0 {
			amount = left
		}
		if amount <= 0 || amount > left {
			return ErrBadAmount
		}
		rf = Refunded{ID: NewID("re"), Amount: amount, Status: status, CreatedAt: s.now().UTC()}
		p.Refunds = append(p.Refunds, rf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	charged, currency := p.Charged()
	ev := Event(NewID("evt"), "charge.refunded", p.Account, Charge(p.Charge, p.PaymentIntent, currency, charged, p.Refunded()), s.now())
	return s.emit(ctx, p, &rf, hold, ev)
}

// RefundStatus moves a refund to status as Stripe does and sends
// charge.refund.updated with the refund; a failed or canceled refund no
// longer counts in the charge's amount_refunded.
func (s *Simulator) RefundStatus(ctx context.Context, refundID, status string, hold bool) (*Outcome, error) {
	if refundRank[status] == 0 {
		return nil, fmt.Errorf("%w: status must be pending, succeeded, failed or canceled", ErrRefundState)
	}
	var pi string
	var rf Refunded
	err := s.State.update(func(d *stateFile) error {
		for _, p := range d.Payments {
			i := slices.IndexFunc(p.Refunds, func(r Refunded) bool { return r.ID == refundID })
			if i < 0 {
				continue
			}
			r := &p.Refunds[i]
			ok := refundRank[status] > refundRank[r.Status] && !(r.Status == RefundSucceeded && status == RefundCanceled)
			if !ok {
				return fmt.Errorf("%w (it is %s)", ErrRefundState, r.Status)
			}
			r.Status = status
			pi, rf = p.PaymentIntent, *r
			return nil
		}
		return ErrNoRefund
	})
	if err != nil {
		return nil, err
	}
	p := s.State.Payment(pi)
	_, currency := p.Charged()
	obj := Refund(rf.ID, p.Charge, p.PaymentIntent, currency, rf.Amount, rf.Status, rf.CreatedAt)
	return s.emit(ctx, p, &rf, hold, Event(NewID("evt"), "charge.refund.updated", p.Account, obj, s.now()))
}

// DeliverHeld delivers held events, in the order given (an id named twice
// is delivered twice, as Stripe may); they stay held, to be delivered
// again.
func (s *Simulator) DeliverHeld(ctx context.Context, ids []string) ([]Delivery, error) {
	payloads := make([][]byte, len(ids))
	s.State.mu.Lock()
	for i, id := range ids {
		h := s.State.data.Held[id]
		if h == nil {
			s.State.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrNoEvent, id)
		}
		payloads[i] = h.Payload
	}
	s.State.mu.Unlock()
	out := []Delivery{}
	for _, b := range payloads {
		d, err := s.deliver(ctx, b)
		out = append(out, d...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// emit delivers an event about p, or holds it.
func (s *Simulator) emit(ctx context.Context, p *Payment, rf *Refunded, hold bool, payload []byte) (*Outcome, error) {
	out := &Outcome{Payment: p, Refund: rf, Deliveries: []Delivery{}, Held: []Held{}}
	if hold {
		h := held(payload)
		err := s.State.update(func(d *stateFile) error {
			d.Held[h.ID] = h
			return nil
		})
		out.Held = append(out.Held, Held{ID: h.ID, Type: h.Type})
		return out, err
	}
	d, err := s.deliver(ctx, payload)
	out.Payment, out.Deliveries, err = s.recorded(p, d, err)
	if out.Deliveries == nil {
		out.Deliveries = []Delivery{}
	}
	return out, err
}
