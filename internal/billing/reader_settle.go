package billing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An attempt whose events were lost (Stripe gave up on a webhook, an
// endpoint was down for days) would hold the invoice and the reader, and
// an authorization left uncaptured lapses after Stripe's 2 days. So the
// scheduler looks at an attempt with no news for ReaderQuiet: it reads the
// PaymentIntent and the reader as Stripe holds them now and applies them
// as the event would have (applyTerminalEvent: the same rules, the same
// one write, the same follow-up). Its reading has an id of its own, so
// working the same message twice is a duplicate. A reader left waiting
// for a card past ReaderWaitLimit is canceled, as staff would.

// ReaderQuiet is how long an attempt may go without news before the
// scheduler asks Stripe how it stands.
const ReaderQuiet = 5 * time.Minute

// ReaderWaitLimit is how long a reader may wait for a card before the
// scheduler ends the attempt (reason timed_out), as staff would cancel
// it. A patient at the desk presents a card within a minute or two; a
// reader still asking after 15 minutes is one the patient walked away
// from, and meanwhile it holds the reader and the invoice (no link, no
// change to its amounts). 15 minutes is three quiet periods, so a
// patient fumbling for a second card is not cut off, while the desk gets
// its reader back at the scheduler's first run past the limit.
const ReaderWaitLimit = 15 * time.Minute

// AuthorizationLimit bounds how long the scheduler waits on a request
// that holds an attempt: an authorization is decided well before Stripe
// lets it lapse (2 days), whatever else is at work.
const AuthorizationLimit = 24 * time.Hour

// checkAt is when the scheduler should ask Stripe about the attempt:
// ReaderQuiet after its last news, while it holds the invoice or owes
// Stripe a capture or a cancel; zero otherwise.
func (a *ReaderAttempt) checkAt() time.Time {
	if !a.InProgress() && a.Owed == "" {
		return time.Time{}
	}
	return a.UpdatedAt.Add(ReaderQuiet)
}

// readerCheckAt is the first checkAt of the invoice's attempts: the last
// one, and an earlier one still owing Stripe a call (a new attempt may
// start while an ended one's cancel waits on an outage).
func (inv *Invoice) readerCheckAt() time.Time {
	var first time.Time
	for i := range inv.ReaderAttempts {
		if at := inv.ReaderAttempts[i].checkAt(); !at.IsZero() && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first
}

// settleReader settles the invoice's attempts gone quiet at now, from
// what Stripe says of them; the last one, with nothing new, is marked
// looked at, so the next look is ReaderQuiet later.
func (s *Service) settleReader(ctx context.Context, it WorkItem, now time.Time) error {
	inv, err := s.store.GetInvoice(ctx, it.CompanyID, it.InvoiceID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeError("read invoice", err)
	}
	last := len(inv.ReaderAttempts) - 1
	for i := range last {
		if a := inv.ReaderAttempts[i]; a.Owed != "" && !a.checkAt().After(now) {
			if _, err := s.applyNews(ctx, &a); err != nil {
				return err
			}
		}
	}
	a := inv.ReaderPayment()
	if a == nil || a.checkAt().IsZero() || a.checkAt().After(now) {
		return nil
	}
	if a.Status == ReaderStarting && a.Until.After(s.clock()) && now.Sub(a.CreatedAt) < AuthorizationLimit {
		return nil // a request at work on it
	}
	applied, err := s.applyNews(ctx, a)
	switch {
	case err != nil:
		return err
	case !applied && a.waitedOut(now):
		return s.endWait(ctx, it, inv, a, now)
	}
	return s.markLookedAt(ctx, it, a.ID, now)
}

// applyNews applies what Stripe says of the attempt now, as its event
// would (the same rules, write and follow-up: an owed capture or cancel
// is tried again); false when Stripe says nothing new.
func (s *Service) applyNews(ctx context.Context, a *ReaderAttempt) (bool, error) {
	if a.PaymentIntentID == "" {
		return false, nil
	}
	ev, err := s.readerNews(ctx, a)
	if err != nil || ev == nil {
		return false, err
	}
	_, err = recordEvent(ctx, func() (EventResult, error) { return s.applyTerminalEvent(ctx, ev) })
	return true, err
}

// waitedOut reports a reader that has waited for a card for
// ReaderWaitLimit at now.
func (a *ReaderAttempt) waitedOut(now time.Time) bool {
	sent := a.SentAt
	if sent.IsZero() {
		sent = a.CreatedAt // recorded before SentAt was kept
	}
	return a.Status == ReaderWaiting && !now.Before(sent.Add(ReaderWaitLimit))
}

// endWait cancels an attempt whose reader waited for a card too long,
// as staff would (the reader's action, then the PaymentIntent), reason
// timed_out. A card presented meanwhile is honoured as for staff: Stripe
// refuses the cancel, and the attempt is looked at again later; so is one
// Stripe refuses to cancel for another reason (an account disconnected
// meanwhile), rather than holding up the invoice's other work.
func (s *Service) endWait(ctx context.Context, it WorkItem, inv *Invoice, a *ReaderAttempt, now time.Time) error {
	_, err := s.cancelAttempt(ctx, inv, *a, ReasonTimedOut)
	if err != nil && (ErrorCode(err) == CodeReaderPaymentCompleting || !transient(err)) {
		return s.markLookedAt(ctx, it, a.ID, now)
	}
	return err
}

// readerNews is what Stripe says of the attempt now, as the event that
// would have said it (nil: nothing new, the reader still waits for the
// card or the payment is processing).
func (s *Service) readerNews(ctx context.Context, a *ReaderAttempt) (*WebhookEvent, error) {
	pi, err := s.terminal.ReaderPaymentIntent(ctx, a.AccountID, a.PaymentIntentID)
	if errors.Is(err, ErrUnknownCharge) {
		return nil, nil // not on the attempt's account: nothing to apply
	}
	if err != nil {
		return nil, fmt.Errorf("read the reader's PaymentIntent: %w", err)
	}
	facts := &TerminalFacts{Intent: pi}
	typ := endEvent(pi.Status)
	switch pi.Status {
	case "succeeded", "canceled":
	case "requires_capture":
		typ = EventIntentCapturable
	case "requires_payment_method":
		declined, r, err := s.readerDeclined(ctx, a)
		if err != nil || !declined {
			return nil, err
		}
		typ, facts.Reader = EventReaderActionFailed, r
	default:
		return nil, nil
	}
	id := fmt.Sprintf("settle_%s_%d_%d_%s", pi.ID, a.Number, a.Tries, pi.Status)
	return &WebhookEvent{ID: id, Type: typ, AccountID: a.AccountID, Created: s.clock(), Terminal: facts}, nil
}

// endEvent is the event of a PaymentIntent that ended (succeeded,
// canceled), "" for one that did not.
func endEvent(status string) string {
	switch status {
	case "succeeded":
		return EventIntentSucceeded
	case "canceled":
		return EventIntentCanceled
	}
	return ""
}

// readerDeclined reports a PaymentIntent still waiting for a card whose
// reader is no longer taking it: its action failed (the reader, with that
// action, is returned for the decline's code), or, for an attempt that
// reached the reader, it moved on. A reader still taking it is no news.
func (s *Service) readerDeclined(ctx context.Context, a *ReaderAttempt) (bool, *TerminalReader, error) {
	r, err := s.terminal.Reader(ctx, a.AccountID, a.ReaderID)
	switch {
	case errors.Is(err, ErrUnknownReader):
		return a.Status == ReaderWaiting, nil, nil
	case err != nil:
		return false, nil, fmt.Errorf("read the reader: %w", err)
	}
	act := r.Action
	if act != nil && act.Type == ReaderActionProcessPayment && act.PaymentIntentID == a.PaymentIntentID {
		if act.Status == "failed" {
			return true, r, nil
		}
		return false, nil, nil // in progress, or succeeded and the PaymentIntent catching up
	}
	return a.Status == ReaderWaiting, nil, nil
}

// markLookedAt moves the attempt's next look ReaderQuiet on when it is
// still due at now (nothing new was applied).
func (s *Service) markLookedAt(ctx context.Context, it WorkItem, id string, now time.Time) error {
	inv, err := s.store.GetInvoice(ctx, it.CompanyID, it.InvoiceID)
	if err != nil {
		return storeError("read invoice", err)
	}
	_, err = s.updateAttempt(ctx, inv, id, func(a *ReaderAttempt) error {
		if a.UpdatedAt.Add(ReaderQuiet).After(now) || (!a.InProgress() && a.Owed == "") {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// Reasons of an attempt whose owed call Stripe refused for good.
const (
	ReasonCaptureRefused = "capture_refused"
	ReasonCancelRefused  = "cancel_refused"
)

// owedRefused settles an attempt whose owed capture or cancel Stripe
// refused for good (a refusal that will never succeed: Stripe keeps it
// under the call's key). The PaymentIntent is read, and what it says is
// applied as its event would be: succeeded, the payment is recorded;
// canceled (an authorization Stripe let lapse, a cancel in the
// Dashboard), the attempt is canceled with Stripe's reason. Anything else
// is given up on (giveUp). It reports false when there is nothing to
// settle yet (processing: looked at again later).
func (s *Service) owedRefused(ctx context.Context, inv *Invoice, company *Company, a ReaderAttempt) (bool, error) {
	pi, err := s.terminal.ReaderPaymentIntent(ctx, a.AccountID, a.PaymentIntentID)
	switch {
	case transient(err):
		return true, fmt.Errorf("read the refused PaymentIntent: %w", err)
	case err != nil:
		return true, s.giveUp(ctx, inv, company, a, nil) // not on the account any more
	}
	typ := endEvent(pi.Status)
	switch {
	case pi.Status == "processing":
		return false, nil
	case typ == "":
		return true, s.giveUp(ctx, inv, company, a, pi)
	}
	ev := &WebhookEvent{ID: fmt.Sprintf("refused_%s_%d_%s", pi.ID, a.Number, pi.Status), Type: typ, AccountID: a.AccountID,
		Created: s.clock(), Terminal: &TerminalFacts{Intent: pi}}
	_, err = recordEvent(ctx, func() (EventResult, error) { return s.applyTerminalEvent(ctx, ev) })
	return true, err
}

// giveUp records an owed call Stripe refused for good while the
// PaymentIntent is neither succeeded nor canceled: the attempt fails
// (capture_refused, cancel_refused), the reader is freed, and staff are
// told (the attempt on the invoice; ReaderPaymentsNeedingReview, with an
// alarm). An authorization whose capture was refused is canceled next,
// so the patient's hold is released now, not left to lapse at Stripe;
// if that is refused too, nothing more is asked of Stripe (the
// authorization lapses uncaptured).
func (s *Service) giveUp(ctx context.Context, inv *Invoice, company *Company, a ReaderAttempt, pi *ReaderPaymentIntent) error {
	reason := ReasonCaptureRefused
	if a.Owed == owedCancel {
		reason = ReasonCancelRefused
	}
	var first bool
	stored, err := s.updateAttempt(ctx, inv, a.ID, func(x *ReaderAttempt) error {
		first = false
		if x.Owed != a.Owed {
			return errNoChange // settled meanwhile, by its own follow-up
		}
		if x.Status != ReaderFailed {
			x.Status, x.Reason, first = ReaderFailed, reason, true
		}
		x.Owed = ""
		if a.Owed == owedCapture && pi != nil && pi.Status == "requires_capture" {
			x.Owed = owedCancel
		}
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return nil
	case err != nil:
		return err
	}
	if first {
		s.metrics.Count(ctx, MetricReaderPaymentsNeedingReview, 1)
	}
	return s.terminalFollowUp(ctx, stored, company)
}
