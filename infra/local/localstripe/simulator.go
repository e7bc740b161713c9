package localstripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Payment methods of the local checkout.
const (
	Card = "card"
	// PreAuthorizedDebit is Stripe's acss_debit: Canadian pre-authorized
	// debit, which clears days later (processing, then succeeded or failed).
	PreAuthorizedDebit = "acss_debit"
	// Decline is a card the bank refuses: no payment, the link stays.
	Decline = "decline"
)

// Payment statuses.
const (
	Processing = "processing"
	Succeeded  = "succeeded"
	Failed     = "failed"
)

// Errors a tester can cause.
var (
	ErrNoLink        = errors.New("no such payment link")
	ErrLinkInactive  = errors.New("the payment link is no longer active")
	ErrNoPayment     = errors.New("no such payment")
	ErrNotProcessing = errors.New("the payment is not clearing (only a pre-authorized debit that is processing can succeed or fail)")
	ErrNotPaid       = errors.New("the payment did not succeed: nothing to refund or dispute")
	ErrBadAmount     = errors.New("the amount must be between 1 and what is left to refund")
	ErrBadMethod     = errors.New("the method must be card, acss_debit or decline")
	ErrDisputeState  = errors.New("the dispute cannot do that now")
	ErrNoRefund      = errors.New("no such refund")
	ErrRefundState   = errors.New("a refund's status only moves pending → succeeded → failed, or pending → failed or canceled")
	ErrNoEvent       = errors.New("no such held event")
	// ErrWebhookUnreachable: the event could not be posted to the webhook.
	ErrWebhookUnreachable = errors.New("the webhook could not be reached")
)

// Diverted is the reason of a delivery Simulator.Divert took.
const Diverted = "diverted"

