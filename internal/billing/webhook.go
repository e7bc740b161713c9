package billing

import (
	"context"
	"errors"
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
	EventReaderActionSucceeded, EventReaderActionFailed, EventIntentCapturable, EventIntentSucceeded, EventIntentFailed, EventIntentCanceled,
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
	// Livemode: the event is of Stripe's live mode (false: test mode).
	Livemode bool
	// Terminal is what a terminal.reader.* or payment_intent.* event says;
	// nil for other events.
	Terminal *TerminalFacts
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

// isRefundEvent: an event about a charge's refunds, whose truth is read
// from Stripe (the event itself may not carry it).
func (ev *WebhookEvent) isRefundEvent() bool {
	return ev.Type == EventChargeRefunded || ev.Type == EventChargeRefundUpdated
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
		// An amount no refund can have is refused before Stripe is asked.
		if r := f.Refund; r != nil && (r.Amount <= 0 || r.Amount > MaxStripeAmount) {
			return RejectInvalidAmount
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
	// IgnoredOtherMode: a live event at a test stack or a test event at a
	// live one (a Connect endpoint receives both modes' events).
	IgnoredOtherMode = "livemode_mismatch"
	// IgnoredUnknownCharge: Stripe has no such charge on the event's
	// account, so its refunds can't be read (and can't be ours).
	IgnoredUnknownCharge = "unknown_charge"
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
	Seen    *EventRecord
	Invoice *Invoice
	Company *Company
	Ref     *PaymentRef
}

// EventCommit is everything one event changes, written at once.
type EventCommit struct {
	Event   EventRecord
	Invoice *Invoice
	Company *Company
	Ref     *PaymentRef
	Feed    []FeedEntry
}

// HandleEvent applies a verified Stripe event exactly once: the event's
// record and everything it changes (the invoice, the payment's reference,
// the feed entries, or the company) are written in one conditional
// transaction, so a second delivery (even a concurrent one) finds the record
// and changes nothing. It returns an error only for failures worth a retry
// by Stripe.
func (s *Service) HandleEvent(ctx context.Context, ev *WebhookEvent) (EventResult, error) {
	if !handled(ev.Type) {
		return EventResult{Outcome: OutcomeIgnored, Reason: IgnoredNotHandled}, nil
	}
	if ev.Livemode != s.livemode {
		// Test money must never move a live invoice, nor live money a
		// test one; nothing is recorded, as for a type not handled.
		return EventResult{Outcome: OutcomeIgnored, Reason: IgnoredOtherMode}, nil
	}
	apply := s.applyPaymentEvent
	if ev.isAccountEvent() {
		apply = s.applyAccountEvent
	} else if ev.isTerminalEvent() {
		apply = s.applyTerminalEvent
	}
	return recordEvent(ctx, func() (EventResult, error) { return apply(ctx, ev) })
}

// applyPaymentEvent applies a Checkout Session's, a refund's or a
// dispute's event to its invoice's payment.
func (s *Service) applyPaymentEvent(ctx context.Context, ev *WebhookEvent) (EventResult, error) {
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, CompanyID: ev.CompanyID, InvoiceID: ev.InvoiceID, ReceivedAt: now}
	if reason := ev.checkShape(); reason != "" {
		rec.CompanyID, rec.InvoiceID = "", ""
		return s.reject(ctx, rec, reason)
	}
	if ev.paymentKey() == "" {
		return s.ignore(ctx, rec, IgnoredNoPayment)
	}
	st, res, done, err := s.paymentEventState(ctx, ev, &rec, now)
	if done {
		return res, err
	}
	inv := st.Invoice
	if inv == nil {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	var link *Link
	if ev.isSessionEvent() {
		if link, res, done, err = s.sessionLink(ctx, ev, rec, inv, st.Company); done {
			return res, err
		}
	}
	return s.applyPayment(ctx, ev, rec, st, link, now)
}

// paymentEventState reads what a payment event is decided on: the event's
// record (a duplicate is answered here), the payment's reference and the
// invoice it names (the event's own for a session event, the reference's
// for a refund or a dispute). done reports the event handled (or failed)
// here; rec is given the invoice found.
func (s *Service) paymentEventState(ctx context.Context, ev *WebhookEvent, rec *EventRecord, now time.Time) (*EventState, EventResult, bool, error) {
	keys := EventKeys{EventID: ev.ID, AccountID: ev.AccountID, PaymentIntentID: ev.Facts.PaymentIntentID}
	if ev.isSessionEvent() {
		if !ValidID(ev.CompanyID) || !ValidID(ev.InvoiceID) {
			rec.CompanyID, rec.InvoiceID = "", ""
			res, err := s.ignore(ctx, *rec, IgnoredUnknownInvoice)
			return nil, res, true, err
		}
		keys.CompanyID, keys.InvoiceID = ev.CompanyID, ev.InvoiceID
	}
	st, err := s.store.LoadEventState(ctx, keys)
	if err != nil {
		return nil, EventResult{}, true, err
	}
	if st.Seen != nil {
		res, err := s.duplicate(ctx, st.Seen)
		return nil, res, true, err
	}
	if ev.isRefundEvent() && !ev.Facts.RefundsRead {
		if res, done, err := s.readRefunds(ctx, ev, *rec); done {
			return nil, res, true, err
		}
	}
	ref := st.Ref
	if ev.isSessionEvent() {
		if ref != nil && ref.InvoiceID != "" && (ref.CompanyID != ev.CompanyID || ref.InvoiceID != ev.InvoiceID) {
			res, err := s.ignore(ctx, *rec, IgnoredOtherInvoice)
			return nil, res, true, err
		}
		return st, EventResult{}, false, nil
	}
	// A refund or a dispute names only the PaymentIntent; its reference
	// says which invoice it belongs to, once the payment was seen.
	if ref == nil || ref.InvoiceID == "" {
		res, err := s.keepPending(ctx, *rec, ev, ref, now)
		return nil, res, true, err
	}
	keys.CompanyID, keys.InvoiceID = ref.CompanyID, ref.InvoiceID
	rec.CompanyID, rec.InvoiceID = ref.CompanyID, ref.InvoiceID
	if st, err = s.store.LoadEventState(ctx, keys); err != nil {
		return nil, EventResult{}, true, err
	}
	if st.Seen != nil {
		res, err := s.duplicate(ctx, st.Seen)
		return nil, res, true, err
	}
	return st, EventResult{}, false, nil
}

// sessionLink is the link a session event says was paid. The metadata must
// name a link we made, on the account the event comes from: a clinic's own
// integration can't move another tenant's balance by copying our
// metadata. done reports the event handled (or failed) here.
func (s *Service) sessionLink(ctx context.Context, ev *WebhookEvent, rec EventRecord, inv *Invoice, company *Company) (*Link, EventResult, bool, error) {
	if l := inv.Lease; l != nil && l.Change != nil && l.Change.Make != nil && l.Change.Make.Generation == ev.Generation &&
		inv.link(ev.Generation) == nil {
		// Paid through the link a request was making when it died
		// (it may have e-mailed it first): finish that change, then
		// decide again. A live lease is a request at work: Stripe
		// delivers again.
		if _, _, _, err := s.settle(ctx, inv, company); err != nil {
			return nil, EventResult{}, true, err
		}
		return nil, EventResult{}, true, errRetry
	}
	link := inv.link(ev.Generation)
	if link == nil || link.ID != ev.Facts.LinkID {
		res, err := s.ignore(ctx, rec, IgnoredUnknownLink)
		return nil, res, true, err
	}
	if link.AccountID != ev.AccountID {
		res, err := s.ignore(ctx, rec, IgnoredAccountMismatch)
		return nil, res, true, err
	}
	return link, EventResult{}, false, nil
}

// applyPayment folds the event into the invoice's payment and writes it,
// with the event's record, the payment's reference and the feed entries,
// in one transaction; then it does what the payment leaves to do.
func (s *Service) applyPayment(ctx context.Context, ev *WebhookEvent, rec EventRecord, st *EventState, link *Link, now time.Time) (EventResult, error) {
	ref := st.Ref
	next := cloneInvoice(st.Invoice)
	var pending *Payment
	if ref != nil {
		pending = ref.Pending
	}
	feed, reason := next.recordPayment(ev, link, pending, now)
	if reason != "" {
		return s.reject(ctx, rec, reason)
	}
	next.oweReceipts(feed, st.Company, now)
	next.owePaidNotices(now)
	next.Version++
	next.UpdatedAt = now
	commit := &EventCommit{Event: rec, Invoice: next, Feed: feed}
	commit.Event.Outcome = OutcomeApplied
	if pi := ev.Facts.PaymentIntentID; pi != "" && (ref == nil || ref.InvoiceID == "" || ref.Pending != nil) {
		commit.Ref = &PaymentRef{AccountID: ev.AccountID, PaymentIntentID: pi, CompanyID: next.CompanyID, InvoiceID: next.ID, Version: 1}
		if ref != nil {
			commit.Ref.Version = ref.Version + 1
		}
	}
	if err := s.store.CommitEvent(ctx, commit); err != nil {
		return EventResult{}, err
	}
	s.countFeed(ctx, feed)
	// A payment through one link leaves no other link payable. If that
	// can't be done now, the delivery fails so Stripe delivers it again;
	// the redelivery (a duplicate) finishes it.
	if err := s.followUp(ctx, next, st.Company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

// countFeed counts the business events among a payment's feed entries.
func (s *Service) countFeed(ctx context.Context, feed []FeedEntry) {
	for _, e := range feed {
		switch e.Kind {
		case KindPaymentSucceeded:
			s.metrics.Count(ctx, MetricPaymentsRecorded, 1)
		case KindRefund:
			s.metrics.Count(ctx, MetricRefundsRecorded, 1)
		case KindDisputeOpened:
			s.metrics.Count(ctx, MetricDisputesOpened, 1)
		case KindPaymentNeedsReview:
			s.metrics.Count(ctx, MetricPaymentsNeedingReview, 1)
		}
	}
}

// readRefunds asks Stripe for the charge's refunds, on the event's
// connected account: since API 2022-11-15 charge.refunded carries only the
// running total, and each refund's fate comes apart, in any order; the
// list as Stripe holds it now is the same whichever event asks. A failed
// read fails the delivery (Stripe delivers again), never a guess; a charge
// Stripe does not have on that account is ignored. done reports the
// event handled (or failed) here.
func (s *Service) readRefunds(ctx context.Context, ev *WebhookEvent, rec EventRecord) (EventResult, bool, error) {
	refunds, err := s.payments.Refunds(ctx, ev.AccountID, ev.Facts.ChargeID, ev.Facts.PaymentIntentID)
	switch {
	case errors.Is(err, ErrUnknownCharge):
		res, err := s.ignore(ctx, rec, IgnoredUnknownCharge)
		return res, true, err
	case err != nil:
		return EventResult{}, true, &Error{Code: CodeUnavailable, Message: "Stripe's refunds of the charge could not be read; deliver again later",
			RetryAfter: 2 * time.Second, Err: err}
	}
	ev.Facts.Refunds, ev.Facts.RefundsRead = refunds, true
	return EventResult{}, false, nil
}

// keepPending stores a refund's or a dispute's facts on the payment's
// reference until the payment itself is seen.
func (s *Service) keepPending(ctx context.Context, rec EventRecord, ev *WebhookEvent, ref *PaymentRef, now time.Time) (EventResult, error) {
	if ev.Facts.PaymentIntentID == "" {
		return s.ignore(ctx, rec, IgnoredNoPayment)
	}
	next := &PaymentRef{AccountID: ev.AccountID, PaymentIntentID: ev.Facts.PaymentIntentID, Pending: &Payment{}, Version: 1}
	if ref != nil {
		next.Version = ref.Version + 1
		if ref.Pending != nil {
			p := clonePayment(ref.Pending)
			next.Pending = &p
		}
	}
	if reason := next.Pending.checkFacts(ev.Facts); reason != "" {
		return s.reject(ctx, rec, reason)
	}
	next.Pending.merge(ev.Facts, ev.Created, now)
	rec.Outcome = OutcomePending
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec, Ref: next}); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomePending}, nil
}

// ignore records an event that must not be applied.
func (s *Service) ignore(ctx context.Context, rec EventRecord, reason string) (EventResult, error) {
	rec.Outcome, rec.Reason = OutcomeIgnored, reason
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec}); err != nil {
		return EventResult{}, err
	}
	s.metrics.Count(ctx, MetricWebhookEventsIgnored, 1)
	return EventResult{Outcome: OutcomeIgnored, Reason: reason}, nil
}

