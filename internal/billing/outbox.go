package billing

import (
	"context"
	"errors"
	"slices"
	"time"
)

// The outbox: receipts and reminders are decided in one write (a payment
// recorded, a reminder step reached) and sent after it. The decision is kept
// on the invoice as an Outbound, written in the same write as its cause, and
// leaves only in the write that records the e-mail sent: so each is sent
// once, whatever the deliveries, retries and crashes in between.
//
// A send is an attempt, marked on the outbound (its token and time) in the
// write that holds the invoice for it (the lease). If the process dies after
// SES took the e-mail and before it was recorded, the attempt stays marked:
// SES's events about the e-mail carry its reference (company, invoice, key,
// attempt) and record it (HandleEmailEvent); only when no event came for
// confirmWindow is it sent again, by the scheduler.

// confirmWindow is how long an attempt whose fate is unknown (a timeout
// talking to SES) waits for SES's events before it is sent again. SES
// publishes within seconds, but the e-mail events function may take up to
// an hour to get an event (EventBridge's retries: MaximumEventAgeInSeconds
// 3600 in template.yaml); an attempt SES answered with an error is retried
// at the next run instead.
const confirmWindow = time.Hour

// Outbound is an e-mail the service owes the patient.
type Outbound struct {
	// Key names it: receipt-<PaymentIntent>, reminder-<step>.
	Key  string
	Kind EmailKind
	// PaymentIntentID is a receipt's payment.
	PaymentIntentID string
	CreatedAt       time.Time
	// The attempt in flight ("" before the first): its token, when it
	// started, and what it sends (recorded as such if SES's event records
	// it).
	Attempt   string
	AttemptAt time.Time
	// PastAttempts are earlier attempts' tokens: an attempt taken for lost
	// may still have left, and SES's late event about it records it.
	PastAttempts   []string
	To             string
	Language       Language
	LinkGeneration int
	PDF            bool
	Tries          int
}

// MaxSendTries: an outbound whose sends never get through after this many
// attempts is recorded as rejected, so it stops being retried.
const MaxSendTries = 5

// readyAt is when the outbound may be sent (again).
func (o *Outbound) readyAt() time.Time {
	if o.Attempt == "" {
		return o.CreatedAt
	}
	return o.AttemptAt.Add(confirmWindow)
}

// ready reports whether a run at now may send the outbound: a new one once
// its time came; one whose attempt's fate is unknown only once
// confirmWindow has really passed, on the service's clock (the time
// attempts are marked with), whatever time the run is for: make dev and
// the tests run the scheduler for days ahead, and an attempt still in
// flight must not be taken for lost by such a run.
func (o *Outbound) ready(now, clock time.Time) bool {
	if o.Attempt == "" {
		return !o.CreatedAt.After(now)
	}
	return !o.readyAt().After(clock)
}

// outbound returns the outbound with key, nil when none.
func (inv *Invoice) outbound(key string) *Outbound {
	for i := range inv.Outbox {
		if inv.Outbox[i].Key == key {
			return &inv.Outbox[i]
		}
	}
	return nil
}

// owes reports whether an e-mail with key is sent or on its way.
func (inv *Invoice) owes(key string) bool {
	return inv.outbound(key) != nil || slices.ContainsFunc(inv.Emails, func(e SentEmail) bool { return e.Key == key })
}

// dropOutbound removes the outbound with key.
func (inv *Invoice) dropOutbound(key string) {
	inv.Outbox = slices.DeleteFunc(inv.Outbox, func(o Outbound) bool { return o.Key == key })
}

