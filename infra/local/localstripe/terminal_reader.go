package localstripe

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// What happens at a reader, as Stripe's test helpers bring it about: a
// card presented (POST /v1/test_helpers/terminal/readers/{id}/
// present_payment_method), the patient canceling on the reader, the
// reader going offline.

// Errors a tester can cause at a reader.
var (
	ErrNoReader      = errors.New("no such reader")
	ErrReaderIdle    = errors.New("the reader has no action in progress: send it a payment or a refund first")
	ErrReaderOffline = errors.New("the reader is offline")
	ErrBadCard       = errors.New("not a test card the reader knows")
	ErrReaderStatus  = errors.New("a reader's status is online or offline")
	ErrNoIntent      = errors.New("no such payment intent")
)

// Presented is a payment method presented to a reader, as the test
// helper's form names it: type card_present or interac_present (card_present
// when empty) and the number (card_present[number], interac_present[number];
// Stripe's approving test card when empty).
type Presented struct {
	Type   string
	Number string
}

// testCard is what a test card does on a reader: approve, or decline with
// Stripe's decline_code and message.
type testCard struct {
	brand, last4, declineCode, message string
}

// readerCards are Stripe's test cards for a reader, by method and number.
var readerCards = map[string]map[string]testCard{
	"card_present": {
		"4242424242424242": {brand: "visa", last4: "4242"},
		"5555555555554444": {brand: "mastercard", last4: "4444"},
		"4000000000000002": {brand: "visa", last4: "0002", declineCode: "generic_decline", message: "Your card was declined."},
		"4000000000009995": {brand: "visa", last4: "9995", declineCode: "insufficient_funds", message: "Your card has insufficient funds."},
	},
	"interac_present": {
		"4506445006931933": {brand: "interac", last4: "1933"},
	},
}

var defaultCard = map[string]string{"card_present": "4242424242424242", "interac_present": "4506445006931933"}

// ReaderOutcome is what happened at a reader: the reader and the
// PaymentIntent (or the refunded payment and its refund) as Stripe now
// holds them, and the events delivered.
type ReaderOutcome struct {
	Reader     *Reader    `json:"reader"`
	Intent     *Intent    `json:"intent,omitempty"`
	Payment    *Payment   `json:"payment,omitempty"`
	Refund     *Refunded  `json:"refund,omitempty"`
	Deliveries []Delivery `json:"deliveries"`
}

