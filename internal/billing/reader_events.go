package billing

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"
)

// Stripe Terminal's events, and the PaymentIntent events of a reader's
// payment (Connect events: the clinic's account is the event's account).
const (
	EventReaderActionSucceeded = "terminal.reader.action_succeeded"
	EventReaderActionFailed    = "terminal.reader.action_failed"
	EventIntentCapturable      = "payment_intent.amount_capturable_updated"
	EventIntentSucceeded       = "payment_intent.succeeded"
	EventIntentFailed          = "payment_intent.payment_failed"
	EventIntentCanceled        = "payment_intent.canceled"
)

// Reasons a Terminal event is ignored.
const (
	// IgnoredNotReaderPayment: a PaymentIntent no reader attempt made (a
	// link's, or the clinic's own integration's).
	IgnoredNotReaderPayment = "not_reader_payment"
	// IgnoredUnknownReaderPayment: the invoice has no attempt with that
	// PaymentIntent.
	IgnoredUnknownReaderPayment = "unknown_reader_payment"
)

func (ev *WebhookEvent) isTerminalEvent() bool {
	return strings.HasPrefix(ev.Type, "terminal.reader.") || strings.HasPrefix(ev.Type, "payment_intent.")
}

// readerFacts is what a Terminal event tells of one attempt: the
// PaymentIntent (as the event carries it, or as Stripe holds it now for a
// reader's event, which names it only) and the reader's action.
type readerFacts struct {
	intent *ReaderPaymentIntent
	action *ReaderAction
}

// applyTerminalEvent applies a reader's or its PaymentIntent's event
// exactly once, as applyPaymentEvent does a link's: the event's record,
// the attempt, the payment and the feed in one conditional write. What
// the decision owes Stripe (a capture, a cancel) and the reader's release
// follow, and are done again on a redelivery until they are.
func (s *Service) applyTerminalEvent(ctx context.Context, ev *WebhookEvent) (EventResult, error) {
	if act := refundAction(ev); act != nil {
		return s.applyRefundAction(ctx, ev, act) // reader_refund_events.go
	}
	if ev.Terminal != nil && ev.Terminal.Intent != nil && ev.Terminal.Intent.Metadata[MetaAttempt] == "" {
		// Every online payment's PaymentIntent sends these events too:
		// nothing of ours, decided without a read or a write, as an
		// event type not handled is.
		return EventResult{Outcome: OutcomeIgnored, Reason: IgnoredNotReaderPayment}, nil
	}
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, ReceivedAt: now}
	st, err := s.store.LoadEventState(ctx, EventKeys{EventID: ev.ID})
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.terminalDuplicate(ctx, st.Seen)
	}
	facts, reason, err := s.terminalFacts(ctx, ev)
	if err != nil {
		return EventResult{}, err
	}
	if reason != "" {
		return s.ignore(ctx, rec, reason)
	}
	pi := facts.intent.ID
	companyID, invoiceID := facts.intent.Metadata[MetaCompanyID], facts.intent.Metadata[MetaInvoiceID]
	if !ValidID(companyID) || !ValidID(invoiceID) {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	rec.CompanyID, rec.InvoiceID = companyID, invoiceID
	st, err = s.store.LoadEventState(ctx, EventKeys{EventID: ev.ID, CompanyID: companyID, InvoiceID: invoiceID, AccountID: ev.AccountID, PaymentIntentID: pi})
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.terminalDuplicate(ctx, st.Seen)
	}
	inv := st.Invoice
	if inv == nil {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	a := inv.attemptOfIntent(pi)
	switch {
	case a == nil:
		return s.ignore(ctx, rec, IgnoredUnknownReaderPayment)
	case a.AccountID != ev.AccountID:
		// Not the clinic's account: its events can't move this invoice.
		return s.ignore(ctx, rec, IgnoredAccountMismatch)
	case isDecline(ev, facts) && a.Status == ReaderWaiting && s.readerTakes(ctx, a):
		// The reader waits for a card again: the decline is an earlier
		// try's (the same PaymentIntent, sent again since).
		return s.ignore(ctx, rec, IgnoredStale)
	}
	return s.commitTerminal(ctx, ev, rec, st, a.ID, facts, now)
}

