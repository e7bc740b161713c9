package billing

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
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

// HandlePaymentEvent applies a verified Stripe event to the invoice it is
// about, exactly once: the event's record, the invoice, the payment's
// reference and the feed entries are written in one conditional transaction,
// so a second delivery (even a concurrent one) finds the record and changes
// nothing. It returns an error only for failures worth a retry by Stripe.
func (s *Service) HandlePaymentEvent(ctx context.Context, ev *PaymentEvent) (EventOutcome, error) {
	if !handled(ev.Type) {
		return OutcomeIgnored, nil
	}
	for attempt := 0; attempt < maxEventAttempts; attempt++ {
		out, err := s.applyEvent(ctx, ev)
		switch {
		case errors.Is(err, ErrDuplicateEvent):
			return OutcomeDuplicate, nil
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
			return "", &Error{Code: CodeUnavailable, Message: "the invoice is busy; deliver again later", RetryAfter: time.Second, Err: err}
		case err != nil:
			return "", storeError("apply event", err)
		default:
			return out, nil
		}
		break
	}
	return "", &Error{Code: CodeUnavailable, Message: "too many concurrent changes to this invoice; retry", RetryAfter: time.Second}
}

func (s *Service) applyEvent(ctx context.Context, ev *PaymentEvent) (EventOutcome, error) {
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, CompanyID: ev.CompanyID, InvoiceID: ev.InvoiceID, ReceivedAt: now}
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
		return "", err
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
			return "", err
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
	if ev.isSessionEvent() {
		// The metadata must name a link we made, on the account the event
		// comes from: a clinic's own integration can't move another
		// tenant's balance by copying our metadata.
		l := inv.link(ev.Generation)
		if l == nil || l.ID != ev.Facts.LinkID {
			return s.ignore(ctx, rec, IgnoredUnknownLink)
		}
		if l.AccountID != ev.AccountID {
			return s.ignore(ctx, rec, IgnoredAccountMismatch)
		}
	}

	next := cloneInvoice(inv)
	var pending *Payment
	if ref != nil {
		pending = ref.Pending
	}
	feed := next.recordPayment(ev, pending, now)
	next.Version++
	next.UpdatedAt = now
	commit := &PaymentCommit{Event: rec, Invoice: next, FeedHead: st.FeedHead, Feed: feed}
	commit.Event.Outcome = OutcomeApplied
	if pi := ev.Facts.PaymentIntentID; pi != "" && (ref == nil || ref.InvoiceID == "" || ref.Pending != nil) {
		commit.Ref = &PaymentRef{AccountID: ev.AccountID, PaymentIntentID: pi, CompanyID: next.CompanyID, InvoiceID: next.ID, Version: 1}
		if ref != nil {
			commit.Ref.Version = ref.Version + 1
		}
	}
	if err := s.store.CommitPaymentEvent(ctx, commit); err != nil {
		return "", err
	}
	for _, e := range feed {
		switch e.Kind {
		case KindPaymentSucceeded:
			s.metrics.Count(ctx, MetricPaymentsRecorded, 1)
		case KindRefund:
			s.metrics.Count(ctx, MetricRefundsRecorded, 1)
		case KindDisputeOpened:
			s.metrics.Count(ctx, MetricDisputesOpened, 1)
		}
	}
	s.reach(ctx, StepEventRecorded)
	// A payment through one link leaves no other link payable. If that
	// can't be done now, the delivery fails so Stripe delivers it again;
	// the redelivery (a duplicate) finishes it.
	if err := s.followUp(ctx, next, st.Company); err != nil {
		return "", err
	}
	return OutcomeApplied, nil
}

