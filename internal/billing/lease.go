package billing

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Lease is a request's hold on an invoice while it works outside the store:
// at Stripe (a link change) or at SES (an e-mail carrying the active link,
// which no one may end before it leaves).
//
// The lease is written to the invoice (the claim) before the first outside
// call. That write is conditional on the invoice's version, so two requests
// can't both work on one invoice, and it leaves a trace when a Lambda dies
// half-way: the next request on the invoice finds the lease after it has run
// out and finishes its link change with the same Stripe idempotency keys,
// which return the same Stripe objects. Only then is the lease removed.
type Lease struct {
	// Token identifies the request that holds the lease.
	Token string
	// Until is the end of the holder's invocation: a lease still there after
	// it belongs to a request that died (or gave up on an outage).
	Until time.Time
	// Change is the link change the holder carries out; nil while it only
	// sends an e-mail.
	Change *LinkChange
}

// LinkChange is a change to an invoice's links that needs Stripe: make a
// link, end one, or both (regenerate).
type LinkChange struct {
	Make *NewLink
	End  *LinkEnd
}

// defaultLease is how long a request may hold an invoice when the context
// has no deadline (the local API); in Lambda the lease ends with the
// invocation's deadline, as in Powertools' idempotency records.
const defaultLease = 30 * time.Second

// leaseFor is how long a claim holds the invoice: until the invocation's
// deadline (a Lambda that dies can't hold it longer), or defaultLease.
func leaseFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl) + time.Second; d > 0 {
			return min(d, 2*defaultLease)
		}
	}
	return defaultLease
}

// leaseWork is a use case's own work inside a lease, around the link
// change carryOut makes at Stripe (nil: the change alone). Its steps run
// in this order, once per claim.
type leaseWork interface {
	// claimed changes the invoice in the write that takes the lease (an
	// outbound marks its attempt with the lease's token).
	claimed(next *Invoice, token string)
	// afterStripe runs once every Stripe step succeeded, while the invoice
	// is still held (the e-mail is sent here, so no one ends the link it
	// carries before it leaves). Its error is returned, and finish is
	// skipped, but the Stripe outcome is recorded all the same.
	afterStripe(ctx context.Context, claimed *Invoice, made *Link) error
	// recheck runs before finish on the invoice as it is at that write: a
	// webhook may have written meanwhile (the lease holds off requests,
	// not Stripe's facts). Its error leaves finish undone; the outcome is
	// recorded all the same, and the error is the request's.
	recheck(cur *Invoice) error
	// finish applies the use case's own change in the same write that
	// records the outcome.
	finish(next *Invoice)
}

// noWork is a leaseWork's steps that do nothing, for a use case to embed
// and override the ones it needs.
type noWork struct{}

func (noWork) claimed(*Invoice, string)                           {}
func (noWork) afterStripe(context.Context, *Invoice, *Link) error { return nil }
func (noWork) recheck(*Invoice) error                             { return nil }
func (noWork) finish(*Invoice)                                    {}

// stripeOutcome is what Stripe answered to the steps of a change.
type stripeOutcome struct {
	made    *Link
	makeErr error
	endErr  error
}

// settle makes sure no change is half done on the invoice before a new
// request works on it: a lease that has run out (its request died, or gave
// up on a Stripe outage) is rolled forward; a live one means another request
// is at work (409). It also returns the change it finished, if any, and the
// link that change made.
func (s *Service) settle(ctx context.Context, inv *Invoice, company *Company) (*Invoice, *LinkChange, *Link, error) {
	if inv.Lease == nil {
		return inv, nil, nil, nil
	}
	if wait := inv.Lease.Until.Sub(s.clock()); wait > 0 {
		return nil, nil, nil, Busy(CodeConflict, "another change to this invoice's payment link is in progress", wait)
	}
	change := inv.Lease.Change
	stored, made, err := s.carryOut(ctx, inv, company, change, nil)
	return stored, change, made, err
}

