package billing

import (
	"context"
	"strings"
	"time"
)

// Delivery status: SES tells, through its events, what became of each
// e-mail (SES → EventBridge → the e-mail events function). An invoice shows
// the status of each of its e-mails; a bounce or a complaint also goes to
// the feed, so the billing module can have someone call the patient, and a
// hard bounce or a complaint stops reminders to that address.

// EmailStatus is what became of an e-mail.
type EmailStatus string

// The statuses of an e-mail.
const (
	EmailSent       EmailStatus = "sent"       // SES took it
	EmailDelivered  EmailStatus = "delivered"  // the recipient's server accepted it
	EmailBounced    EmailStatus = "bounced"    // it could not be delivered (BounceType says for good or not)
	EmailComplained EmailStatus = "complained" // the recipient marked it as spam
	EmailRejected   EmailStatus = "rejected"   // SES refused to send it (a virus, a suppressed address)
	// EmailFailed: the service could not send it (SES refused the sender
	// or kept failing): it never left, and says nothing of the address.
	EmailFailed EmailStatus = "failed"
)

// Bounce types, as SES names them.
const (
	BouncePermanent    = "Permanent"
	BounceTransient    = "Transient"
	BounceUndetermined = "Undetermined"
)

// EmailDelivery is the delivery status of one e-mail.
type EmailDelivery struct {
	Status        EmailStatus // "" until an event came: sent
	At            time.Time   // when it happened, by SES's clock
	BounceType    string
	BounceSubType string
}

// Status is the e-mail's status; sent until SES said more.
func (e *SentEmail) Status() EmailStatus {
	if e.Delivery.Status == "" {
		return EmailSent
	}
	return e.Delivery.Status
}

// StatusAt is when the e-mail reached its status, never before it was
// sent: SES stamps its events with its own clock, which can read a little
// earlier than the time we recorded on its answer to the send (a bounce
// "before" the e-mail left would only confuse staff). The event's own time
// stays stored, so the order of events is still decided by it.
func (e *SentEmail) StatusAt() time.Time {
	if e.Delivery.At.IsZero() || e.Delivery.At.After(e.SentAt) {
		return e.Delivery.At
	}
	return e.SentAt
}

// suppresses reports whether this e-mail's fate stops reminders to its
// address: a hard bounce, a complaint, a rejection.
func (e *SentEmail) suppresses() bool {
	switch e.Delivery.Status {
	case EmailComplained, EmailRejected:
		return true
	case EmailBounced:
		return e.Delivery.BounceType == BouncePermanent
	}
	return false
}

// rank orders what SES can say of one e-mail, so that events applied in any
// order end at the same status: a soft bounce may be followed by a
// delivery; a delivery by a complaint; nothing undoes a hard bounce. Every
// status and bounce type has its own rank, so two of them never take turns
// (and the feed never tells one twice).
func (d EmailDelivery) rank() int {
	switch d.Status {
	case EmailBounced:
		switch d.BounceType {
		case BouncePermanent:
			return 5
		case BounceTransient:
			return 1
		}
		return 2 // undetermined: SES could not tell; soft until it can
	case EmailDelivered:
		return 3
	case EmailRejected:
		return 4 // not sent, as a hard bounce is not delivered: kept apart so the two never flip
	case EmailComplained:
		return 6
	}
	return 0 // sent (or failed: no event is about an e-mail that never left)
}

// outranks reports whether d says more than cur: a higher rank, or at the
// same rank a later event (and at the same time, the subtype that sorts
// last, so that ties too end the same whatever the order of arrival).
func (d EmailDelivery) outranks(cur EmailDelivery) bool {
	if d.rank() != cur.rank() {
		return d.rank() > cur.rank()
	}
	if !d.At.Equal(cur.At) {
		return d.At.After(cur.At)
	}
	return d.BounceSubType > cur.BounceSubType
}

// deliveryOf is what an event says of an e-mail; ok is false for events
// that say nothing of its fate (send, a delay, an event type unknown).
func deliveryOf(ev *EmailEvent) (EmailDelivery, bool) {
	d := EmailDelivery{At: ev.At.UTC()}
	switch ev.Type {
	case EmailEventDelivery:
		d.Status = EmailDelivered
	case EmailEventBounce:
		d.Status, d.BounceType, d.BounceSubType = EmailBounced, ev.BounceType, ev.BounceSubType
		if d.BounceType != BouncePermanent && d.BounceType != BounceTransient {
			d.BounceType = BounceUndetermined
		}
	case EmailEventComplaint:
		d.Status = EmailComplained
	case EmailEventReject, EmailEventRenderingFailure:
		d.Status = EmailRejected
	default:
		return d, false
	}
	return d, true
}

// apply folds what an event says into the e-mail's status, keeping the
// most advanced (and, at the same rank, the latest) whatever the order of
// arrival. It reports whether the status changed.
func (e *SentEmail) apply(d EmailDelivery) bool {
	cur := e.Delivery
	if cur.Status == "" {
		cur.Status = EmailSent
	}
	if !d.outranks(cur) {
		return false
	}
	e.Delivery = d
	return true
}

// Feed entry kinds for e-mails the billing module should act on.
const (
	KindEmailBounced    = "email_bounced"
	KindEmailComplained = "email_complained"
)

// Ignored reasons of e-mail events.
const (
	IgnoredNotOurs      = "not_ours"       // no reference of ours: not an e-mail of this service
	IgnoredUnknownEmail = "unknown_email"  // the invoice has no such e-mail
	IgnoredNoNews       = "nothing_to_say" // a send or delay event: nothing changes
)

