package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A refund attempt's outcome comes from the reader's events
// (terminal.reader.action_succeeded or _failed with a refund_payment
// action, its metadata naming the attempt); the scheduler asks Stripe for
// the reader's action when they don't come. Neither moves money: the
// refund Stripe made arrives as charge.refunded and charge.refund.updated,
// read from Stripe on the payment's path as any refund.

// IgnoredUnknownReaderRefund: a reader's refund that no refund attempt of
// the invoice asked for (the clinic's own, or the Dashboard's).
const IgnoredUnknownReaderRefund = "unknown_reader_refund"

// refundAction is the refund_payment action a reader's event tells of, or
// nil.
func refundAction(ev *WebhookEvent) *ReaderAction {
	if t := ev.Terminal; t != nil && t.Reader != nil && t.Reader.Action != nil && t.Reader.Action.Type == ReaderActionRefundPayment &&
		(ev.Type == EventReaderActionSucceeded || ev.Type == EventReaderActionFailed) {
		return t.Reader.Action
	}
	return nil
}

// applyRefundAction applies a reader's refund_payment outcome to its
// attempt exactly once: the event's record and the attempt in one
// conditional write; the reader is freed after it (and again on a
// redelivery until it is). The payment is found by its reference on the
// event's account, so another account's event finds nothing.
func (s *Service) applyRefundAction(ctx context.Context, ev *WebhookEvent, act *ReaderAction) (EventResult, error) {
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, ReceivedAt: now}
	keys := EventKeys{EventID: ev.ID, AccountID: ev.AccountID, PaymentIntentID: act.PaymentIntentID}
	st, err := s.store.LoadEventState(ctx, keys)
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.duplicateThen(ctx, st.Seen, s.refundFollowUp)
	}
	if st.Ref == nil || st.Ref.InvoiceID == "" {
		return s.ignore(ctx, rec, IgnoredUnknownCharge) // no payment of ours on that account
	}
	keys.CompanyID, keys.InvoiceID = st.Ref.CompanyID, st.Ref.InvoiceID
	rec.CompanyID, rec.InvoiceID = keys.CompanyID, keys.InvoiceID
	if st, err = s.store.LoadEventState(ctx, keys); err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.duplicateThen(ctx, st.Seen, s.refundFollowUp)
	}
	if st.Invoice == nil {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	r := st.Invoice.refundAttempt(act.Metadata[MetaRefundAttempt])
	switch {
	case r == nil || r.PaymentIntentID != act.PaymentIntentID || r.ReaderID != ev.Terminal.Reader.ID:
		return s.ignore(ctx, rec, IgnoredUnknownReaderRefund)
	case r.AccountID != ev.AccountID:
		return s.ignore(ctx, rec, IgnoredAccountMismatch)
	case !r.InProgress():
		return s.ignore(ctx, rec, IgnoredStale) // decided already: an outcome is final
	}
	next := cloneInvoice(st.Invoice)
	next.refundAttempt(r.ID).decide(act, now)
	next.Version++
	next.UpdatedAt = now
	rec.Outcome = OutcomeApplied
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec, Invoice: next}); err != nil {
		return EventResult{}, err
	}
	if err := s.refundFollowUp(ctx, next, st.Company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

// decide ends the attempt as the reader's action ended; an action still
// in progress only says the reader has it.
func (r *ReaderRefund) decide(act *ReaderAction, now time.Time) {
	switch act.Status {
	case "succeeded":
		r.Status, r.RefundID = ReaderSucceeded, act.RefundID
	case "failed":
		r.Status, r.Reason = ReaderFailed, act.FailureCode
		if r.Reason == "" {
			r.Reason = "failed"
		}
	case "canceled":
		r.Status, r.Reason = ReaderCanceled, "canceled"
	case "in_progress":
		r.Status = ReaderWaiting
	}
	r.Until, r.UpdatedAt = time.Time{}, now
}

// refundFollowUp frees the readers of the refund attempts that ended,
// unless the invoice holds them otherwise.
func (s *Service) refundFollowUp(ctx context.Context, inv *Invoice, _ *Company) error {
	freed := map[string]bool{}
	for _, r := range inv.ReaderRefunds {
		if r.InProgress() || freed[r.ReaderID] {
			continue
		}
		freed[r.ReaderID] = true
		if err := s.freeReader(ctx, inv, r.ReaderID); err != nil {
			return err
		}
	}
	return nil
}

// refundUntold reports a refund the reader made that Stripe's refund
// events have not told of yet (its money is not recorded).
func (inv *Invoice) refundUntold(r *ReaderRefund) bool {
	if r.Status != ReaderSucceeded || r.RefundID == "" {
		return false
	}
	p := inv.payment(r.PaymentIntentID)
	return p != nil && !slices.ContainsFunc(p.Refunds, func(x Refund) bool { return x.ID == r.RefundID })
}

// refundCheckAt is when the scheduler should ask Stripe about a refund
// attempt: ReaderQuiet after its last news (after its lease, for one
// starting), while it is in progress or its refund untold; zero when
// none is.
func (inv *Invoice) refundCheckAt() time.Time {
	var at time.Time
	for i := range inv.ReaderRefunds {
		r := &inv.ReaderRefunds[i]
		if !r.InProgress() && !inv.refundUntold(r) {
			continue
		}
		due := r.UpdatedAt.Add(ReaderQuiet)
		if r.Until.After(due) {
			due = r.Until
		}
		if at.IsZero() || due.Before(at) {
			at = due
		}
	}
	return at
}

// settleRefunds settles the invoice's refund attempts gone quiet at now
// from Stripe: an attempt in progress from the reader's action (ended, it
// is decided as its event would have; still in progress, looked at again
// ReaderQuiet later; gone, canceled elsewhere or never sent, it ends and
// frees the reader); a refund made and untold, from the charge's refunds,
// read and applied as a refund event is.
func (s *Service) settleRefunds(ctx context.Context, it WorkItem, now time.Time) error {
	inv, err := s.store.GetInvoice(ctx, it.CompanyID, it.InvoiceID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeError("read invoice", err)
	}
	for _, r := range inv.ReaderRefunds {
		if r.Until.After(now) || r.UpdatedAt.Add(ReaderQuiet).After(now) {
			continue
		}
		switch {
		case r.InProgress():
			inv, err = s.settleRefundAction(ctx, inv, &r, now)
		case inv.refundUntold(&r):
			inv, err = s.askRefunds(ctx, inv, &r, now)
		}
		if err != nil {
			return err
		}
	}
	return s.refundFollowUp(ctx, inv, nil)
}

// settleRefundAction decides an attempt in progress from the reader's
// action as Stripe holds it now.
func (s *Service) settleRefundAction(ctx context.Context, inv *Invoice, r *ReaderRefund, now time.Time) (*Invoice, error) {
	act, err := s.refundNews(ctx, r)
	if err != nil {
		return nil, err
	}
	stored, err := s.updateRefund(ctx, inv, r.ID, func(x *ReaderRefund) error {
		if !x.InProgress() || x.UpdatedAt.Add(ReaderQuiet).After(now) {
			return errNoChange // news arrived meanwhile
		}
		x.decide(act, s.clock())
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return stored, err
}

// askRefunds reads the charge's refunds from Stripe for a refund the
// reader made whose events were lost, and applies them as a refund event
// would have (its reading has its own event id, so working the same
// message twice is a duplicate). Untold still, it is looked at again
// ReaderQuiet later.
func (s *Service) askRefunds(ctx context.Context, inv *Invoice, r *ReaderRefund, now time.Time) (*Invoice, error) {
	p := inv.payment(r.PaymentIntentID)
	amount := p.ChargedAmount
	if amount == 0 {
		amount = p.Amount
	}
	ev := &WebhookEvent{ID: fmt.Sprintf("settle_%s_%d", r.ID, now.Unix()), Type: EventChargeRefunded, AccountID: r.AccountID, Created: s.clock(),
		Facts: PaymentFacts{PaymentIntentID: r.PaymentIntentID, ChargeID: p.ChargeID, Amount: amount, Currency: p.chargedCurrency(), State: PaymentSucceeded}}
	if _, err := recordEvent(ctx, func() (EventResult, error) { return s.applyPaymentEvent(ctx, ev) }); err != nil {
		return nil, err
	}
	cur, err := s.store.GetInvoice(ctx, inv.CompanyID, inv.ID)
	if err != nil {
		return nil, storeError("read invoice", err)
	}
	if !cur.refundUntold(cur.refundAttempt(r.ID)) {
		return cur, nil
	}
	stored, err := s.updateRefund(ctx, cur, r.ID, func(x *ReaderRefund) error {
		if x.UpdatedAt.Add(ReaderQuiet).After(now) {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return stored, err
}

// refundNews is the reader's action for the attempt as Stripe holds it
// now; an action that is no longer the attempt's is a cancel (or, for an
// attempt never sent, a failure).
func (s *Service) refundNews(ctx context.Context, r *ReaderRefund) (*ReaderAction, error) {
	tr, err := s.terminal.Reader(ctx, r.AccountID, r.ReaderID)
	switch {
	case errors.Is(err, ErrUnknownReader):
		return &ReaderAction{Status: "failed", FailureCode: "reader_deleted"}, nil
	case err != nil:
		return nil, fmt.Errorf("read the reader: %w", err)
	}
	if a := tr.Action; a != nil && a.Type == ReaderActionRefundPayment && a.Metadata[MetaRefundAttempt] == r.ID {
		return a, nil
	}
	if r.Status == ReaderStarting {
		return &ReaderAction{Status: "failed", FailureCode: "not_sent"}, nil
	}
	return &ReaderAction{Status: "canceled"}, nil
}