// PresentPaymentMethod presents a card to a reader waiting for one, and
// sends the events Stripe sends:
//   - a payment approved by card: the PaymentIntent waits for capture
//     (terminal.reader.action_succeeded, payment_intent.amount_capturable_updated);
//   - approved by Interac: Stripe captures it at once (action_succeeded,
//     payment_intent.succeeded);
//   - declined (4000000000000002, 4000000000009995): the action fails
//     with card_declined, the PaymentIntent waits for another method with
//     the decline_code (action_failed, payment_intent.payment_failed);
//   - a refund on the reader: the refund is made (action_succeeded,
//     charge.refunded).
func (s *Simulator) PresentPaymentMethod(ctx context.Context, readerID string, pm Presented) (*ReaderOutcome, error) {
	if pm.Type == "" {
		pm.Type = "card_present"
	}
	if pm.Number == "" {
		pm.Number = defaultCard[pm.Type]
	}
	card, known := readerCards[pm.Type][pm.Number]
	if !known {
		return nil, fmt.Errorf("%w: %s %q (card_present: 4242424242424242, 5555555555554444, 4000000000000002, 4000000000009995; interac_present: 4506445006931933)",
			ErrBadCard, pm.Type, pm.Number)
	}
	out := &ReaderOutcome{}
	var events [][]byte
	err := s.State.update(func(d *stateFile) error {
		r, err := waiting(d, readerID)
		if err != nil {
			return err
		}
		if r.Action.Type == ActionRefundPayment {
			events, err = s.refundPresented(d, r, out)
		} else {
			events, err = s.paymentPresented(d, r, pm.Type, card, out)
		}
		out.Reader = r.copy()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, s.deliverAll(ctx, events, out)
}

// waiting is a reader waiting for a card.
func waiting(d *stateFile, readerID string) (*Reader, error) {
	r := d.Readers[readerID]
	switch {
	case r == nil:
		return nil, ErrNoReader
	case r.Status == ReaderOffline:
		return nil, ErrReaderOffline
	case r.Action == nil || r.Action.Status != ActionInProgress:
		return nil, ErrReaderIdle
	}
	return r, nil
}

func (s *Simulator) paymentPresented(d *stateFile, r *Reader, method string, card testCard, out *ReaderOutcome) ([][]byte, error) {
	a := r.Action
	i := d.Intents[a.PaymentIntent]
	if i == nil {
		return nil, ErrNoPayment
	}
	if !slices.Contains(i.Methods, method) {
		return nil, fmt.Errorf("%w: the PaymentIntent takes %v, not %s", ErrBadCard, i.Methods, method)
	}
	i.Charge, i.Method, i.Brand, i.Last4, i.LastError = NewID("ch"), method, card.brand, card.last4, nil
	var intentEvent string
	switch {
	case card.declineCode != "":
		i.LastError = &IntentError{Code: "card_declined", DeclineCode: card.declineCode, Message: card.message, Charge: i.Charge, Method: method}
		a.Status, a.FailureCode, a.FailureMessage = ActionFailed, "card_declined", card.message
		intentEvent = "payment_intent.payment_failed"
	case method == "interac_present" || i.CaptureMethod == "automatic":
		// Interac is captured at once whatever capture_method says.
		a.Status, i.Status, i.AmountReceived = ActionSucceeded, IntentSucceeded, i.Amount
		d.Payments[i.ID] = s.paymentOf(i)
		intentEvent = "payment_intent.succeeded"
	default:
		a.Status, i.Status, i.AmountCapturable = ActionSucceeded, IntentRequiresCapture, i.Amount
		intentEvent = "payment_intent.amount_capturable_updated"
	}
	out.Intent = i.copy()
	return [][]byte{s.readerEvent(r), Event(NewID("evt"), intentEvent, i.Account, IntentObject(i, nil), s.now())}, nil
}

func (s *Simulator) refundPresented(d *stateFile, r *Reader, out *ReaderOutcome) ([][]byte, error) {
	a := r.Action
	p := d.Payments[a.PaymentIntent]
	if p == nil {
		return nil, ErrNoPayment
	}
	charged, currency := p.Charged()
	if a.Amount > charged-p.Refunded() {
		return nil, ErrBadAmount // refunded elsewhere meanwhile
	}
	rf := Refunded{ID: NewID("re"), Amount: a.Amount, Status: RefundSucceeded, CreatedAt: s.now().UTC()}
	p.Refunds = append(p.Refunds, rf)
	a.Status, a.Refund = ActionSucceeded, rf.ID
	out.Payment, out.Refund = p.copy(), &rf
	return [][]byte{s.readerEvent(r), Event(NewID("evt"), "charge.refunded", p.Account, Charge(p.Charge, p.PaymentIntent, currency, charged, p.Refunded()), s.now())}, nil
}

// CustomerCancel is the patient pressing Cancel on the reader while it
// waits for a card (Stripe's readers offer it with
// process_config[enable_customer_cancellation]): the action fails with
// customer_canceled and the PaymentIntent still waits for a method.
func (s *Simulator) CustomerCancel(ctx context.Context, readerID string) (*ReaderOutcome, error) {
	out := &ReaderOutcome{}
	var event []byte
	err := s.State.update(func(d *stateFile) error {
		r, err := waiting(d, readerID)
		if err != nil {
			return err
		}
		r.Action.Status, r.Action.FailureCode, r.Action.FailureMessage = ActionFailed, "customer_canceled", "This action was canceled by the customer."
		if i := d.Intents[r.Action.PaymentIntent]; i != nil {
			out.Intent = i.copy()
		}
		out.Reader, event = r.copy(), s.readerEvent(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.deliverAll(ctx, [][]byte{event}, out)
}

// ErrNotCancelable: the PaymentIntent is captured or canceled already.
var ErrNotCancelable = errors.New("only a PaymentIntent not yet captured or canceled can be canceled")

// CancelIntent cancels a reader's PaymentIntent as Stripe does on its own,
// out of the service's sight: an authorization left uncaptured lapses
// (reason automatic), or the clinic cancels it in its Dashboard (reason
// requested_by_customer, abandoned…). A reader still waiting for it stops;
// payment_intent.canceled is sent.
func (s *Simulator) CancelIntent(ctx context.Context, id, reason string) (*ReaderOutcome, error) {
	out := &ReaderOutcome{}
	var event []byte
	err := s.State.update(func(d *stateFile) error {
		i := d.Intents[id]
		switch {
		case i == nil:
			return ErrNoIntent
		case i.Status != IntentRequiresMethod && i.Status != IntentRequiresCapture:
			return ErrNotCancelable
		}
		event = s.cancel(d, i, reason)
		out.Intent = i.copy()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.deliverAll(ctx, [][]byte{event}, out)
}

// SetReaderStatus takes a reader offline or brings it back online.
func (s *Simulator) SetReaderStatus(readerID, status string) (*Reader, error) {
	if status != ReaderOnline && status != ReaderOffline {
		return nil, ErrReaderStatus
	}
	var out *Reader
	err := s.State.update(func(d *stateFile) error {
		r := d.Readers[readerID]
		if r == nil {
			return ErrNoReader
		}
		r.Status = status
		out = r.copy()
		return nil
	})
	return out, err
}

// readerEvent is terminal.reader.action_succeeded or _failed, as the
// reader's action ended.
func (s *Simulator) readerEvent(r *Reader) []byte {
	typ := "terminal.reader.action_succeeded"
	if r.Action.Status == ActionFailed {
		typ = "terminal.reader.action_failed"
	}
	return Event(NewID("evt"), typ, r.Account, ReaderObject(r), s.now())
}

// deliverAll sends events in order, keeps them on the PaymentIntent or the
// payment they are about, and stops at the first the webhook can't take.
func (s *Simulator) deliverAll(ctx context.Context, events [][]byte, out *ReaderOutcome) error {
	out.Deliveries = []Delivery{}
	for _, e := range events {
		ds, err := s.deliver(ctx, e)
		out.Deliveries = append(out.Deliveries, ds...)
		if err != nil {
			return err
		}
	}
	pi := ""
	if out.Intent != nil {
		pi = out.Intent.ID
	} else if out.Payment != nil {
		pi = out.Payment.PaymentIntent
	}
	_ = s.State.update(func(d *stateFile) error {
		if i := d.Intents[pi]; i != nil {
			i.Deliveries = append(i.Deliveries, out.Deliveries...)
			out.Intent = i.copy()
		}
		if p := d.Payments[pi]; p != nil {
			p.Deliveries = append(p.Deliveries, out.Deliveries...)
			if out.Payment != nil {
				out.Payment = p.copy()
			}
		}
		return nil
	})
	return nil
}