// carryOut claims the invoice for change (a new one, or a stale lease's taken
// over; nil to hold the invoice for an e-mail), carries out its Stripe
// steps, runs the use case's work and records the outcome. It returns the invoice as
// stored and the link the change made. errRetry means the claim lost
// against another writer.
func (s *Service) carryOut(ctx context.Context, inv *Invoice, company *Company, change *LinkChange, work leaseWork) (*Invoice, *Link, error) {
	claimed, err := s.claim(ctx, inv, change, work)
	if err != nil {
		return nil, nil, err
	}
	out := s.atStripe(ctx, claimed, claimed.Lease.Change)
	d := &stripeDone{claimed: claimed, lease: claimed.Lease, made: out.made, at: s.clock()}
	if d.made != nil {
		d.made.CreatedAt = d.at
	}
	d.ended = d.lease.Change != nil && d.lease.Change.End != nil && out.endErr == nil

	switch {
	case out.makeErr == nil && out.endErr == nil:
		return s.completeChange(ctx, d, company, work)

	case transient(out.makeErr) || transient(out.endErr):
		// Stripe's state is unknown: keep the lease so the next request on
		// the invoice finishes the change with the same idempotency keys,
		// but let it run out now so that request need not wait for it.
		return nil, nil, errors.Join(firstError(out.endErr, out.makeErr), s.release(ctx, claimed, d.lease.Token))

	case out.endErr != nil && d.made != nil:
		return nil, nil, s.withdrawMade(ctx, d, out.endErr)

	default:
		// Stripe refused a step for good: record what did happen and drop
		// the lease, so the invoice is free again.
		if _, err := s.commit(ctx, claimed, d.lease.Token, d.record, nil); err != nil {
			return nil, nil, err
		}
		s.countOutcome(ctx, d.lease.Change, d.made, d.ended)
		return nil, nil, firstError(out.endErr, out.makeErr)
	}
}

// stripeDone is a claimed change once Stripe has answered: what to record.
type stripeDone struct {
	claimed *Invoice
	lease   *Lease
	made    *Link // the link Stripe made, if any
	ended   bool  // the old link was ended
	at      time.Time
}

// record writes what Stripe did to the invoice and drops the lease.
func (d *stripeDone) record(inv *Invoice) {
	if d.ended {
		inv.endLink(d.lease.Change.End, d.at)
	}
	if d.made != nil && inv.link(d.made.Generation) == nil {
		inv.Links = append(inv.Links, *d.made)
	}
	inv.Lease = nil
}

// completeChange runs the use case's work once every Stripe step
// succeeded, and records the outcome with the work's own change.
func (s *Service) completeChange(ctx context.Context, d *stripeDone, company *Company, work leaseWork) (*Invoice, *Link, error) {
	var workErr error
	var finish func(*Invoice)
	var recheck func(*Invoice) error
	if work != nil {
		if workErr = work.afterStripe(ctx, d.claimed, d.made); workErr == nil {
			finish, recheck = work.finish, work.recheck
		}
	}
	stored, refused, err := s.commitOrRefuse(ctx, d.claimed, d.lease.Token, d.record, finish, recheck)
	if err != nil {
		return nil, nil, err
	}
	s.countOutcome(ctx, d.lease.Change, d.made, d.ended)
	if err := firstError(workErr, refused); err != nil {
		return stored, d.made, err
	}
	// A payment recorded meanwhile may have left the new link asking
	// for more than is due: end it before anyone can pay it.
	if stored, err = s.reconcileLink(ctx, stored, company); err != nil {
		return nil, nil, err
	}
	made := d.made
	if made != nil {
		made = stored.link(made.Generation)
	}
	return stored, made, nil
}

// withdrawMade ends the link just made when the old one could not be
// deactivated: two payable links for one invoice must not exist. It
// returns endErr, the old link's failure, once that is recorded.
func (s *Service) withdrawMade(ctx context.Context, d *stripeDone, endErr error) error {
	made := d.made
	if err := s.payments.DeactivateLink(ctx, made.AccountID, made.ID, deactivationKey(d.claimed, made.Generation)); err != nil {
		return errors.Join(err, s.release(ctx, d.claimed, d.lease.Token))
	}
	// Not the request's result: a retry under its key makes a new one.
	made.Status, made.Reason, made.EndedAt, made.RequestKey = LinkRemoved, ReasonReplacementFailed, d.at, ""
	if _, err := s.commit(ctx, d.claimed, d.lease.Token, d.record, nil); err != nil {
		return err
	}
	s.countOutcome(ctx, d.lease.Change, made, false)
	s.metrics.Count(ctx, MetricLinksRemoved, 1)
	return endErr
}

// countOutcome counts the links a committed change made and ended.
func (s *Service) countOutcome(ctx context.Context, change *LinkChange, made *Link, ended bool) {
	if made != nil {
		s.metrics.Count(ctx, MetricLinksCreated, 1)
	}
	if ended {
		if change.End.Status == LinkReplaced {
			s.metrics.Count(ctx, MetricLinksReplaced, 1)
		} else {
			s.metrics.Count(ctx, MetricLinksRemoved, 1)
		}
	}
}

