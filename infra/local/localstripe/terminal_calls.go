package localstripe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The reader's actions and a reader's PaymentIntents, as the service's
// calls make them (Answer routes them here).

var (
	readerOffline = refusal(http.StatusBadRequest, "terminal_reader_offline", "",
		"Reader is currently offline, please ensure the reader is powered on and connected to the internet before retrying your request.")
	readerBusy = refusal(http.StatusBadRequest, "terminal_reader_busy", "",
		"Reader is currently busy processing another request. Please reference the docs for more information on how to handle this error.")
)

// readerAction plays process_payment_intent, cancel_action and
// refund_payment; other actions are left to stripe-mock.
func (s *Simulator) readerAction(account, id, action string, form url.Values) (reply, bool) {
	var rep reply
	play := map[string]func(d *stateFile, r *Reader) reply{
		"process_payment_intent": func(d *stateFile, r *Reader) reply { return s.process(d, r, form) },
		"cancel_action":          func(d *stateFile, r *Reader) reply { return cancelAction(r) },
		"refund_payment":         func(d *stateFile, r *Reader) reply { return refundPayment(d, r, form) },
	}[action]
	if play == nil {
		return reply{}, false
	}
	_ = s.State.update(func(d *stateFile) error {
		switch r := d.Readers[id]; {
		case r == nil || r.Account != account:
			rep = noSuch("terminal.reader", id, "id")
		case r.Status == ReaderOffline:
			rep = readerOffline
		default:
			rep = play(d, r)
		}
		return nil
	})
	return rep, true
}

// process puts the PaymentIntent on the reader: the action is in progress
// until a card is presented.
func (s *Simulator) process(d *stateFile, r *Reader, form url.Values) reply {
	id := form.Get("payment_intent")
	i := d.Intents[id]
	switch {
	case r.Action != nil && r.Action.Status == ActionInProgress:
		return readerBusy
	case i == nil || i.Account != r.Account:
		return noSuch("payment_intent", id, "payment_intent")
	case i.Status != IntentRequiresMethod:
		return refusal(http.StatusBadRequest, "payment_intent_unexpected_state", "payment_intent",
			"This PaymentIntent has a status of "+i.Status+"; a reader can only process one that requires a payment method.")
	}
	r.Action = &Action{Type: ActionProcessPayment, Status: ActionInProgress, PaymentIntent: id, SkipTipping: form.Get("process_config[skip_tipping]") == "true"}
	return ok(ReaderObject(r))
}

// cancelAction stops what the reader is waiting for. Once a card was
// presented and approved the payment is completing and can't be stopped
// on the reader: the local Stripe answers terminal_reader_busy.
func cancelAction(r *Reader) reply {
	if a := r.Action; a != nil && a.Type == ActionProcessPayment && a.Status == ActionSucceeded {
		return refusal(http.StatusBadRequest, "terminal_reader_busy", "",
			"The reader already collected the payment method: its payment can no longer be canceled on the reader.")
	}
	r.Action = nil
	return ok(ReaderObject(r))
}

// refundPayment asks the reader to refund an in-person payment: it
// completes when the card is presented again.
func refundPayment(d *stateFile, r *Reader, form url.Values) reply {
	if r.Action != nil && r.Action.Status == ActionInProgress {
		return readerBusy
	}
	pi, charge := form.Get("payment_intent"), form.Get("charge")
	var p *Payment
	for _, x := range d.Payments {
		if x.Account == r.Account && ((pi != "" && x.PaymentIntent == pi) || (pi == "" && charge != "" && x.Charge == charge)) {
			p = x
		}
	}
	switch {
	case p == nil:
		return noSuch("payment_intent", pi+charge, "payment_intent")
	case p.Status != Succeeded || (p.Method != "card_present" && p.Method != "interac_present"):
		return refusal(http.StatusBadRequest, "charge_not_refundable", "payment_intent", "Only a succeeded in-person payment can be refunded on a reader.")
	}
	charged, _ := p.Charged()
	left := charged - p.Refunded()
	amount := left
	if v := form.Get("amount"); v != "" {
		amount, _ = strconv.ParseInt(v, 10, 64)
	}
	if amount <= 0 || amount > left {
		return refusal(http.StatusBadRequest, "amount_too_large", "amount",
			fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d).", amount, left))
	}
	r.Action = &Action{Type: ActionRefundPayment, Status: ActionInProgress, PaymentIntent: p.PaymentIntent, Charge: p.Charge, Amount: amount,
		Metadata: formMetadata(form)}
	return ok(ReaderObject(r))
}