// Delivery is one event sent to the webhook and the webhook's answer.
type Delivery struct {
	EventID string `json:"eventId"`
	Type    string `json:"type"`
	Status  int    `json:"status"`
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Simulator makes payments, refunds and disputes happen as Stripe would,
// and sends their events to the webhook.
type Simulator struct {
	State *State
	// WebhookURL is the webhook route (POST /webhooks/stripe) and Secret
	// the endpoint's signing secret.
	WebhookURL, Secret string
	// Client sends the deliveries (http.DefaultClient when nil).
	Client *http.Client
	// Now is the clock of the events (time.Now when nil).
	Now func() time.Time
	// HoldCallEvents keeps the events the service's own calls make (a
	// reader payment's capture or cancel) for DeliverHeld, instead of
	// sending them after the call's answer.
	HoldCallEvents bool
	// Divert, when set, is shown each event before it is sent (a reader's,
	// a call's); true takes it from the webhook: a test that delivers
	// Stripe's events itself (late, twice, out of order) keeps it. A
	// call's events are shown before the call is answered.
	Divert func(payload []byte) bool

	calls  sync.WaitGroup // deliveries of calls' events under way
	sentMu sync.Mutex
	sent   []Delivery
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Presentment is what Adaptive Pricing shows the patient instead of the
// link's amount: another currency and the amount in it (zero: none).
type Presentment struct {
	Currency string
	Amount   int64
}

// Checkout pays a link by card, starts a pre-authorized debit, or is
// declined, and sends the events Stripe sends.
func (s *Simulator) Checkout(ctx context.Context, linkID, method string) (*Payment, []Delivery, error) {
	return s.CheckoutIn(ctx, linkID, method, Presentment{})
}

// CheckoutIn is Checkout with the patient paying in another currency, as
// Adaptive Pricing shows it: the session's currency_conversion names the
// link's amount and currency, the charge (and its refunds) are in the
// patient's.
func (s *Simulator) CheckoutIn(ctx context.Context, linkID, method string, pr Presentment) (*Payment, []Delivery, error) {
	if method != Card && method != PreAuthorizedDebit && method != Decline {
		return nil, nil, ErrBadMethod
	}
	if (pr.Currency == "") != (pr.Amount == 0) || pr.Amount < 0 || pr.Amount > MaxAmount || (pr.Currency != "" && !currencyCode(pr.Currency)) {
		return nil, nil, fmt.Errorf("%w: presentmentCurrency (a lower-case ISO code) and presentmentAmount (1 to %d) go together", ErrBadAmount, int64(MaxAmount))
	}
	var p *Payment
	var link Link
	err := s.State.update(func(d *stateFile) error {
		l := d.Links[linkID]
		if l == nil {
			return ErrNoLink
		}
		if !l.Usable() {
			return ErrLinkInactive
		}
		link = *l
		p = &Payment{PaymentIntent: NewID("pi"), Charge: NewID("ch"), Session: NewID("cs_test"), LinkID: l.ID, Account: l.Account,
			Amount: l.Amount, Currency: l.Currency, Metadata: l.Metadata, Method: method, CreatedAt: s.now().UTC()}
		if pr.Currency != "" && pr.Currency != l.Currency {
			p.PresentmentAmount, p.PresentmentCurrency = pr.Amount, pr.Currency
		}
		switch method {
		case Decline:
			return nil // nothing kept: the session stays open
		case Card:
			p.Status = Succeeded
		default:
			p.Status = Processing
		}
		d.Payments[p.PaymentIntent] = p
		l.CompletedSessions++
		p = p.copy()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if method == Decline {
		ev := Event(NewID("evt"), "payment_intent.payment_failed", link.Account,
			FailedPaymentIntent(p.PaymentIntent, link.Currency, link.Amount, link.Metadata), s.now())
		d, err := s.deliver(ctx, ev)
		return nil, d, err
	}
	status := "paid"
	if method == PreAuthorizedDebit {
		status = "unpaid"
	}
	d, err := s.deliver(ctx, Event(NewID("evt"), "checkout.session.completed", p.Account, s.session(p, status), s.now()))
	return s.recorded(p, d, err)
}

func (s *Simulator) session(p *Payment, status string) map[string]any {
	f := SessionFacts{ID: p.Session, PaymentIntent: p.PaymentIntent, PaymentStatus: status, LinkID: p.LinkID,
		Amount: p.Amount, Currency: p.Currency, Metadata: p.Metadata, Methods: []string{p.Method}, Created: p.CreatedAt}
	if p.PresentmentCurrency != "" {
		f.Amount, f.Currency, f.SourceAmount, f.SourceCurrency = p.PresentmentAmount, p.PresentmentCurrency, p.Amount, p.Currency
	}
	return Session(f)
}

// MaxAmount is the most a Stripe amount can be, in minor units (twelve
// digits: IDR's ceiling).
const MaxAmount = 999_999_999_999

func currencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Settle ends a pre-authorized debit that is clearing: succeeded or failed.
func (s *Simulator) Settle(ctx context.Context, paymentIntent string, succeeded bool) (*Payment, []Delivery, error) {
	p, err := s.change(paymentIntent, func(p *Payment) error {
		if p.Status != Processing {
			return ErrNotProcessing
		}
		p.Status = Failed
		if succeeded {
			p.Status = Succeeded
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	typ, status := "checkout.session.async_payment_failed", "unpaid"
	if succeeded {
		typ, status = "checkout.session.async_payment_succeeded", "paid"
	}
	d, err := s.deliver(ctx, Event(NewID("evt"), typ, p.Account, s.session(p, status), s.now()))
	return s.recorded(p, d, err)
}

// Dispute actions.
const (
	DisputeOpen = "open"
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// Dispute opens a dispute on a payment (charge.dispute.created), or closes
// it won or lost (charge.dispute.closed), opening it first if need be.
func (s *Simulator) Dispute(ctx context.Context, paymentIntent, action string) (*Payment, []Delivery, error) {
	if action != DisputeOpen && action != DisputeWon && action != DisputeLost {
		return nil, nil, fmt.Errorf("%w: the action must be open, won or lost", ErrDisputeState)
	}
	var opened bool
	p, err := s.change(paymentIntent, func(p *Payment) error {
		if p.Status != Succeeded {
			return ErrNotPaid
		}
		switch {
		case p.Dispute == nil:
			p.Dispute, opened = &Disputed{ID: NewID("dp"), Status: "needs_response"}, true
		case p.Dispute.Status != "needs_response":
			return fmt.Errorf("%w: it is closed (%s)", ErrDisputeState, p.Dispute.Status)
		case action == DisputeOpen:
			return fmt.Errorf("%w: it is already open", ErrDisputeState)
		}
		if action != DisputeOpen {
			p.Dispute.Status = action
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []Delivery
	if opened {
		d, err := s.deliver(ctx, Event(NewID("evt"), "charge.dispute.created", p.Account,
			Dispute(p.Dispute.ID, p.Charge, p.PaymentIntent, chargedCurrency(p), chargedAmount(p), "needs_response"), s.now()))
		out = append(out, d...)
		if err != nil {
			return s.recorded(p, out, err)
		}
	}
	if action != DisputeOpen {
		var d []Delivery
		d, err = s.deliver(ctx, Event(NewID("evt"), "charge.dispute.closed", p.Account,
			Dispute(p.Dispute.ID, p.Charge, p.PaymentIntent, chargedCurrency(p), chargedAmount(p), action), s.now()))
		out = append(out, d...)
	}
	return s.recorded(p, out, err)
}

// change applies fn to a payment under the state's lock and returns a copy.
func (s *Simulator) change(paymentIntent string, fn func(*Payment) error) (*Payment, error) {
	var out *Payment
	err := s.State.update(func(d *stateFile) error {
		p := d.Payments[paymentIntent]
		if p == nil {
			return ErrNoPayment
		}
		if err := fn(p); err != nil {
			return err
		}
		out = p.copy()
		return nil
	})
	return out, err
}

// recorded keeps the deliveries on the payment (the checkout page and the
// console show them) and returns them.
func (s *Simulator) recorded(p *Payment, ds []Delivery, err error) (*Payment, []Delivery, error) {
	if p == nil || len(ds) == 0 {
		return p, ds, err
	}
	_ = s.State.update(func(d *stateFile) error {
		if stored := d.Payments[p.PaymentIntent]; stored != nil {
			stored.Deliveries = append(stored.Deliveries, ds...)
			p = stored.copy()
		}
		return nil
	})
	return p, ds, err
}

// deliver signs an event and posts it to the webhook, as Stripe does.
func (s *Simulator) deliver(ctx context.Context, payload []byte) ([]Delivery, error) {
	var ev struct{ ID, Type string }
	_ = json.Unmarshal(payload, &ev)
	if s.Divert != nil && s.Divert(payload) {
		return []Delivery{{EventID: ev.ID, Type: ev.Type, Reason: Diverted}}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", Sign(payload, s.Secret, s.now()))
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("deliver %s: %w: %w", ev.Type, ErrWebhookUnreachable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	d := Delivery{EventID: ev.ID, Type: ev.Type, Status: resp.StatusCode}
	var answer struct{ Outcome, Reason string }
	if json.Unmarshal(body, &answer) == nil {
		d.Outcome, d.Reason = answer.Outcome, answer.Reason
	}
	return []Delivery{d}, nil
}

// chargedAmount is what a dispute can take: the charge less what was
// refunded already.
func chargedAmount(p *Payment) int64 {
	a, _ := p.Charged()
	return a - p.Refunded()
}

func chargedCurrency(p *Payment) string {
	_, c := p.Charged()
	return c
}
