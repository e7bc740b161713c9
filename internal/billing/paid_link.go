package billing

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// A paid link says so. A link takes one checkout; then Stripe shows its
// inactive message, which at creation tells the patient to contact the
// clinic to pay. Once a payment through the link succeeded, the link's
// message becomes "paid, thank you" in the patient's language, so a patient
// who opens the e-mail again is not sent to the phone.
//
// The notice is owed in the write that records the payment (so it is
// decided once, whatever the deliveries), and told to Stripe after it:
// never in the way of the money. A try that fails is counted and left to
// the next delivery or scheduler run; Stripe is told the same thing each
// time, so a try repeated after a crash changes nothing.

// PaidNotice is where telling Stripe a link was paid stands.
type PaidNotice string

// Paid notice states ("" for a link not paid through).
const (
	PaidNoticeOwed   PaidNotice = "owed"
	PaidNoticeDone   PaidNotice = "done"
	PaidNoticeFailed PaidNotice = "failed" // given up after MaxSendTries tries
)

// paidNoticeRetry is the wait after a first failed try; it doubles with
// each one after.
const paidNoticeRetry = 5 * time.Minute

// owePaidNotices marks owed the notice of each link completed by a payment
// that succeeded (a debit's once it clears): in the event's own write.
func (inv *Invoice) owePaidNotices(now time.Time) {
	for i := range inv.Links {
		l := &inv.Links[i]
		if l.Status != LinkCompleted || l.PaidNotice != "" || l.ID == "" {
			continue
		}
		paid := slices.ContainsFunc(inv.Payments, func(p Payment) bool {
			return p.LinkGeneration == l.Generation && p.State == PaymentSucceeded
		})
		if paid {
			l.PaidNotice, l.PaidNoticeAt = PaidNoticeOwed, now
		}
	}
}

// noticePaidLinks tells Stripe the message of each paid link whose notice
// is due at now (a scheduler run's time: make dev and the tests run it
// ahead), and records each try. It returns the invoice as last stored and
// never fails: a failed try is counted and tried again later.
func (s *Service) noticePaidLinks(ctx context.Context, inv *Invoice, c *Company, now time.Time) *Invoice {
	if s.payments == nil {
		return inv
	}
	for _, l := range slices.Clone(inv.Links) {
		if l.PaidNotice != PaidNoticeOwed || l.PaidNoticeAt.After(now) {
			continue
		}
		clinic := ""
		if c != nil {
			clinic = c.Name
		}
		key := idempotencyKey(inv.CompanyID, inv.ID, l.Generation, fmt.Sprintf("%s-%d", StepPaidMessage, l.PaidNoticeTries+1))
		err := s.payments.SetInactiveMessage(ctx, l.AccountID, l.ID, paidMessage(l.Language, clinic), key)
		at := s.clock()
		if now.After(at) {
			at = now // a run ahead of the clock retries after its own time
		}
		stored, cerr := s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error {
			if x := next.link(l.Generation); x != nil && x.PaidNotice == PaidNoticeOwed && x.PaidNoticeTries == l.PaidNoticeTries {
				x.paidNoticeTried(err, at)
			}
			return nil
		})
		switch {
		case err != nil && l.PaidNoticeTries+1 >= MaxSendTries:
			s.metrics.Count(ctx, MetricPaidLinkMessagesFailed, 1)
		case err != nil || cerr != nil:
			s.metrics.Count(ctx, MetricPaidLinkMessagesDeferred, 1)
		}
		if cerr == nil {
			inv = stored
		}
	}
	return inv
}

// paidNoticeTried records a try: done, due again later, or given up.
func (l *Link) paidNoticeTried(err error, at time.Time) {
	l.PaidNoticeTries++
	switch {
	case err == nil:
		l.PaidNotice, l.PaidNoticeAt = PaidNoticeDone, at
	case l.PaidNoticeTries >= MaxSendTries:
		l.PaidNotice, l.PaidNoticeAt = PaidNoticeFailed, at
	default:
		l.PaidNoticeAt = at.Add(paidNoticeRetry << (l.PaidNoticeTries - 1))
	}
}