// recordAttempt records the attempt ref names as sent, with SES's message
// id, if that attempt is the one in flight or one taken for lost (still in
// the outbox, or recorded beside a later attempt that was sent), or a
// staff e-mail's marked attempt: it reports whether it did.
func (inv *Invoice) recordAttempt(ref mailRef, ev *EmailEvent) bool {
	if ev.MessageID == "" {
		return false
	}
	if ref.Key == string(EmailInvoice) {
		return inv.recordEmailAttempt(ref.Attempt, ev) // a staff e-mail (email_attempt.go)
	}
	if o := inv.outbound(ref.Key); o != nil && (o.Attempt == ref.Attempt || slices.Contains(o.PastAttempts, ref.Attempt)) {
		inv.Emails = append(inv.Emails, o.sent(ev.MessageID, ev.At.UTC()))
		if o.Attempt == ref.Attempt {
			inv.dropOutbound(o.Key)
		} else {
			o.PastAttempts = slices.DeleteFunc(o.PastAttempts, func(a string) bool { return a == ref.Attempt })
		}
		return true
	}
	for i := range inv.Emails {
		if e := &inv.Emails[i]; e.Key == ref.Key && slices.Contains(e.EarlierAttempts, ref.Attempt) {
			// An attempt taken for lost that did leave, after the next
			// one was recorded: the patient got it twice; both are kept.
			late := *e
			late.MessageID, late.SentAt, late.Delivery, late.EarlierAttempts = ev.MessageID, ev.At.UTC(), EmailDelivery{}, nil
			e.EarlierAttempts = slices.DeleteFunc(e.EarlierAttempts, func(a string) bool { return a == ref.Attempt })
			inv.Emails = append(inv.Emails, late)
			return true
		}
	}
	return false
}

// sent is the record of the outbound's attempt, taken by SES; it keeps the
// earlier attempts' tokens, in case one of them left too.
func (o *Outbound) sent(messageID string, at time.Time) SentEmail {
	return SentEmail{MessageID: messageID, To: o.To, Language: o.Language, SentAt: at, Kind: o.Kind, Key: o.Key,
		LinkGeneration: o.LinkGeneration, PDF: o.PDF, EarlierAttempts: slices.Clone(o.PastAttempts)}
}

// NextWorkAt is when the scheduler should next look at the invoice (the
// store indexes it; zero: nothing to do): an outbound to send, the next
// reminder step while reminders may go, or a paid link's message to tell
// Stripe (paid_link.go).
func (inv *Invoice) NextWorkAt() time.Time {
	var at time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	for i := range inv.Outbox {
		consider(inv.Outbox[i].readyAt())
	}
	for i := range inv.Links {
		if l := &inv.Links[i]; l.PaidNotice == PaidNoticeOwed {
			consider(l.PaidNoticeAt)
		}
	}
	if step := inv.nextStep(); step != nil && inv.remindable() {
		consider(step.At)
	}
	// A link change left half done by a request that died: the scheduler
	// finishes it once its lease ran out (a link it made may be in a
	// patient's e-mail).
	if l := inv.Lease; l != nil && l.Change != nil {
		consider(l.Until)
	}
	// A reader attempt gone quiet: the scheduler asks Stripe about it.
	consider(inv.readerCheckAt())
	// A refund on a reader gone quiet, likewise (reader_refund_events.go).
	consider(inv.refundCheckAt())
	return at
}

// remindable is reminderBlocker without the company: what the invoice alone
// says (the policy is in the plan).
func (inv *Invoice) remindable() bool {
	return !inv.Reminders.Paused && inv.BalanceDue > 0 && !inv.PaidOnline() && !inv.processing() && !inv.addressSuppressed()
}

