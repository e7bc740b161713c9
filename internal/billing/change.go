package billing

import (
	"context"
	"errors"
	"time"

	"github.com/clinicpay/payments/internal/retry"
)

// Every write of an invoice or a company is conditional on the version it
// was decided on (Store.PutInvoice, SaveCompany, CommitEvent), so two
// writers can't lose each other's changes: the one whose write loses
// reads again and decides again. The helpers below are that loop, written
// once: retrying bounds it, saveChange is the one conditional write of an
// invoice, changeInvoice and changeCompany are the two put together.

// errNoChange, from a change function: the record is right as it is, and
// nothing is written.
var errNoChange = errors.New("nothing to change")

// lostRace reports a conditional write that lost against another writer:
// read again and decide again.
func lostRace(err error) bool {
	return errors.Is(err, errRetry) || errors.Is(err, ErrVersionConflict)
}

// retrying runs attempt again while it loses a race, as often as policy
// allows (then 409 conflict); any other outcome is attempt's.
func retrying[T any](ctx context.Context, policy retry.Policy, attempt func() (T, error)) (T, error) {
	for range policy.Attempts(ctx) {
		v, err := attempt()
		if !lostRace(err) {
			return v, err
		}
	}
	var zero T
	return zero, conflictError()
}

// retryingInvoice is retrying for an attempt that starts from an invoice
// already read (inv): after a lost race it is given the invoice as stored
// now.
func (s *Service) retryingInvoice(ctx context.Context, policy retry.Policy, inv *Invoice, attempt func(cur *Invoice) (*Invoice, error)) (*Invoice, error) {
	cur := inv
	return retrying(ctx, policy, func() (*Invoice, error) {
		if cur == nil {
			var err error
			if cur, err = s.store.GetInvoice(ctx, inv.CompanyID, inv.ID); err != nil {
				return nil, storeError("read invoice", err)
			}
		}
		stored, err := attempt(cur)
		if lostRace(err) {
			cur = nil
		}
		return stored, err
	})
}

// changeInvoice writes change's edit of the invoice (read as inv) as its
// next version; when another writer got there first, change runs again on
// the invoice as stored now, as often as policy allows. It returns the
// invoice as stored.
func (s *Service) changeInvoice(ctx context.Context, policy retry.Policy, inv *Invoice, change func(next *Invoice) error) (*Invoice, error) {
	return s.retryingInvoice(ctx, policy, inv, func(cur *Invoice) (*Invoice, error) {
		return s.saveChange(ctx, cur, change)
	})
}

// changeItem changes one item of the invoice (a reader attempt, a refund
// attempt: find picks it in the next version) by a conditional write,
// reading the invoice again when another writer won. An error from change
// is the answer, nothing written (errRetry included: the caller decides
// again), with the invoice as read.
func changeItem[T any](ctx context.Context, s *Service, inv *Invoice, find func(next *Invoice) *T, change func(item *T, now time.Time) error) (*Invoice, error) {
	var refused error
	stored, err := s.retryingInvoice(ctx, commitPolicy, inv, func(cur *Invoice) (*Invoice, error) {
		refused = nil
		return s.saveChange(ctx, cur, func(next *Invoice) error {
			item := find(next)
			if item == nil {
				return Errorf(CodeInternal, "%T vanished from invoice %s", item, inv.ID)
			}
			if refused = change(item, s.clock()); refused != nil {
				return errNoChange
			}
			return nil
		})
	})
	if err == nil && refused != nil {
		return stored, refused
	}
	return stored, err
}

// saveChange writes change's edit of a copy of cur as cur's next version,
// on condition that cur is still the version stored: errRetry when
// another writer got there first. When change returns errNoChange nothing
// is written and cur is returned.
func (s *Service) saveChange(ctx context.Context, cur *Invoice, change func(next *Invoice) error) (*Invoice, error) {
	next := cloneInvoice(cur)
	if err := change(next); errors.Is(err, errNoChange) {
		return cur, nil
	} else if err != nil {
		return nil, err
	}
	next.Version = cur.Version + 1
	next.UpdatedAt = s.clock()
	if err := s.store.PutInvoice(ctx, next); errors.Is(err, ErrVersionConflict) {
		return nil, errRetry
	} else if err != nil {
		return nil, storeError("save invoice", err)
	}
	return next, nil
}