// reject records a signed event whose content can't be true (see
// Reject*): it is never applied, and Stripe is told it was received so it
// stops delivering it; the metric's alarm asks someone to look.
func (s *Service) reject(ctx context.Context, rec EventRecord, reason string) (EventResult, error) {
	rec.Outcome, rec.Reason = OutcomeRejected, reason
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec}); err != nil {
		return EventResult{}, err
	}
	s.metrics.Count(ctx, MetricWebhookEventsRejected, 1)
	return EventResult{Outcome: OutcomeRejected, Reason: reason}, nil
}

// duplicate answers a second delivery. If the first one's follow-up (ending
// another link) did not finish, this is the moment to finish it.
func (s *Service) duplicate(ctx context.Context, seen *EventRecord) (EventResult, error) {
	return s.duplicateThen(ctx, seen, s.followUp)
}

// duplicateThen answers a second delivery of an applied event by running
// follow (the first delivery's follow-up) again on the invoice as stored:
// a follow-up that died is finished by Stripe's redelivery.
func (s *Service) duplicateThen(ctx context.Context, seen *EventRecord, follow func(context.Context, *Invoice, *Company) error) (EventResult, error) {
	if seen.Outcome != OutcomeApplied || seen.InvoiceID == "" {
		return EventResult{Outcome: OutcomeDuplicate}, nil
	}
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, seen.CompanyID, seen.InvoiceID)
	if err != nil {
		return EventResult{}, err
	}
	if err := follow(ctx, inv, company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeDuplicate}, nil
}