// recordPayment folds the event's facts (and any kept while the invoice was
// unknown) into the invoice's payment, moves the balance accordingly, marks
// the link used, and returns the feed entries for what changed.
func (inv *Invoice) recordPayment(ev *PaymentEvent, pending *Payment, now time.Time) []FeedEntry {
	netBefore := inv.netPaid()
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
		p.mergePayment(pending, now)
	}
	p.merge(ev.Facts, now)
	if ev.isSessionEvent() {
		if l := inv.link(ev.Generation); l != nil {
			p.LinkGeneration = l.Generation
			switch l.Status {
			case LinkReplaced, LinkRemoved:
				p.ViaInactiveLink = true
			case LinkActive:
				// Its one checkout is done; Stripe deactivated it
				// (restrictions.completed_sessions.limit = 1).
				l.Status, l.EndedAt = LinkCompleted, now
			}
		}
	}
	inv.settleBalance(netBefore)

	entries := changes(&before, p)
	status := inv.Status()
	for i := range entries {
		e := &entries[i]
		e.InvoiceID, e.BalanceDue, e.Overpaid, e.Status, e.RecordedAt, e.EventID = inv.ID, inv.BalanceDue, inv.Overpaid, status, now, ev.ID
		if e.Currency == "" {
			e.Currency = inv.Currency
		}
		if e.Kind == KindPaymentSucceeded {
			if p.ViaInactiveLink {
				e.Flags = append(e.Flags, FlagViaInactiveLink)
			}
			if inv.Overpaid > 0 {
				e.Flags = append(e.Flags, FlagOverpaid)
			}
		}
	}
	return entries
}

// keepPending stores a refund's or a dispute's facts on the payment's
// reference until the payment itself is seen.
func (s *Service) keepPending(ctx context.Context, rec EventRecord, ev *PaymentEvent, ref *PaymentRef, now time.Time) (EventOutcome, error) {
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
	next.Pending.merge(ev.Facts, now)
	rec.Outcome = OutcomePending
	if err := s.store.CommitPaymentEvent(ctx, &PaymentCommit{Event: rec, Ref: next}); err != nil {
		return "", err
	}
	return OutcomePending, nil
}

// ignore records an event that must not be applied.
func (s *Service) ignore(ctx context.Context, rec EventRecord, reason string) (EventOutcome, error) {
	rec.Outcome, rec.Reason = OutcomeIgnored, reason
	if err := s.store.CommitPaymentEvent(ctx, &PaymentCommit{Event: rec}); err != nil {
		return "", err
	}
	s.metrics.Count(ctx, MetricWebhookEventsIgnored, 1)
	return OutcomeIgnored, nil
}

// duplicate answers a second delivery. If the first one's follow-up (ending
// another link) did not finish, this is the moment to finish it.
func (s *Service) duplicate(ctx context.Context, seen *EventRecord) (EventOutcome, error) {
	if seen.Outcome != OutcomeApplied || seen.CompanyID == "" {
		return OutcomeDuplicate, nil
	}
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, seen.CompanyID, seen.InvoiceID)
	if err != nil {
		return "", err
	}
	if err := s.followUp(ctx, inv, company); err != nil {
		return "", err
	}
	return OutcomeDuplicate, nil
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

// Feed page sizes.
const (
	DefaultFeedPage = 50
	MaxFeedPage     = 100
)

// ListPayments returns the tenant's feed after the cursor (from the start
// when it is empty), the cursor to continue from, and whether more entries
// are already there.
func (s *Service) ListPayments(ctx context.Context, tenant, cursor string, limit int) ([]FeedEntry, string, bool, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", false, err
	}
	if limit == 0 {
		limit = DefaultFeedPage
	}
	if limit < 1 || limit > MaxFeedPage {
		return nil, "", false, Invalid("limit", "limit must be between 1 and %d", MaxFeedPage)
	}
	entries, more, err := s.store.ListFeed(ctx, tenant, after, limit)
	if err != nil {
		return nil, "", false, storeError("list feed", err)
	}
	next := cursor
	if len(entries) > 0 {
		next = EncodeCursor(entries[len(entries)-1].Seq)
	}
	return entries, next, more, nil
}

// EncodeCursor makes the opaque cursor that continues after seq.
func EncodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("feed.v1." + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	bad := Invalid("after", "after must be a cursor returned by this API")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, bad
	}
	n, ok := strings.CutPrefix(string(raw), "feed.v1.")
	if !ok {
		return 0, bad
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	if err != nil || seq < 0 {
		return 0, bad
	}
	return seq, nil
}