// commitTerminal writes what the event does to the attempt and the
// invoice's money, then carries out what that decided.
func (s *Service) commitTerminal(ctx context.Context, ev *WebhookEvent, rec EventRecord, st *EventState, id string, f readerFacts, now time.Time) (EventResult, error) {
	next := cloneInvoice(st.Invoice)
	var pending *Payment
	if st.Ref != nil {
		pending = st.Ref.Pending
	}
	feed, reason := next.applyReaderFacts(ev, next.attempt(id), f, pending, now)
	switch {
	case reason == IgnoredStale:
		return s.ignore(ctx, rec, reason)
	case reason != "":
		return s.reject(ctx, rec, reason)
	}
	next.oweReceipts(feed, st.Company, now)
	next.Version++
	next.UpdatedAt = now
	commit := &EventCommit{Event: rec, Invoice: next, Feed: feed}
	commit.Event.Outcome = OutcomeApplied
	if ref := st.Ref; len(feed) > 0 && (ref == nil || ref.InvoiceID == "" || ref.Pending != nil) {
		// Refunds and disputes of the payment find the invoice by it.
		commit.Ref = &PaymentRef{AccountID: ev.AccountID, PaymentIntentID: f.intent.ID, CompanyID: next.CompanyID, InvoiceID: next.ID, Version: 1}
		if ref != nil {
			commit.Ref.Version = ref.Version + 1
		}
	}
	if err := s.store.CommitEvent(ctx, commit); err != nil {
		return EventResult{}, err
	}
	for _, e := range feed {
		if e.Kind == KindPaymentSucceeded {
			s.metrics.Count(ctx, MetricPaymentsRecorded, 1)
		}
	}
	if err := s.terminalFollowUp(ctx, next, st.Company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

// terminalFacts reads what the event says, from Stripe for a reader's
// event (it names the PaymentIntent only, and the PaymentIntent as it is
// now is the truth a late or reordered event can't contradict); reason
// says why it is not about a reader's payment.
func (s *Service) terminalFacts(ctx context.Context, ev *WebhookEvent) (readerFacts, string, error) {
	t := ev.Terminal
	if t == nil {
		return readerFacts{}, IgnoredNoPayment, nil
	}
	f := readerFacts{intent: t.Intent}
	if t.Reader != nil {
		f.action = t.Reader.Action
	}
	if f.intent == nil && (f.action == nil || f.action.Type != ReaderActionProcessPayment || f.action.PaymentIntentID == "") {
		return readerFacts{}, IgnoredNoPayment, nil
	}
	// A payment's method (brand, last four) is on its charge, which an
	// event names only: read then.
	if f.intent == nil || (f.intent.Status == "succeeded" && f.intent.Method == nil && f.intent.Metadata[MetaAttempt] != "") {
		id := f.intent.idOr(f.action)
		pi, err := s.terminal.ReaderPaymentIntent(ctx, ev.AccountID, id)
		switch {
		case errors.Is(err, ErrUnknownCharge):
			return readerFacts{}, IgnoredUnknownCharge, nil
		case err != nil:
			return readerFacts{}, "", &Error{Code: CodeUnavailable, Message: "the reader's PaymentIntent could not be read; deliver again later",
				RetryAfter: 2 * time.Second, Err: err}
		}
		f.intent = pi
	}
	if f.intent.ID == "" || f.intent.Metadata[MetaAttempt] == "" {
		return readerFacts{}, IgnoredNotReaderPayment, nil
	}
	return f, "", nil
}

func (pi *ReaderPaymentIntent) idOr(a *ReaderAction) string {
	if pi != nil {
		return pi.ID
	}
	return a.PaymentIntentID
}

// applyReaderFacts moves the attempt on from what Stripe says of its
// PaymentIntent: a payment that succeeded is recorded as a link's is; an
// authorization is captured only while the invoice owes exactly its
// amount, and canceled otherwise; a decline frees the reader for another
// try. A status only moves forward, so the same events in another order
// end the same. It returns the feed entries, or why the event is not
// applied.
func (inv *Invoice) applyReaderFacts(ev *WebhookEvent, a *ReaderAttempt, f readerFacts, pending *Payment, now time.Time) ([]FeedEntry, string) {
	pi := f.intent
	var feed []FeedEntry
	switch pi.Status {
	case "succeeded":
		var reason string
		if feed, reason = inv.recordReaderPayment(ev, pi, pending, now); reason != "" {
			return nil, reason
		}
		a.Status, a.Owed, a.Method = ReaderSucceeded, "", pi.Method
	case "canceled":
		if a.Status != ReaderSucceeded {
			// An attempt that ended already keeps its reason (ours, or a
			// refusal's given up on); else Stripe's is the reason.
			if a.Status != ReaderCanceled && a.Status != ReaderFailed {
				a.Status, a.Reason = ReaderCanceled, cmp.Or(pi.CancellationReason, "canceled")
			}
			a.Owed = ""
		}
	case "requires_capture":
		if a.Status == ReaderStarting || a.Status == ReaderWaiting || a.Status == ReaderDeclined {
			inv.decideCapture(a, pi)
		}
	case "requires_payment_method":
		if !isDecline(ev, f) || (a.Status != ReaderWaiting && a.Status != ReaderStarting) {
			break
		}
		if ev.Created.Before(a.CreatedAt.Truncate(time.Second)) {
			return nil, IgnoredStale // an earlier attempt's try, with the same PaymentIntent
		}
		a.Status, a.Reason, a.Until = ReaderDeclined, declineCode(f), time.Time{}
	}
	a.UpdatedAt = now
	return feed, ""
}

// isDecline: the event says a card was declined (or the patient canceled
// at the reader) and the PaymentIntent waits for another.
func isDecline(ev *WebhookEvent, f readerFacts) bool {
	return (ev.Type == EventReaderActionFailed || ev.Type == EventIntentFailed) && f.intent.Status == "requires_payment_method"
}

// declineCode is Stripe's failure_code of the reader's action, else the
// PaymentIntent's last error.
func declineCode(f readerFacts) string {
	if f.action != nil && f.action.FailureCode != "" {
		return f.action.FailureCode
	}
	if f.intent.LastErrorCode != "" {
		return f.intent.LastErrorCode
	}
	return "declined"
}

// decideCapture captures an authorization only if the invoice still owes
// exactly that amount in that currency: otherwise the balance was paid
// another way meanwhile, and the authorization is canceled, so the
// patient is never charged twice.
func (inv *Invoice) decideCapture(a *ReaderAttempt, pi *ReaderPaymentIntent) {
	amount := pi.AmountCapturable
	if amount == 0 {
		amount = pi.Amount
	}
	if reason := inv.captureRefusal(a, amount, pi.Currency); reason != "" {
		a.Status, a.Reason, a.Owed = ReaderCanceled, reason, owedCancel
		return
	}
	a.Status, a.Owed = ReaderCapturing, owedCapture
}

// captureRefusal says why an authorization of amount in currency for the
// attempt must not be captured on the invoice as it is now ("" when it
// may): the balance was paid another way (already_paid), or a link made
// since the attempt was declined may be paid (payment_link_active: never
// both).
func (inv *Invoice) captureRefusal(a *ReaderAttempt, amount int64, currency string) string {
	owes := amount == a.Amount && currency == a.Currency && inv.Currency == a.Currency && inv.BalanceDue == a.Amount && !inv.processing()
	switch {
	case !owes:
		return ReasonAlreadyPaid
	case inv.ActiveLink() != nil:
		return ReasonLinkActive
	}
	return ""
}

// redecide writes again the decision to capture an attempt whose invoice
// no longer owes its amount (a link's payment recorded while Stripe was
// down for the capture): canceled, as decideCapture would decide now,
// before any capture is made. The follow-up then carries it out.
func (s *Service) redecide(ctx context.Context, inv *Invoice, company *Company, id string) error {
	stored, err := s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error {
		a := next.attempt(id)
		if a == nil || a.Owed != owedCapture {
			return errNoChange
		}
		reason := next.captureRefusal(a, a.Amount, a.Currency)
		if reason == "" {
			return errNoChange // it still owes: the capture goes ahead
		}
		a.Status, a.Reason, a.Owed, a.UpdatedAt = ReaderCanceled, reason, owedCancel, s.clock()
		return nil
	})
	if err != nil {
		return err
	}
	return s.terminalFollowUp(ctx, stored, company)
}

// recordReaderPayment records a reader's payment that succeeded, through
// the one path a link's takes (recordPayment: the ledger, the feed), as an
// in-person payment with its method.
func (inv *Invoice) recordReaderPayment(ev *WebhookEvent, pi *ReaderPaymentIntent, pending *Payment, now time.Time) ([]FeedEntry, string) {
	amount := pi.AmountReceived
	if amount == 0 {
		amount = pi.Amount
	}
	if amount <= 0 || amount > MaxStripeAmount {
		return nil, RejectInvalidAmount
	}
	if !isCurrencyCode(pi.Currency) {
		return nil, RejectInvalidCurrency
	}
	if p := inv.payment(pi.ID); p == nil {
		p := Payment{PaymentIntentID: pi.ID, Channel: ChannelInPerson, Amount: amount, Currency: pi.Currency, Method: pi.Method}
		if pi.Currency != inv.Currency {
			p.Review = ReviewCurrencyMismatch
		}
		inv.Payments = append(inv.Payments, p)
	}
	told := *ev
	told.Facts = PaymentFacts{PaymentIntentID: pi.ID, ChargeID: pi.ChargeID, Amount: amount, Currency: pi.Currency, State: PaymentSucceeded}
	return inv.recordPayment(&told, nil, pending, now)
}

// terminalDuplicate answers a second delivery, finishing what the first
// one's follow-up (a capture or cancel owed, the reader to free) left
// undone.
func (s *Service) terminalDuplicate(ctx context.Context, seen *EventRecord) (EventResult, error) {
	return s.duplicateThen(ctx, seen, s.terminalFollowUp)
}

// terminalFollowUp makes the Stripe calls the attempts' decisions owe (a
// capture, a cancel: their own events record the outcome; a capture only
// while the invoice still owes its amount, see redecide), frees the
// reader of an attempt that ended, then does what any recorded payment
// leaves to do (followUp: the receipt, the links). A call that may succeed
// later fails the delivery, so Stripe delivers it again (and the
// scheduler retries it); one Stripe refuses for good is settled from the
// PaymentIntent as Stripe holds it (owedRefused).
func (s *Service) terminalFollowUp(ctx context.Context, inv *Invoice, company *Company) error {
	for _, a := range inv.ReaderAttempts {
		if a.Owed == owedCapture && inv.captureRefusal(&a, a.Amount, a.Currency) != "" {
			// Paid another way since the decision: decided again first.
			return s.redecide(ctx, inv, company, a.ID)
		}
		var err error
		switch a.Owed {
		case owedCapture:
			_, err = s.terminal.CapturePaymentIntent(ctx, a.AccountID, a.PaymentIntentID, a.Amount, readerKey(inv, a.Number, "capture"))
		case owedCancel:
			_, err = s.terminal.CancelPaymentIntent(ctx, a.AccountID, a.PaymentIntentID, readerKey(inv, a.Number, "cancel"))
		}
		if transient(err) {
			return err
		}
		if err != nil {
			// Settled on a fresh invoice, with its own follow-up.
			if settled, err := s.owedRefused(ctx, inv, company, a); settled || err != nil {
				return err
			}
		}
	}
	if a := inv.ReaderPayment(); a != nil && a.ended() {
		if err := s.freeReader(ctx, inv, a.ReaderID); err != nil {
			return err
		}
	}
	return s.followUp(ctx, inv, company)
}