// changeCompany is changeInvoice for a company's record, read afresh at
// each attempt: change gets the stored record (nil when there is none)
// and returns the one to save, whose version it need not set. UpdatedAt is
// change's to set: the scheduler's own marks are no change staff made.
func (s *Service) changeCompany(ctx context.Context, companyID string, change func(stored *Company) (*Company, error)) (*Company, error) {
	return retrying(ctx, contention, func() (*Company, error) {
		stored, err := s.store.GetCompany(ctx, companyID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, storeError("read company", err)
		}
		next, err := change(stored)
		if errors.Is(err, errNoChange) {
			return stored, nil
		} else if err != nil {
			return nil, err
		}
		previous := ""
		next.Version = 1
		if stored != nil {
			next.Version, previous = stored.Version+1, stored.StripeAccountID
		}
		saved, err := s.store.SaveCompany(ctx, next, previous)
		switch {
		case errors.Is(err, ErrVersionConflict):
			return nil, errRetry
		case errors.Is(err, ErrAccountInUse):
			return nil, accountInUse()
		case err != nil:
			return nil, storeError("save company", err)
		}
		return saved, nil
	})
}

// changeReader is changeCompany for a reader's record (what marks it
// busy with an invoice), read afresh at each attempt: change edits the
// stored record, or returns errNoChange to leave it. A reader that isn't
// the company's is not found; what names the write in the logs.
func (s *Service) changeReader(ctx context.Context, policy retry.Policy, companyID, readerID, what string, change func(r *Reader) error) error {
	_, err := retrying(ctx, policy, func() (struct{}, error) {
		r, err := s.reader(ctx, companyID, readerID)
		if err != nil {
			return struct{}{}, err
		}
		if err := change(r); errors.Is(err, errNoChange) {
			return struct{}{}, nil
		} else if err != nil {
			return struct{}{}, err
		}
		r.Version++
		r.UpdatedAt = s.clock()
		if err := s.readers.SaveReader(ctx, r); errors.Is(err, ErrVersionConflict) {
			return struct{}{}, errRetry
		} else if err != nil {
			return struct{}{}, storeError(what, err)
		}
		return struct{}{}, nil
	})
	return err
}

// recordEvent applies an event with apply, which writes it with
// CommitEvent: when another event or request wrote first it decides again
// from what is stored now; an event recorded already is a duplicate.
func recordEvent(ctx context.Context, apply func() (EventResult, error)) (EventResult, error) {
	res, err := retrying(ctx, eventPolicy, func() (EventResult, error) {
		res, err := apply()
		switch {
		case errors.Is(err, ErrDuplicateEvent):
			return EventResult{Outcome: OutcomeDuplicate}, nil
		case lostRace(err):
			// Another event or request wrote first (or took the invoice
			// first for the follow-up): decide again from what is stored
			// now. An event recorded already comes back as a duplicate,
			// whose follow-up is tried again.
			return res, err
		case ErrorCode(err) == CodeConflict:
			// The follow-up waits for a request holding the invoice:
			// Stripe's redelivery (5xx) will find it done or finish it.
			return EventResult{}, &Error{Code: CodeUnavailable, Message: "the invoice is busy; deliver again later", RetryAfter: time.Second, Err: err}
		case err != nil:
			return EventResult{}, storeError("apply event", err)
		}
		return res, nil
	})
	if ErrorCode(err) == CodeConflict { // attempts spent: Stripe (or SES) delivers again
		return EventResult{}, &Error{Code: CodeUnavailable, Message: "too many concurrent changes to this invoice; retry", RetryAfter: time.Second}
	}
	return res, err
}