// newIntent makes a PaymentIntent for a reader: it waits for a payment
// method.
func (s *Simulator) newIntent(account string, form url.Values) reply {
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	i := &Intent{ID: NewID("pi"), Account: account, Amount: amount, Currency: form.Get("currency"), Methods: formList(form, "payment_method_types"),
		CaptureMethod: form.Get("capture_method"), Status: IntentRequiresMethod, Metadata: formMap(form, "metadata"), CreatedAt: s.now().UTC()}
	if i.CaptureMethod == "" {
		i.CaptureMethod = "automatic"
	}
	_ = s.State.update(func(d *stateFile) error {
		d.Intents[i.ID] = i
		return nil
	})
	return ok(IntentObject(i, nil))
}

// intentCall reads, captures or cancels a reader's PaymentIntent.
func (s *Simulator) intentCall(method, account string, parts []string, query, form url.Values) (reply, bool) {
	id := parts[0]
	var rep reply
	played := true
	_ = s.State.update(func(d *stateFile) error {
		i := d.Intents[id]
		switch {
		case i.Account != account:
			rep = noSuch("payment_intent", id, "intent")
		case len(parts) == 1 && method == http.MethodGet:
			rep = ok(intentAnswer(d, i, expanded(query, "latest_charge")))
		case len(parts) == 2 && method == http.MethodPost && parts[1] == "capture":
			rep = s.capture(d, i, form)
		case len(parts) == 2 && method == http.MethodPost && parts[1] == "cancel":
			rep = s.cancelIntent(d, i, form)
		default:
			played = false
		}
		return nil
	})
	return rep, played
}

// intentAnswer is the PaymentIntent with its charge expanded when asked
// (its refunds counted from the payment they belong to).
func intentAnswer(d *stateFile, i *Intent, expand bool) map[string]any {
	if !expand || i.Charge == "" {
		return IntentObject(i, nil)
	}
	var refunded int64
	if p := d.Payments[i.ID]; p != nil {
		refunded = p.Refunded()
	}
	return IntentObject(i, IntentCharge(i, refunded))
}

// capture captures an authorization, all of it or amount_to_capture; the
// rest is released. The payment is then one the refunds and disputes of
// the local Stripe know.
func (s *Simulator) capture(d *stateFile, i *Intent, form url.Values) reply {
	if i.Status != IntentRequiresCapture {
		return refusal(http.StatusBadRequest, "payment_intent_unexpected_state", "",
			"This PaymentIntent could not be captured because it has a status of "+i.Status+". Only a PaymentIntent with one of the following statuses may be captured: requires_capture.")
	}
	amount := i.AmountCapturable
	if v := form.Get("amount_to_capture"); v != "" {
		amount, _ = strconv.ParseInt(v, 10, 64)
	}
	if amount <= 0 || amount > i.AmountCapturable {
		return refusal(http.StatusBadRequest, "amount_too_large", "amount_to_capture",
			fmt.Sprintf("The amount to capture (%d) must be at most the amount capturable (%d).", amount, i.AmountCapturable))
	}
	i.Status, i.AmountReceived, i.AmountCapturable = IntentSucceeded, amount, 0
	d.Payments[i.ID] = s.paymentOf(i)
	return ok(intentAnswer(d, i, expanded(form, "latest_charge")),
		Event(NewID("evt"), "payment_intent.succeeded", i.Account, IntentObject(i, nil), s.now()))
}

// cancelIntent cancels a PaymentIntent not yet captured; a reader still
// waiting for a card for it stops waiting.
func (s *Simulator) cancelIntent(d *stateFile, i *Intent, form url.Values) reply {
	if i.Status != IntentRequiresMethod && i.Status != IntentRequiresCapture {
		return refusal(http.StatusBadRequest, "payment_intent_unexpected_state", "",
			"You cannot cancel this PaymentIntent because it has a status of "+i.Status+". Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.")
	}
	event := s.cancel(d, i, form.Get("cancellation_reason"))
	return ok(intentAnswer(d, i, expanded(form, "latest_charge")), event)
}

