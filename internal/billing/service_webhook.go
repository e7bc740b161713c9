package billing

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// maxEventAttempts bounds the retries of one event against concurrent
// writers; the context's deadline bounds them too.
const maxEventAttempts = 30

// backoff sleeps a random, growing while (up to 100 ms) and reports whether
// there is time left for another attempt.
func backoff(ctx context.Context, attempt int) bool {
	ceiling := min(5*time.Millisecond<<min(attempt, 5), 100*time.Millisecond)
	wait := time.Duration(rand.Int64N(int64(ceiling)))
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+time.Second {
		return false
	}
	select {
	case <-time.After(wait):
		return true
	case <-ctx.Done():
		return false
	}
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
	apply := s.applyPaymentEvent
	if ev.isAccountEvent() {
		apply = s.applyAccountEvent
	}
	for attempt := 0; attempt < maxEventAttempts; attempt++ {
		res, err := apply(ctx, ev)
		switch {
		case errors.Is(err, ErrDuplicateEvent):
			return EventResult{Outcome: OutcomeDuplicate}, nil
		case errors.Is(err, ErrVersionConflict), errors.Is(err, errRetry):
			// Another event or request wrote first (or took the invoice
			// first for the follow-up): decide again from what is stored
			// now, after a short random wait so that writers who collided
			// don't collide again in step. An event already recorded comes
			// back as a duplicate, whose follow-up is tried again.
			if backoff(ctx, attempt) {
				continue
			}
		case ErrorCode(err) == CodeConflict:
			// The follow-up waits for a request holding the invoice:
			// Stripe's redelivery (5xx) will find it done or finish it.
			return EventResult{}, &Error{Code: CodeUnavailable, Message: "the invoice is busy; deliver again later", RetryAfter: time.Second, Err: err}
		case err != nil:
			return EventResult{}, storeError("apply event", err)
		default:
			return res, nil
		}
		break
	}
	return EventResult{}, &Error{Code: CodeUnavailable, Message: "too many concurrent changes to this invoice; retry", RetryAfter: time.Second}
}

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
	keys := EventKeys{EventID: ev.ID, AccountID: ev.AccountID, PaymentIntentID: ev.Facts.PaymentIntentID}
	if ev.isSessionEvent() {
		if !ValidID(ev.CompanyID) || !ValidID(ev.InvoiceID) {
			rec.CompanyID, rec.InvoiceID = "", ""
			return s.ignore(ctx, rec, IgnoredUnknownInvoice)
		}
		keys.CompanyID, keys.InvoiceID = ev.CompanyID, ev.InvoiceID
	}
	st, err := s.store.LoadEventState(ctx, keys)
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.duplicate(ctx, st.Seen)
	}
	ref := st.Ref

	if !ev.isSessionEvent() {
		// A refund or a dispute names only the PaymentIntent; its reference
		// says which invoice it belongs to, once the payment was seen.
		if ref == nil || ref.InvoiceID == "" {
			return s.keepPending(ctx, rec, ev, ref, now)
		}
		keys.CompanyID, keys.InvoiceID = ref.CompanyID, ref.InvoiceID
		rec.CompanyID, rec.InvoiceID = ref.CompanyID, ref.InvoiceID
		if st, err = s.store.LoadEventState(ctx, keys); err != nil {
			return EventResult{}, err
		}
		if st.Seen != nil {
			return s.duplicate(ctx, st.Seen)
		}
		ref = st.Ref
	} else if ref != nil && ref.InvoiceID != "" && (ref.CompanyID != ev.CompanyID || ref.InvoiceID != ev.InvoiceID) {
		return s.ignore(ctx, rec, IgnoredOtherInvoice)
	}

	inv := st.Invoice
	if inv == nil {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	var link *Link
	if ev.isSessionEvent() {
		// The metadata must name a link we made, on the account the event
		// comes from: a clinic's own integration can't move another
		// tenant's balance by copying our metadata.
		link = inv.link(ev.Generation)
		if link == nil || link.ID != ev.Facts.LinkID {
			return s.ignore(ctx, rec, IgnoredUnknownLink)
		}
		if link.AccountID != ev.AccountID {
			return s.ignore(ctx, rec, IgnoredAccountMismatch)
		}
	}

	next := cloneInvoice(inv)
	var pending *Payment
	if ref != nil {
		pending = ref.Pending
	}
	feed, reason := next.recordPayment(ev, link, pending, now)
	if reason != "" {
		return s.reject(ctx, rec, reason)
	}
	next.Version++
	next.UpdatedAt = now
	commit := &EventCommit{Event: rec, Invoice: next, FeedHead: st.FeedHead, Feed: feed}
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
	s.reach(ctx, StepEventRecorded)
	// A payment through one link leaves no other link payable. If that
	// can't be done now, the delivery fails so Stripe delivers it again;
	// the redelivery (a duplicate) finishes it.
	if err := s.followUp(ctx, next, st.Company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

// recordPayment folds the event's facts (and any kept while the invoice was
// unknown) into the invoice's payment, moves the balance by the one rule
// (a payment that succeeds lowers it; nothing else does), marks the link
// used, and returns the feed entries for what changed. A non-empty reason
// says the event can't be true of this payment: inv must then be dropped.
func (inv *Invoice) recordPayment(ev *WebhookEvent, link *Link, pending *Payment, now time.Time) ([]FeedEntry, string) {
	p := inv.payment(ev.paymentKey())
	if p == nil && ev.Facts.SessionID != "" {
		p = inv.payment(ev.Facts.SessionID) // recorded before Stripe gave a PaymentIntent
	}
	if p == nil {
		inv.Payments = append(inv.Payments, Payment{})
		p = &inv.Payments[len(inv.Payments)-1]
	}
	before := clonePayment(p)
	if pending != nil {
		p.mergePending(pending, now)
	}
	f := ev.Facts
	if link != nil {
		link = inv.link(link.Generation) // inv's own copy, to mark it used
		// What the payment is worth to the invoice: the session's total,
		// or under Adaptive Pricing its source amount and currency.
		amount, currency := f.Amount, f.Currency
		if f.SourceCurrency != "" {
			amount, currency = f.SourceAmount, f.SourceCurrency
		}
		switch {
		case p.Currency == "":
			if currency != link.Currency || link.Currency != inv.Currency {
				p.Review = ReviewCurrencyMismatch
			} else if amount != link.Amount {
				return nil, RejectAmountMismatch
			}
			p.Amount, p.Currency = amount, currency
		case amount != p.Amount || currency != p.Currency:
			return nil, RejectAmountMismatch // another session event of this payment said otherwise
		}
		p.LinkGeneration = link.Generation
		switch link.Status {
		case LinkReplaced, LinkRemoved:
			p.ViaInactiveLink = true
		case LinkActive:
			// Its one checkout is done; Stripe deactivated it
			// (restrictions.completed_sessions.limit = 1).
			link.Status, link.EndedAt = LinkCompleted, now
		}
	}
	if reason := p.checkFacts(f); reason != "" {
		return nil, reason
	}
	p.merge(f, ev.Created, now)

	entries := changes(&before, p)
	for _, e := range entries {
		switch {
		case e.Kind == KindPaymentSucceeded:
			inv.applyPayment(e.Amount)
		case e.NetChange < 0:
			inv.applyTakeBack(-e.NetChange)
		case e.NetChange > 0:
			// A refund that failed or was canceled: the money came back to
			// the clinic, as a payment does. It lowers what the clinic
			// asked of the patient since (so the balance stays within what
			// is unpaid), and the rest is a credit to give back.
			inv.applyPayment(e.NetChange)
		}
	}
	status := inv.Status()
	for i := range entries {
		e := &entries[i]
		e.InvoiceID, e.BalanceDue, e.Overpaid, e.Status, e.RecordedAt, e.EventID = inv.ID, inv.BalanceDue, inv.Overpaid, status, now, ev.ID
		if e.Kind == KindPaymentSucceeded {
			if p.ViaInactiveLink {
				e.Flags = append(e.Flags, FlagViaInactiveLink)
			}
			if inv.Overpaid > 0 {
				e.Flags = append(e.Flags, FlagOverpaid)
			}
		}
	}
	return entries, ""
}

// toldAt is facts with the moment Stripe told them.
type toldAt struct {
	facts PaymentFacts
	at    time.Time
}

// mergePending folds the facts kept while the payment's invoice was
// unknown into p, one by one, leaving out any that can't be true of it.
func (p *Payment) mergePending(q *Payment, now time.Time) {
	if p.ChargedAmount == 0 {
		p.ChargedAmount, p.ChargedCurrency = q.ChargedAmount, q.ChargedCurrency
	}
	told := []toldAt{{facts: PaymentFacts{PaymentIntentID: q.PaymentIntentID, ChargeID: q.ChargeID, State: q.State}}}
	if s := q.ChargeRefunds; s != nil {
		told = append(told, toldAt{PaymentFacts{ChargeRefunded: &s.Amount}, s.At})
	}
	for i := range q.Refunds {
		told = append(told, toldAt{PaymentFacts{Refund: &q.Refunds[i]}, q.Refunds[i].UpdatedAt})
	}
	for i := range q.Disputes {
		told = append(told, toldAt{PaymentFacts{Dispute: &q.Disputes[i]}, q.Disputes[i].UpdatedAt})
	}
	for _, t := range told {
		if p.checkFacts(t.facts) == "" {
			p.merge(t.facts, t.at, now)
		}
	}
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

// applyAccountEvent keeps the connected account's status on its company
// current: account.updated (charges enabled, details submitted, what Stripe
// still asks for) and account.application.deauthorized (the account
// disconnected the platform: no new links until the platform connects one
// again).
func (s *Service) applyAccountEvent(ctx context.Context, ev *WebhookEvent) (EventResult, error) {
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, ReceivedAt: now}
	st, err := s.store.LoadEventState(ctx, EventKeys{EventID: ev.ID, AccountID: ev.AccountID, AccountOwner: true})
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.duplicate(ctx, st.Seen)
	}
	c := st.Company
	if c == nil || c.StripeAccountID != ev.AccountID {
		return s.ignore(ctx, rec, IgnoredUnknownAccount)
	}
	rec.CompanyID = c.ID
	old := StripeAccount{}
	if c.Stripe != nil {
		old = *c.Stripe
	}
	next := *c
	switch ev.Type {
	case EventAccountUpdated:
		if ev.Account == nil {
			return s.reject(ctx, rec, RejectInvalidStatus)
		}
		// Stripe said something newer already. Events are stamped to the
		// second: one of the same second as the last read may be newer.
		if ev.Created.Before(old.AsOf.Truncate(time.Second)) {
			return s.ignore(ctx, rec, IgnoredStale)
		}
		a := *ev.Account
		a.AsOf, a.CreatedByPlatform, a.Deauthorized = ev.Created, old.CreatedByPlatform, old.Deauthorized
		next.Stripe = &a
	case EventAccountDeauthorized:
		a := old
		a.Deauthorized = true
		if ev.Created.After(a.AsOf) {
			a.AsOf = ev.Created
		}
		next.Stripe = &a
	}
	next.Version, next.UpdatedAt = c.Version+1, now
	rec.Outcome = OutcomeApplied
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec, Company: &next}); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
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
	if seen.Outcome != OutcomeApplied || seen.InvoiceID == "" {
		return EventResult{Outcome: OutcomeDuplicate}, nil
	}
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, seen.CompanyID, seen.InvoiceID)
	if err != nil {
		return EventResult{}, err
	}
	if err := s.followUp(ctx, inv, company); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeDuplicate}, nil
}