// deliverOutbox sends the invoice's outbounds that are ready at now. It
// returns the invoice as last stored; errors are returned after every
// outbound was tried (the outbox keeps what failed for the scheduler).
func (s *Service) deliverOutbox(ctx context.Context, inv *Invoice, company *Company, now time.Time) (*Invoice, error) {
	var errs []error
	for _, o := range slices.Clone(inv.Outbox) {
		if !o.ready(now, s.clock()) {
			continue
		}
		next, err := s.sendOutbound(ctx, inv, company, o.Key, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		inv = next
	}
	return inv, errors.Join(errs...)
}

// sendOutbound sends one outbound, holding the invoice meanwhile (a
// reminder's link can't be ended before it leaves), and records it.
func (s *Service) sendOutbound(ctx context.Context, inv *Invoice, company *Company, key string, now time.Time) (*Invoice, error) {
	return s.retryingInvoice(ctx, contention, inv, func(cur *Invoice) (*Invoice, error) {
		return s.sendOutboundOnce(ctx, cur, company, key, now)
	})
}

// sendOutboundOnce is one attempt at sendOutbound, from the invoice as
// stored now; errRetry when another writer got there first.
func (s *Service) sendOutboundOnce(ctx context.Context, inv *Invoice, company *Company, key string, now time.Time) (*Invoice, error) {
	o := inv.outbound(key)
	if o == nil || !o.ready(now, s.clock()) {
		return inv, nil // sent meanwhile, or another attempt is in flight
	}
	if o.Tries >= MaxSendTries || company == nil {
		return s.recordFailed(ctx, inv, key, now)
	}
	mail, err := s.prepareOutbound(ctx, inv, company, o, now)
	if errors.Is(err, errNothingToSend) {
		return s.dropOutbound(ctx, inv, key)
	}
	if err != nil {
		return inv, err
	}
	if !mail.wantsLink {
		return s.sendPlain(ctx, inv, company, key, mail, now)
	}
	settled, _, _, err := s.settle(ctx, inv, company)
	if err != nil {
		return inv, err
	}
	inv = settled
	w := &outboundSend{s: s, company: company, key: key, mail: mail, link: currentLink(inv, company)}
	if w.link == nil && LinkBlocker(inv, company) == nil {
		w.change = replaceWith(inv, newLinkFor(inv, company, mail.lang, key))
	}
	stored, _, err := s.carryOut(ctx, inv, company, w.change, w)
	if errors.Is(err, errRetry) {
		return nil, err // the claim lost: nothing was tried
	}
	if err != nil {
		// Stripe failed before the e-mail was tried, or SES answered
		// with an error: nothing left, the attempt is cleared for the
		// next run. Otherwise (a timeout) it may have left: it waits
		// for SES's events.
		if w.token != "" && (!w.mailTried || errors.Is(err, ErrNotSent)) {
			return inv, errors.Join(err, s.clearAttempt(ctx, inv.CompanyID, inv.ID, key, w.token, Throttled(err)))
		}
		return inv, err
	}
	if w.sent != nil {
		s.metrics.Count(ctx, MetricEmailsSent, 1)
	}
	return stored, nil
}

// outboundSend is the work of the lease that holds the invoice while an
// outbound carrying its link is sent.
type outboundSend struct {
	noWork
	s       *Service
	company *Company
	key     string
	mail    preparedMail
	link    *Link       // the link it carries
	change  *LinkChange // the link made for it, if any
	// token is the lease's, which marks the attempt (a late SES event
	// finds it by it); mailTried: the e-mail was handed to SES.
	token     string
	mailTried bool
	sent      *SentEmail
}

// claimed marks the outbound's attempt in the write that takes the lease.
func (w *outboundSend) claimed(next *Invoice, token string) {
	w.token = token
	if x := next.outbound(w.key); x != nil {
		x.startAttempt(token, w.s.clock(), w.mail)
		if w.link != nil {
			x.LinkGeneration = w.link.Generation
		}
		if w.change != nil && w.change.Make != nil {
			x.LinkGeneration = w.change.Make.Generation
		}
	}
}

// afterStripe sends the e-mail with the link just made, or the one held.
func (w *outboundSend) afterStripe(ctx context.Context, claimed *Invoice, made *Link) error {
	if made != nil {
		w.link = made
	}
	w.mailTried = true
	id, err := w.s.sendMail(ctx, claimed, w.company, w.mail, w.link, mailRef{claimed.CompanyID, claimed.ID, w.key, w.token})
	if err != nil {
		return err
	}
	if o := claimed.outbound(w.key); o != nil {
		e := o.sent(id, w.s.clock())
		w.sent = &e
	}
	return nil
}

// finish records the e-mail sent, if this attempt still owns the outbound.
func (w *outboundSend) finish(next *Invoice) {
	if x := next.outbound(w.key); w.sent != nil && x != nil && x.Attempt == w.token {
		next.Emails = append(next.Emails, *w.sent)
		next.dropOutbound(w.key)
	}
}

// startAttempt marks a new attempt to send the outbound; an earlier one's
// token is kept, so a late SES event about it still records it.
func (o *Outbound) startAttempt(token string, at time.Time, mail preparedMail) {
	if o.Attempt != "" {
		o.PastAttempts = append(o.PastAttempts, o.Attempt)
	}
	o.Attempt, o.AttemptAt, o.To, o.Language, o.PDF, o.LinkGeneration = token, at, mail.to, mail.lang, mail.pdf, 0
	o.Tries++
}

// clearAttempt forgets an attempt that certainly sent nothing, so the next
// run sends the outbound again (after MaxSendTries it is recorded failed).
// An attempt SES throttled is not a try (refund): the account's sending
// rate was reached, nothing is wrong with the e-mail, and it must wait
// for its turn however long the queue is, never be given up.
func (s *Service) clearAttempt(ctx context.Context, companyID, invoiceID, key, token string, refund bool) error {
	cur, err := s.store.GetInvoice(ctx, companyID, invoiceID)
	if err != nil {
		return storeError("read invoice", err)
	}
	_, err = s.changeInvoice(ctx, commitPolicy, cur, func(next *Invoice) error {
		if x := next.outbound(key); x != nil && x.Attempt == token {
			x.Attempt, x.AttemptAt = "", time.Time{}
			if refund && x.Tries > 0 {
				x.Tries--
			}
		}
		return nil
	})
	return err
}

// sendPlain sends an outbound that carries no link (a receipt, a reminder
// without the Pay button): no one can change what it says meanwhile, so it
// needs no lease. Its attempt is marked in a conditional write first (two
// senders can't both mark it), then it is sent and recorded.
func (s *Service) sendPlain(ctx context.Context, inv *Invoice, company *Company, key string, mail preparedMail, now time.Time) (*Invoice, error) {
	token := s.newToken()
	next, err := s.saveChange(ctx, inv, func(next *Invoice) error {
		next.outbound(key).startAttempt(token, s.clock(), mail)
		return nil
	})
	if errors.Is(err, errRetry) {
		return inv, nil // another sender marked it first (or the invoice changed): the outbox keeps it
	} else if err != nil {
		return inv, err
	}
	id, err := s.sendMail(ctx, next, company, mail, nil, mailRef{inv.CompanyID, inv.ID, key, token})
	if err != nil {
		if errors.Is(err, ErrNotSent) {
			return next, errors.Join(err, s.clearAttempt(ctx, inv.CompanyID, inv.ID, key, token, Throttled(err)))
		}
		return next, err // it may have left: the attempt waits for SES's events, then the scheduler
	}
	sent := next.outbound(key).sent(id, s.clock())
	stored, err := s.changeInvoice(ctx, commitPolicy, next, func(cur *Invoice) error {
		if x := cur.outbound(key); x != nil && x.Attempt == token {
			cur.Emails = append(cur.Emails, sent)
			cur.dropOutbound(key)
		}
		return nil
	})
	if err != nil {
		return next, err
	}
	s.metrics.Count(ctx, MetricEmailsSent, 1)
	return stored, nil
}

// Throttled reports an e-mail SES did not take because the account's
// sending rate was reached (or SES was briefly unavailable): it is sent
// later, as it is.
func Throttled(err error) bool {
	return ErrorCode(err) == CodeEmailProviderUnavailable && errors.Is(err, ErrNotSent)
}

// errNothingToSend: the outbound is no longer owed (the payment it would
// acknowledge is gone, the reminder's invoice was paid meanwhile).
var errNothingToSend = errors.New("nothing to send")

// dropOutbound removes an outbound that is no longer owed.
func (s *Service) dropOutbound(ctx context.Context, inv *Invoice, key string) (*Invoice, error) {
	return s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error { next.dropOutbound(key); return nil })
}

// recordFailed records an outbound that could not be sent in
// MaxSendTries attempts (SES refusing the sender, say) as a failed e-mail
// (staff see it; it says nothing of the patient's address, so it stops
// nothing), and removes it from the outbox.
func (s *Service) recordFailed(ctx context.Context, inv *Invoice, key string, now time.Time) (*Invoice, error) {
	s.metrics.Count(ctx, MetricEmailsFailed, 1)
	return s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error {
		o := next.outbound(key)
		if o == nil {
			return nil
		}
		e := o.sent("", now)
		if e.To == "" {
			e.To = next.Patient.Email
		}
		e.Delivery = EmailDelivery{Status: EmailFailed, At: now}
		next.Emails = append(next.Emails, e)
		next.dropOutbound(key)
		return nil
	})
}