// Metrics of e-mail events.
const (
	MetricEmailsDelivered  = "EmailsDelivered"
	MetricEmailsBounced    = "EmailsBounced"
	MetricEmailsComplained = "EmailsComplained"
	MetricEmailsRejected   = "EmailsRejected"
)

// mailRef is what an e-mail's reference header says.
type mailRef struct {
	CompanyID, InvoiceID, Key, Attempt string
}

func (r mailRef) String() string {
	return r.CompanyID + "/" + r.InvoiceID + "/" + r.Key + "/" + r.Attempt
}

func parseMailRef(s string) (mailRef, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || !ValidID(parts[0]) || !ValidID(parts[1]) || parts[2] == "" || parts[3] == "" {
		return mailRef{}, false
	}
	return mailRef{parts[0], parts[1], parts[2], parts[3]}, true
}

// HandleEmailEvent applies an SES event about an e-mail exactly once: the
// event's record, the e-mail's new status and the feed entry are written in
// one conditional transaction, as for Stripe's events. An event about an
// e-mail whose sending was never recorded (the process died after SES took
// it) records it now, from the outbox, so it is not sent again.
func (s *Service) HandleEmailEvent(ctx context.Context, ev *EmailEvent) (EventResult, error) {
	return recordEvent(ctx, func() (EventResult, error) { return s.applyEmailEvent(ctx, ev) })
}

func (s *Service) applyEmailEvent(ctx context.Context, ev *EmailEvent) (EventResult, error) {
	now := s.clock()
	rec := EventRecord{ID: "ses:" + ev.ID, Type: "ses." + string(ev.Type), ReceivedAt: now}
	ref, ok := parseMailRef(ev.Ref)
	if !ok {
		return s.ignore(ctx, rec, IgnoredNotOurs)
	}
	rec.CompanyID, rec.InvoiceID = ref.CompanyID, ref.InvoiceID
	st, err := s.store.LoadEventState(ctx, EventKeys{EventID: rec.ID, CompanyID: ref.CompanyID, InvoiceID: ref.InvoiceID})
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return EventResult{Outcome: OutcomeDuplicate}, nil
	}
	if st.Invoice == nil {
		return s.ignore(ctx, rec, IgnoredUnknownInvoice)
	}
	next := cloneInvoice(st.Invoice)
	i := next.emailIndex(ev.MessageID)
	recordedNow := false
	if i < 0 && next.recordAttempt(ref, ev) {
		// Sent, but its sending was never recorded (the process died after
		// SES took it): recorded now, so the outbox does not send it again.
		i, recordedNow = next.emailIndex(ev.MessageID), true
	}
	if i < 0 {
		return s.ignore(ctx, rec, IgnoredUnknownEmail)
	}
	e := &next.Emails[i]
	d, says := deliveryOf(ev)
	before := e.Delivery
	changed := says && e.apply(d)
	var feed []FeedEntry
	if changed {
		feed = emailFeed(next, e, before, now)
		for i := range feed {
			feed[i].EventID = rec.ID
		}
	}
	if !changed && !recordedNow {
		rec.Outcome, rec.Reason = OutcomeIgnored, IgnoredNoNews
		if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec}); err != nil {
			return EventResult{}, err
		}
		return EventResult{Outcome: OutcomeIgnored, Reason: IgnoredNoNews}, nil
	}
	next.Version++
	next.UpdatedAt = now
	rec.Outcome = OutcomeApplied
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec, Invoice: next, Feed: feed}); err != nil {
		return EventResult{}, err
	}
	if changed {
		s.countDelivery(ctx, d.Status)
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

// countDelivery counts an e-mail's new delivery status.
func (s *Service) countDelivery(ctx context.Context, status EmailStatus) {
	switch status {
	case EmailDelivered:
		s.metrics.Count(ctx, MetricEmailsDelivered, 1)
	case EmailBounced:
		s.metrics.Count(ctx, MetricEmailsBounced, 1)
	case EmailComplained:
		s.metrics.Count(ctx, MetricEmailsComplained, 1)
	case EmailRejected:
		s.metrics.Count(ctx, MetricEmailsRejected, 1)
	}
}

// emailIndex is the index of the e-mail with SES's message id, or -1.
func (inv *Invoice) emailIndex(messageID string) int {
	for i := range inv.Emails {
		if messageID != "" && inv.Emails[i].MessageID == messageID {
			return i
		}
	}
	return -1
}

// emailFeed is the feed entry an e-mail's new status calls for: a bounce
// (once per bounce type) or a complaint, for the billing module to act on.
func emailFeed(inv *Invoice, e *SentEmail, before EmailDelivery, now time.Time) []FeedEntry {
	kind := ""
	switch {
	case e.Delivery.Status == EmailBounced && (before.Status != EmailBounced || before.BounceType != e.Delivery.BounceType):
		kind = KindEmailBounced
	case e.Delivery.Status == EmailComplained && before.Status != EmailComplained:
		kind = KindEmailComplained
	case e.Delivery.Status == EmailRejected && before.Status != EmailRejected:
		kind = KindEmailBounced
	default:
		return nil
	}
	return []FeedEntry{{
		Kind: kind, RecordedAt: now, InvoiceID: inv.ID, Currency: inv.Currency, BalanceDue: inv.BalanceDue, Overpaid: inv.Overpaid,
		Status: inv.Status(), Email: &FeedEmail{MessageID: e.MessageID, To: e.To, Kind: e.EmailKind(), Status: e.Delivery.Status,
			BounceType: e.Delivery.BounceType, BounceSubType: e.Delivery.BounceSubType},
	}}
}

// FeedEmail is the e-mail a feed entry is about.
type FeedEmail struct {
	MessageID     string
	To            string
	Kind          EmailKind
	Status        EmailStatus
	BounceType    string
	BounceSubType string
}
