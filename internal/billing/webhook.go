package billing

import (
	"slices"
	"time"
)

// Stripe event types the service acts on (Connect events: the connected
// account is the event's account). Others are acknowledged and ignored.
const (
	EventCheckoutCompleted   = "checkout.session.completed"
	EventAsyncSucceeded      = "checkout.session.async_payment_succeeded"
	EventAsyncFailed         = "checkout.session.async_payment_failed"
	EventChargeRefunded      = "charge.refunded"
	EventChargeRefundUpdated = "charge.refund.updated"
	EventDisputeCreated      = "charge.dispute.created"
	EventDisputeUpdated      = "charge.dispute.updated"
	EventDisputeClosed       = "charge.dispute.closed"
	EventAccountUpdated      = "account.updated"
	EventAccountDeauthorized = "account.application.deauthorized"
)

// HandledEventTypes are the types to select on the Stripe webhook endpoint,
// exactly the ones the service handles (the README lists the same).
var HandledEventTypes = []string{
	EventCheckoutCompleted, EventAsyncSucceeded, EventAsyncFailed,
	EventChargeRefunded, EventChargeRefundUpdated,
	EventDisputeCreated, EventDisputeUpdated, EventDisputeClosed,
	EventAccountUpdated, EventAccountDeauthorized,
}

// WebhookEvent is a verified Stripe event, as the Stripe adapter reads it.
type WebhookEvent struct {
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
	// Account is what account.updated says of the connected account.
	Account *StripeAccount
}

func (ev *WebhookEvent) isSessionEvent() bool {
	switch ev.Type {
	case EventCheckoutCompleted, EventAsyncSucceeded, EventAsyncFailed:
		return true
	}
	return false
}

func (ev *WebhookEvent) isAccountEvent() bool {
	return ev.Type == EventAccountUpdated || ev.Type == EventAccountDeauthorized
}

func handled(eventType string) bool { return slices.Contains(HandledEventTypes, eventType) }

// paymentKey identifies the payment an event is about: its PaymentIntent,
// or the Checkout Session while Stripe has not given one.
func (ev *WebhookEvent) paymentKey() string {
	if ev.Facts.PaymentIntentID != "" {
		return ev.Facts.PaymentIntentID
	}
	return ev.Facts.SessionID
}

// checkShape says why the event can't be a true Stripe event of its type
// (amounts and currencies a payment must have), or "".
func (ev *WebhookEvent) checkShape() string {
	f := ev.Facts
	switch {
	case ev.isSessionEvent() || (f.ChargeID != "" && f.Dispute == nil && f.Refund == nil):
		// A session's total and a charge's amount: a payment of nothing
		// does not exist.
		if f.Amount <= 0 || (f.SourceCurrency != "" && f.SourceAmount <= 0) {
			return RejectInvalidAmount
		}
		if !isCurrencyCode(f.Currency) || (f.SourceCurrency != "" && !isCurrencyCode(f.SourceCurrency)) {
			return RejectInvalidCurrency
		}
	case f.Refund != nil || f.Dispute != nil:
		if !isCurrencyCode(f.Currency) {
			return RejectInvalidCurrency
		}
	}
	return ""
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
	// OutcomeRejected: a signed event whose content can't be true (see
	// Reject*); it is recorded and counted, never applied, and answered 2xx
	// so Stripe stops delivering it.
	OutcomeRejected EventOutcome = "rejected"
)

// EventResult is the outcome of an event and, when it was not applied, why.
type EventResult struct {
	Outcome EventOutcome
	Reason  string
}

// Reasons an event is ignored.
const (
	IgnoredNotHandled      = "event_type_not_handled"
	IgnoredUnknownInvoice  = "unknown_invoice"
	IgnoredUnknownLink     = "unknown_link"
	IgnoredAccountMismatch = "account_mismatch"
	IgnoredOtherInvoice    = "payment_of_another_invoice"
	IgnoredNoPayment       = "no_payment"
	IgnoredUnknownAccount  = "unknown_account"
	IgnoredStale           = "stale_event"
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
// that arrive before the payment itself wait in Pending; such a reference
// expires (the store gives it a TTL) if its payment never comes.
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
	// AccountOwner: also read which company holds AccountID, and that
	// company.
	AccountOwner bool
}

// EventState is what handling an event starts from.
type EventState struct {
	Seen     *EventRecord
	Invoice  *Invoice
	Company  *Company
	Ref      *PaymentRef
	FeedHead int64
}

// EventCommit is everything one event changes, written at once.
type EventCommit struct {
	Event    EventRecord
	Invoice  *Invoice
	Company  *Company
	Ref      *PaymentRef
	FeedHead int64
	Feed     []FeedEntry
}
