package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// planHooks let a use case do its own work inside a link change.
type planHooks struct {
	// afterStripe runs once every Stripe step succeeded, while the invoice is
	// still claimed (the e-mail is sent here, so no one ends the link it
	// carries before it leaves). Its error is returned, and finish is skipped,
	// but the Stripe outcome is recorded all the same.
	afterStripe func(ctx context.Context, inv *Invoice, link *Link) error
	// finish applies the use case's own change in the same write that
	// records the outcome.
	finish func(inv *Invoice)
}

// planOutcome is what Stripe answered to the steps of a plan.
type planOutcome struct {
	created   *CreatedLink
	createErr error
	endErr    error
}

// newLinkSpec fixes what a new link for the invoice asks for.
func newLinkSpec(inv *Invoice, c *Company, lang Language) *LinkSpec {
	t := wording(lang)
	return &LinkSpec{
		Generation:          inv.LastGeneration + 1,
		AccountID:           c.StripeAccountID,
		Amount:              inv.BalanceDue,
		Currency:            inv.Currency,
		Language:            lang,
		ProductName:         fmt.Sprintf(t.ProductName, inv.Number),
		InactiveMessage:     fmt.Sprintf(t.InactiveLink, c.Name),
		ConfirmationMessage: fmt.Sprintf(t.PaidMessage, c.Name),
	}
}

// leaseFor is how long a claim holds the invoice: until the invocation's
// deadline (a Lambda that dies can't hold it longer), or defaultLease.
func (s *Service) leaseFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl) + time.Second; d > 0 {
			return min(d, 2*defaultLease)
		}
	}
	return defaultLease
}

// settle makes sure no link change is half done on the invoice before a new
// request works on it: a plan whose lease has run out (its request died, or
// gave up on a Stripe outage) is rolled forward; a live one means another
// request is at work (409).
func (s *Service) settle(ctx context.Context, inv *Invoice, company *Company) (*Invoice, error) {
	inv, _, _, err := s.settleLink(ctx, inv, company)
	return inv, err
}

// settleLink is settle that also returns the plan it finished, if any, and
// the link that plan made.
func (s *Service) settleLink(ctx context.Context, inv *Invoice, company *Company) (*Invoice, *LinkPlan, *Link, error) {
	if inv.Plan == nil {
		return inv, nil, nil, nil
	}
	if wait := inv.Plan.LeaseUntil.Sub(s.clock()); wait > 0 {
		e := conflictError()
		e.Message = "another change to this invoice's payment link is in progress; retry in a moment"
		e.RetryAfter = min(max(wait, time.Second), defaultLease)
		return nil, nil, nil, e
	}
	p := *inv.Plan
	stored, link, err := s.runPlan(ctx, inv, company, &p, planHooks{})
	return stored, &p, link, err
}