// claim writes a fresh lease for change to the invoice, with work's change
// (nil: none).
func (s *Service) claim(ctx context.Context, inv *Invoice, change *LinkChange, work leaseWork) (*Invoice, error) {
	token := s.newToken()
	claimed, err := s.saveChange(ctx, inv, func(next *Invoice) error {
		next.Lease = &Lease{Token: token, Until: s.clock().Add(leaseFor(ctx)), Change: change}
		if work != nil {
			work.claimed(next, token)
		}
		if change != nil && change.Make != nil && change.Make.Generation > next.LastGeneration {
			next.LastGeneration = change.Make.Generation
		}
		return nil
	})
	if errors.Is(err, errRetry) {
		// Lost to another writer, or won without hearing so (the write
		// landed, its answer was lost and the retried write found it):
		// the token tells.
		cur, rerr := s.store.GetInvoice(ctx, inv.CompanyID, inv.ID)
		if rerr == nil && cur.Lease != nil && cur.Lease.Token == token {
			return cur, nil
		}
	}
	return claimed, err
}

// atStripe runs a change's Stripe steps; ending the old link and making the
// new one are independent, so they run at the same time.
func (s *Service) atStripe(ctx context.Context, inv *Invoice, change *LinkChange) stripeOutcome {
	var out stripeOutcome
	if change == nil {
		return out
	}
	var wg sync.WaitGroup
	if change.End != nil {
		if old := inv.link(change.End.Generation); old != nil && old.Status == LinkActive {
			wg.Go(func() {
				out.endErr = s.payments.DeactivateLink(ctx, old.AccountID, old.ID, deactivationKey(inv, old.Generation))
			})
		}
	}
	if n := change.Make; n != nil {
		wg.Go(func() {
			made, err := s.payments.CreateLink(ctx, n)
			if err != nil {
				out.makeErr = err
				return
			}
			out.made = &made
		})
	}
	wg.Wait()
	return out
}

// commit records a change's outcome (only if the lease is still ours: after
// a takeover the other request has recorded the same Stripe objects) and the
// use case's own change, retrying on conflicts with concurrent writers.
func (s *Service) commit(ctx context.Context, inv *Invoice, token string, record, finish func(*Invoice)) (*Invoice, error) {
	stored, refused, err := s.commitOrRefuse(ctx, inv, token, record, finish, nil)
	return stored, firstError(err, refused) // refused: never, without a recheck
}

// commitOrRefuse is commit with a use case's change that recheck may refuse
// on the invoice as it now is: then the outcome is written without it, and
// refused says why.
func (s *Service) commitOrRefuse(ctx context.Context, inv *Invoice, token string, record, finish func(*Invoice), recheck func(*Invoice) error) (stored *Invoice, refused, err error) {
	stored, err = s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error {
		ours := next.Lease != nil && next.Lease.Token == token
		refused = nil
		if finish != nil && recheck != nil {
			refused = recheck(next)
		}
		if !ours && (finish == nil || refused != nil) {
			return errNoChange
		}
		if ours {
			record(next)
		}
		if finish != nil && refused == nil {
			finish(next)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return stored, refused, nil
}

// release lets a lease run out now, keeping its change for the next request
// to finish, so that request need not wait for the lease's end. It is
// written even when the request's own time is up.
func (s *Service) release(ctx context.Context, inv *Invoice, token string) error {
	err := s.store.ReleaseLease(context.WithoutCancel(ctx), inv.CompanyID, inv.ID, token)
	if err == nil || errors.Is(err, ErrVersionConflict) {
		return nil // released, or taken over already: nothing holds the invoice in vain
	}
	s.metrics.Count(ctx, MetricLeaseReleaseFailures, 1)
	return storeError("release lease", err)
}

func cloneInvoice(inv *Invoice) *Invoice {
	next := *inv
	next.Lines = slices.Clone(inv.Lines)
	next.Links = slices.Clone(inv.Links)
	next.Emails = slices.Clone(inv.Emails)
	for i := range next.Emails {
		next.Emails[i].EarlierAttempts = slices.Clone(inv.Emails[i].EarlierAttempts)
	}
	next.EmailAttempts = slices.Clone(inv.EmailAttempts)
	next.Outbox = slices.Clone(inv.Outbox)
	for i := range next.Outbox {
		next.Outbox[i].PastAttempts = slices.Clone(inv.Outbox[i].PastAttempts)
	}
	next.ReaderAttempts = cloneAttempts(inv.ReaderAttempts)
	next.ReaderRefunds = slices.Clone(inv.ReaderRefunds)
	next.Reminders.Plan = slices.Clone(inv.Reminders.Plan)
	next.Reminders.Done = slices.Clone(inv.Reminders.Done)
	next.Payments = make([]Payment, len(inv.Payments))
	for i := range inv.Payments {
		next.Payments[i] = clonePayment(&inv.Payments[i])
	}
	if inv.Lease != nil {
		l := *inv.Lease
		next.Lease = &l
	}
	return &next
}

// transient reports a failure after which Stripe's state is unknown or a
// retry may succeed.
func transient(err error) bool {
	if err == nil {
		return false
	}
	switch ErrorCode(err) {
	case CodePaymentProviderError, CodeStripeAccountNotConnected, CodeStripeAccountUnavailable:
		return false
	}
	return true
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