// followUp finishes what a recorded event leaves to do: a half-done link
// change on the invoice, and ending a link that no longer asks for what is
// due. It fails (so Stripe redelivers) while another request holds the
// invoice, since that request may have died.
func (s *Service) followUp(ctx context.Context, inv *Invoice, company *Company) error {
	if inv.needsReconcile() || inv.Lease != nil {
		var err error
		if inv, _, _, err = s.settle(ctx, inv, company); err != nil {
			return err
		}
		if inv, err = s.reconcileLink(ctx, inv, company); err != nil {
			return err
		}
		if inv.needsReconcile() {
			return conflictError()
		}
	}
	// The receipt leaves now; if it can't, the outbox keeps it and the
	// scheduler sends it: Stripe need not deliver the event again for it.
	// So does a paid link's message.
	if len(inv.Outbox) > 0 {
		stored, err := s.deliverOutbox(ctx, inv, company, s.clock())
		if err != nil {
			s.metrics.Count(ctx, MetricEmailsDeferred, 1)
		}
		if stored != nil {
			inv = stored
		}
	}
	s.noticePaidLinks(ctx, inv, company, s.clock())
	return nil
}

// oweReceipts puts in the outbox a receipt for each payment the event made
// succeed, when the clinic sends receipts: in the same write as the
// payment, so it is owed exactly once.
func (inv *Invoice) oweReceipts(feed []FeedEntry, c *Company, now time.Time) {
	if c == nil || !c.SendReceipts {
		return
	}
	for _, e := range feed {
		if e.Kind != KindPaymentSucceeded || e.PaymentIntentID == "" {
			continue
		}
		if key := "receipt-" + e.PaymentIntentID; !inv.owes(key) {
			inv.Outbox = append(inv.Outbox, Outbound{Key: key, Kind: EmailReceipt, PaymentIntentID: e.PaymentIntentID, CreatedAt: now})
		}
	}
}