// followUp finishes what a recorded event leaves to do: a half-done link
// change on the invoice, and ending a link that no longer asks for what is
// due. It fails (so Stripe redelivers) while another request holds the
// invoice, since that request may have died.
func (s *Service) followUp(ctx context.Context, inv *Invoice, company *Company) error {
	if !inv.needsReconcile() && inv.Plan == nil {
		return nil
	}
	inv, err := s.settle(ctx, inv, company)
	if err != nil {
		return err
	}
	inv, err = s.reconcileLink(ctx, inv, company)
	if err != nil {
		return err
	}
	if inv.needsReconcile() {
		return conflictError()
	}
	return nil
}

// needsReconcile reports an active link that no longer asks for what is
// due, or that must not take a payment while another one clears.
func (inv *Invoice) needsReconcile() bool {
	a := inv.ActiveLink()
	return a != nil && (inv.processing() || a.Amount != inv.BalanceDue || a.Currency != inv.Currency)
}

// reconcileLink ends the active link when it no longer asks for what is due:
// the invoice was paid (or a payment is clearing) through another link, or
// the amount changed under it. A link must never take a second payment.
func (s *Service) reconcileLink(ctx context.Context, inv *Invoice, company *Company) (*Invoice, error) {
	for range maxAttempts {
		if !inv.needsReconcile() {
			return inv, nil
		}
		a := inv.ActiveLink()
		if inv.Plan != nil && s.clock().Before(inv.Plan.LeaseUntil) {
			return inv, nil // the request holding the invoice reconciles when it is done
		}
		reason := ReasonAmountChanged
		if inv.processing() || inv.PaidOnline() {
			reason = ReasonPaidOnline
		}
		plan := &LinkPlan{End: &LinkEnd{Generation: a.Generation, Status: LinkRemoved, Reason: reason}}
		if inv.Plan != nil {
			p := *inv.Plan // a stale plan goes first
			plan = &p
		}
		stored, _, err := s.runPlan(ctx, inv, company, plan, planHooks{})
		if !errors.Is(err, errRetry) {
			return stored, err
		}
		if inv, err = s.store.GetInvoice(ctx, inv.CompanyID, inv.ID); err != nil {
			return nil, storeError("read invoice", err)
		}
	}
	return inv, conflictError()
}