// runPlan claims the invoice for plan (a new plan, or a stale one taken
// over), carries out its Stripe steps, runs the hooks and records the
// outcome. It returns the invoice as stored and the link the plan made.
// errRetry means the claim lost against another writer.
func (s *Service) runPlan(ctx context.Context, inv *Invoice, company *Company, plan *LinkPlan, hooks planHooks) (*Invoice, *Link, error) {
	claimed, err := s.claim(ctx, inv, plan)
	if err != nil {
		return nil, nil, err
	}
	p := claimed.Plan
	s.reach(ctx, StepClaimed)
	out := s.execute(ctx, claimed, p)
	s.reach(ctx, StepStripeDone)
	now := s.clock()

	var link *Link
	if out.created != nil {
		link = newLink(p.Create, *out.created, now)
	}
	endOK := p.End != nil && out.endErr == nil
	outcome := func(inv *Invoice) {
		if endOK {
			endLink(inv, p.End, now)
		}
		if link != nil && inv.link(link.Generation) == nil {
			inv.Links = append(inv.Links, *link)
		}
		inv.Plan = nil
	}

	switch {
	case out.createErr == nil && out.endErr == nil:
		var hookErr error
		if hooks.afterStripe != nil {
			hookErr = hooks.afterStripe(ctx, claimed, link)
		}
		finish := hooks.finish
		if hookErr != nil {
			finish = nil
		}
		stored, err := s.commit(ctx, claimed, p.Token, outcome, finish)
		if err != nil {
			return nil, nil, err
		}
		s.countOutcome(ctx, p, link, endOK)
		s.reach(ctx, StepCommitted)
		if hookErr != nil {
			return stored, link, hookErr
		}
		// A payment recorded meanwhile may have left the new link asking
		// for more than is due: end it before anyone can pay it.
		if stored, err = s.reconcileLink(ctx, stored, company); err != nil {
			return nil, nil, err
		}
		if link != nil {
			link = stored.link(link.Generation)
		}
		return stored, link, nil

	case transient(out.createErr) || transient(out.endErr):
		// Stripe's state is unknown: keep the plan so the next request on
		// the invoice finishes it with the same idempotency keys, but end
		// the lease now so that request need not wait for it.
		s.release(ctx, claimed, p.Token)
		if transient(out.endErr) {
			return nil, nil, out.endErr
		}
		return nil, nil, out.createErr

	case out.endErr != nil && out.created != nil:
		// The old link can't be deactivated; two payable links for one
		// invoice must not exist, so the new one is ended straight away.
		key := idempotencyKey(claimed.CompanyID, claimed.ID, link.Generation, "deactivate")
		if err := s.payments.DeactivateLink(ctx, link.AccountID, link.ID, key); err != nil {
			s.release(ctx, claimed, p.Token)
			return nil, nil, err
		}
		// Not the request's result: a retry under its key makes a new one.
		link.Status, link.Reason, link.EndedAt, link.RequestKey = LinkRemoved, ReasonReplacementFailed, now, ""
		if _, err := s.commit(ctx, claimed, p.Token, outcome, nil); err != nil {
			return nil, nil, err
		}
		s.countOutcome(ctx, p, link, false)
		s.metrics.Count(ctx, MetricLinksRemoved, 1)
		return nil, nil, out.endErr

	default:
		// Stripe refused a step for good: record what did happen and drop
		// the plan, so the invoice is free again.
		if _, err := s.commit(ctx, claimed, p.Token, outcome, nil); err != nil {
			return nil, nil, err
		}
		s.countOutcome(ctx, p, link, endOK)
		return nil, nil, firstError(out.endErr, out.createErr)
	}
}

// countOutcome counts the links a committed plan made and ended.
func (s *Service) countOutcome(ctx context.Context, p *LinkPlan, created *Link, ended bool) {
	if created != nil {
		s.metrics.Count(ctx, MetricLinksCreated, 1)
	}
	if ended {
		if p.End.Status == LinkReplaced {
			s.metrics.Count(ctx, MetricLinksReplaced, 1)
		} else {
			s.metrics.Count(ctx, MetricLinksRemoved, 1)
		}
	}
}

// claim writes the plan to the invoice under a fresh lease.
func (s *Service) claim(ctx context.Context, inv *Invoice, plan *LinkPlan) (*Invoice, error) {
	next := *inv
	p := *plan
	p.Token = s.newToken()
	p.LeaseUntil = s.clock().Add(s.leaseFor(ctx))
	next.Plan = &p
	if p.Create != nil && p.Create.Generation > next.LastGeneration {
		next.LastGeneration = p.Create.Generation
	}
	next.Version++
	if err := s.store.PutInvoice(ctx, &next); err != nil {
		if !errors.Is(err, ErrVersionConflict) {
			return nil, storeError("claim invoice", err)
		}
		// Lost to another writer, or won without hearing so (the write
		// landed, its answer was lost and the retried write found it):
		// the token tells.
		cur, rerr := s.store.GetInvoice(ctx, inv.CompanyID, inv.ID)
		if rerr == nil && cur.Plan != nil && cur.Plan.Token == p.Token {
			return cur, nil
		}
		return nil, errRetry
	}
	return &next, nil
}