// cancel cancels a PaymentIntent (whatever asked: the API, or Stripe on
// its own) and returns its payment_intent.canceled; a reader still
// waiting for a card for it stops waiting.
func (s *Simulator) cancel(d *stateFile, i *Intent, reason string) []byte {
	i.Status, i.AmountCapturable, i.CanceledAt, i.CancellationReason = IntentCanceled, 0, s.now().UTC(), reason
	for _, r := range d.Readers {
		if a := r.Action; a != nil && a.PaymentIntent == i.ID && a.Type == ActionProcessPayment && a.Status == ActionInProgress {
			r.Action = nil
		}
	}
	return Event(NewID("evt"), "payment_intent.canceled", i.Account, IntentObject(i, nil), s.now())
}

// readerCharge answers GET /v1/charges/{id} for a reader's charge.
func (s *Simulator) readerCharge(account, id string) (reply, bool) {
	s.State.mu.Lock()
	defer s.State.mu.Unlock()
	for _, i := range s.State.data.Intents {
		if i.Charge == id && i.Account == account {
			var refunded int64
			if p := s.State.data.Payments[i.ID]; p != nil {
				refunded = p.Refunded()
			}
			return ok(IntentCharge(i, refunded)), true
		}
	}
	return reply{}, false
}

// paymentOf is a reader's PaymentIntent once it succeeded, as a payment
// the local Stripe refunds and disputes.
func (s *Simulator) paymentOf(i *Intent) *Payment {
	return &Payment{PaymentIntent: i.ID, Charge: i.Charge, Account: i.Account, Amount: i.AmountReceived, Currency: i.Currency,
		Metadata: cloneMap(i.Metadata), Method: i.Method, Status: Succeeded, CreatedAt: s.now().UTC(), Deliveries: slices.Clone(i.Deliveries)}
}

// later sends the events a call made after the call was answered, as
// Stripe does (or holds them, with HoldCallEvents); Pending waits for
// them. Those Divert takes are taken now, before the answer.
func (s *Simulator) later(events [][]byte) {
	events = slices.DeleteFunc(events, func(e []byte) bool { return s.Divert != nil && s.Divert(e) })
	if len(events) == 0 {
		return
	}
	if s.HoldCallEvents {
		_ = s.State.update(func(d *stateFile) error {
			for _, e := range events {
				h := held(e)
				d.Held[h.ID] = h
			}
			return nil
		})
		return
	}
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		for _, e := range events {
			ds, err := s.deliver(context.Background(), e)
			if err != nil {
				h := held(e)
				ds = []Delivery{{EventID: h.ID, Type: h.Type, Reason: err.Error()}}
			}
			s.noteDeliveries(e, ds)
		}
	}()
}

// Pending waits until the events of the service's calls (a capture's, a
// cancel's) were delivered, and returns those delivered since it was last
// asked.
func (s *Simulator) Pending() []Delivery {
	s.calls.Wait()
	s.sentMu.Lock()
	defer s.sentMu.Unlock()
	out := s.sent
	s.sent = nil
	if out == nil {
		out = []Delivery{}
	}
	return out
}

// noteDeliveries keeps a call's deliveries, and on the PaymentIntent they
// are about.
func (s *Simulator) noteDeliveries(payload []byte, ds []Delivery) {
	s.sentMu.Lock()
	s.sent = append(s.sent, ds...)
	s.sentMu.Unlock()
	var ev struct {
		Data struct {
			Object struct{ ID string } `json:"object"`
		} `json:"data"`
	}
	_ = json.Unmarshal(payload, &ev)
	_ = s.State.update(func(d *stateFile) error {
		if i := d.Intents[ev.Data.Object.ID]; i != nil {
			i.Deliveries = append(i.Deliveries, ds...)
		}
		if p := d.Payments[ev.Data.Object.ID]; p != nil {
			p.Deliveries = append(p.Deliveries, ds...)
		}
		return nil
	})
}

// formMetadata is a call's metadata[key]=value parameters.
func formMetadata(form url.Values) map[string]string {
	var meta map[string]string
	for k, v := range form {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && len(v) > 0 {
			if meta == nil {
				meta = map[string]string{}
			}
			meta[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	return meta
}
