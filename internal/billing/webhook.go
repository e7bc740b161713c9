package billing

import (
	"time"
)

// Stripe event types the service acts on. Others are acknowledged and
// ignored.
const (
	EventCheckoutCompleted = "checkout.session.completed"
	EventAsyncSucceeded    = "checkout.session.async_payment_succeeded"
	EventAsyncFailed       = "checkout.session.async_payment_failed"
	EventChargeRefunded    = "charge.refunded"
	EventDisputeCreated    = "charge.dispute.created"
	EventDisputeUpdated    = "charge.dispute.updated"
	EventDisputeClosed     = "charge.dispute.closed"
)

// HandledEventTypes are the types to select on the Stripe webhook endpoint.
var HandledEventTypes = []string{
	EventCheckoutCompleted, EventAsyncSucceeded, EventAsyncFailed,
	EventChargeRefunded, EventDisputeCreated, EventDisputeUpdated, EventDisputeClosed,
}

// PaymentEvent is a verified Stripe event about a payment, as the Stripe
// adapter reads it.
type PaymentEvent struct {
	ID        string
	Type      string
	AccountID string // the connected account (Connect events)
	Created   time.Time
	// From the Checkout Session's metadata, copied from the link's; empty
	// for charge and dispute events, which are found through the payment.
	CompanyID  string
	InvoiceID  string
	Generation int
	Facts      PaymentFacts
}

// isSessionEvent reports a Checkout Session event (found through metadata).
func (ev *PaymentEvent) isSessionEvent() bool {
	switch ev.Type {
	case EventCheckoutCompleted, EventAsyncSucceeded, EventAsyncFailed:
		return true
	}
	return false
}

func handled(eventType string) bool {
	for _, t := range HandledEventTypes {
		if t == eventType {
			return true
		}
	}
	return false
}

// paymentKey identifies the payment an event is about: its PaymentIntent,
// or the Checkout Session while Stripe has not given one.
func (ev *PaymentEvent) paymentKey() string {
	if ev.Facts.PaymentIntentID != "" {
		return ev.Facts.PaymentIntentID
	}
	return ev.Facts.SessionID
}

// EventOutcome says what became of a webhook event.
type EventOutcome string

// Event outcomes.
const (
	OutcomeApplied   EventOutcome = "applied"
	OutcomeDuplicate EventOutcome = "duplicate"
	OutcomeIgnored   EventOutcome = "ignored"
	// OutcomePending: a refund or dispute for a payment whose invoice is not
	// known yet; it is applied when the payment is.
	OutcomePending EventOutcome = "pending"
)

// Reasons an event is ignored.
const (
	IgnoredUnknownInvoice  = "unknown_invoice"
	IgnoredUnknownLink     = "unknown_link"
	IgnoredAccountMismatch = "account_mismatch"
	IgnoredOtherInvoice    = "payment_of_another_invoice"
	IgnoredNoPayment       = "no_payment"
)

// EventRecord is kept for every event acted on; its existence is what makes
// a second delivery a duplicate.
type EventRecord struct {
	ID         string
	Type       string
	AccountID  string
	Outcome    EventOutcome
	Reason     string
	CompanyID  string
	InvoiceID  string
	ReceivedAt time.Time
}

// PaymentRef ties a PaymentIntent on a connected account to its invoice, so
// refunds and disputes (which carry only the PaymentIntent) find it. Facts
// that arrive before the payment itself wait in Pending.
type PaymentRef struct {
	AccountID       string
	PaymentIntentID string
	CompanyID       string
	InvoiceID       string
	Pending         *Payment
	Version         int64
}

// EventKeys says what LoadEventState reads.
type EventKeys struct {
	EventID         string
	CompanyID       string
	InvoiceID       string
	AccountID       string
	PaymentIntentID string
}

// EventState is what handling an event starts from.
type EventState struct {
	Seen     *EventRecord
	Invoice  *Invoice
	Company  *Company
	Ref      *PaymentRef
	FeedHead int64
}

// PaymentCommit is everything one event changes, written at once.
type PaymentCommit struct {
	Event    EventRecord
	Invoice  *Invoice
	Ref      *PaymentRef
	FeedHead int64
	Feed     []FeedEntry
}