// execute runs the plan's Stripe steps; ending the old link and making the
// new one are independent, so they run at the same time.
func (s *Service) execute(ctx context.Context, inv *Invoice, p *LinkPlan) planOutcome {
	var out planOutcome
	var wg sync.WaitGroup
	if p.End != nil {
		if old := inv.link(p.End.Generation); old != nil && old.Status == LinkActive {
			key := idempotencyKey(inv.CompanyID, inv.ID, old.Generation, "deactivate")
			wg.Go(func() { out.endErr = s.payments.DeactivateLink(ctx, old.AccountID, old.ID, key) })
		}
	}
	if spec := p.Create; spec != nil {
		req := LinkRequest{
			AccountID:           spec.AccountID,
			Amount:              spec.Amount,
			Currency:            spec.Currency,
			ProductName:         spec.ProductName,
			InactiveMessage:     spec.InactiveMessage,
			ConfirmationMessage: spec.ConfirmationMessage,
			Metadata: map[string]string{
				MetaCompanyID:  inv.CompanyID,
				MetaInvoiceID:  inv.ID,
				MetaGeneration: strconv.Itoa(spec.Generation),
			},
			PriceIdempotencyKey: idempotencyKey(inv.CompanyID, inv.ID, spec.Generation, "price"),
			LinkIdempotencyKey:  idempotencyKey(inv.CompanyID, inv.ID, spec.Generation, "link"),
		}
		wg.Go(func() {
			created, err := s.payments.CreateLink(ctx, req)
			if err != nil {
				out.createErr = err
				return
			}
			out.created = &created
		})
	}
	wg.Wait()
	return out
}

// maxCommitAttempts bounds a commit's retries against writers that don't
// hold the invoice (webhooks, e-mail records): the work is done at Stripe,
// so it is worth insisting, with growing random waits.
const maxCommitAttempts = 12

// commit records a plan's outcome (only if the plan is still ours: after a
// takeover the other request has recorded the same Stripe objects) and the
// use case's own change, retrying on conflicts with concurrent writers such
// as webhooks.
func (s *Service) commit(ctx context.Context, inv *Invoice, token string, outcome, finish func(*Invoice)) (*Invoice, error) {
	cur := inv
	for attempt := range maxCommitAttempts {
		if attempt > 0 && !backoff(ctx, attempt) {
			break
		}
		ours := cur.Plan != nil && cur.Plan.Token == token
		if !ours && finish == nil {
			return cur, nil
		}
		next := cloneInvoice(cur)
		if ours {
			outcome(next)
		}
		if finish != nil {
			finish(next)
		}
		next.Version++
		next.UpdatedAt = s.clock()
		err := s.store.PutInvoice(ctx, next)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, storeError("record link change", err)
		}
		if cur, err = s.store.GetInvoice(ctx, inv.CompanyID, inv.ID); err != nil {
			return nil, storeError("read invoice", err)
		}
	}
	return nil, conflictError()
}

// release ends the lease on a plan that must be finished later, so the next
// request need not wait for the lease to run out. Best effort: if it fails,
// the lease simply runs out; the failure is counted (a denied UpdateItem
// would otherwise go unseen), a plan taken over meanwhile is not one.
func (s *Service) release(ctx context.Context, inv *Invoice, token string) {
	if err := s.store.ReleasePlan(context.WithoutCancel(ctx), inv.CompanyID, inv.ID, token); err != nil && !errors.Is(err, ErrVersionConflict) {
		s.metrics.Count(ctx, MetricPlanReleaseFailures, 1)
	}
}

// MetricPlanReleaseFailures counts leases that could not be ended early.
const MetricPlanReleaseFailures = "PlanReleaseFailures"

func newLink(spec *LinkSpec, created CreatedLink, now time.Time) *Link {
	return &Link{
		Generation: spec.Generation,
		ID:         created.ID,
		URL:        created.URL,
		PriceID:    created.PriceID,
		AccountID:  spec.AccountID,
		Amount:     spec.Amount,
		Currency:   spec.Currency,
		Language:   spec.Language,
		Status:     LinkActive,
		CreatedAt:  now,
		RequestKey: spec.RequestKey,
	}
}

func endLink(inv *Invoice, end *LinkEnd, now time.Time) {
	if l := inv.link(end.Generation); l != nil && l.Status == LinkActive {
		l.Status, l.Reason, l.EndedAt, l.EndRequestKey = end.Status, end.Reason, now, end.RequestKey
	}
}

func cloneInvoice(inv *Invoice) *Invoice {
	next := *inv
	next.Links = slices.Clone(inv.Links)
	next.Emails = slices.Clone(inv.Emails)
	next.Payments = make([]Payment, len(inv.Payments))
	for i := range inv.Payments {
		next.Payments[i] = clonePayment(&inv.Payments[i])
	}
	if inv.Plan != nil {
		p := *inv.Plan
		next.Plan = &p
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
