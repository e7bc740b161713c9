package billing

import (
	"slices"
	"time"
)

// PaymentState is how far a payment got. Stripe may deliver an event twice,
// late or out of order, so a payment's state only ever moves up this order
// (processing < failed < succeeded): the most advanced fact wins, whatever
// the order the facts arrived in. A payment can succeed after a delayed
// method first looked failed; it can't un-succeed.
type PaymentState string

// Payment states.
const (
	PaymentProcessing PaymentState = "processing"
	PaymentFailed     PaymentState = "failed"
	PaymentSucceeded  PaymentState = "succeeded"
)

func (s PaymentState) rank() int {
	switch s {
	case PaymentProcessing:
		return 1
	case PaymentFailed:
		return 2
	case PaymentSucceeded:
		return 3
	}
	return 0
}

// Payment is one payment made through a payment link, keyed by its Stripe
// PaymentIntent, with what was refunded and disputed since.
type Payment struct {
	PaymentIntentID string
	SessionID       string
	ChargeID        string
	LinkID          string
	LinkGeneration  int
	Amount          int64
	Currency        string
	State           PaymentState
	// Refunded is the charge's cumulative amount refunded.
	Refunded int64
	Disputes []Dispute
	// ViaInactiveLink: paid through a link that had been replaced or removed
	// (a patient who opened the page before it was deactivated).
	ViaInactiveLink bool
	RecordedAt      time.Time
	PaidAt          time.Time
	RefundedAt      time.Time
}

// Dispute is a chargeback on a payment.
type Dispute struct {
	ID        string
	Amount    int64
	Status    string // Stripe's dispute status
	UpdatedAt time.Time
}

// Open reports a dispute that is not settled yet.
func (d Dispute) Open() bool {
	switch d.Status {
	case "won", "lost", "warning_closed", "charge_refunded":
		return false
	}
	return true
}

// Lost reports a dispute the clinic lost: the money went back to the card.
func (d Dispute) Lost() bool { return d.Status == "lost" }

// disputeRank orders dispute statuses as a dispute lives them: awaiting the
// clinic's response, under review, closed. A later status never gives way to
// an earlier one delivered late.
func disputeRank(status string) int {
	switch status {
	case "warning_needs_response", "needs_response":
		return 1
	case "warning_under_review", "under_review":
		return 2
	}
	if !(Dispute{Status: status}).Open() {
		return 3
	}
	return 0
}

// netPaid is what the payment takes off the balance now.
func (p *Payment) netPaid() int64 {
	if p.State != PaymentSucceeded {
		return 0
	}
	n := p.Amount - p.Refunded
	for _, d := range p.Disputes {
		if d.Lost() {
			n -= d.Amount
		}
	}
	return max(n, 0)
}

// PaymentFacts is what one Stripe event says about one payment. Zero values
// mean "this event doesn't say".
type PaymentFacts struct {
	PaymentIntentID string
	SessionID       string
	ChargeID        string
	LinkID          string
	Amount          int64
	Currency        string
	State           PaymentState
	// Refunded is the charge's cumulative amount refunded, when known.
	Refunded *int64
	Dispute  *Dispute
}

// merge folds facts into the payment, keeping the most advanced of each.
func (p *Payment) merge(f PaymentFacts, now time.Time) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&p.PaymentIntentID, f.PaymentIntentID)
	fill(&p.SessionID, f.SessionID)
	fill(&p.ChargeID, f.ChargeID)
	fill(&p.LinkID, f.LinkID)
	fill(&p.Currency, f.Currency)
	if f.Amount > p.Amount {
		p.Amount = f.Amount
	}
	if f.State.rank() > p.State.rank() {
		p.State = f.State
		if f.State == PaymentSucceeded {
			p.PaidAt = now
		}
	}
	if f.Refunded != nil && *f.Refunded > p.Refunded {
		p.Refunded = *f.Refunded
		p.RefundedAt = now
	}
	if d := f.Dispute; d != nil {
		i := slices.IndexFunc(p.Disputes, func(x Dispute) bool { return x.ID == d.ID })
		switch {
		case i < 0:
			nd := *d
			nd.UpdatedAt = now
			p.Disputes = append(p.Disputes, nd)
		case disputeRank(d.Status) > disputeRank(p.Disputes[i].Status):
			p.Disputes[i].Status, p.Disputes[i].UpdatedAt = d.Status, now
			if d.Amount > 0 {
				p.Disputes[i].Amount = d.Amount
			}
		}
	}
	if p.RecordedAt.IsZero() {
		p.RecordedAt = now
	}
}

// mergePayment folds a partial payment (facts kept while its invoice was
// unknown) into p.
func (p *Payment) mergePayment(q *Payment, now time.Time) {
	r := q.Refunded
	p.merge(PaymentFacts{PaymentIntentID: q.PaymentIntentID, SessionID: q.SessionID, ChargeID: q.ChargeID,
		LinkID: q.LinkID, Amount: q.Amount, Currency: q.Currency, State: q.State, Refunded: &r}, now)
	for i := range q.Disputes {
		p.merge(PaymentFacts{Dispute: &q.Disputes[i]}, now)
	}
}

// Feed entry kinds: every change to the money of an invoice.
const (
	KindPaymentProcessing = "payment_processing"
	KindPaymentSucceeded  = "payment_succeeded"
	KindPaymentFailed     = "payment_failed"
	KindRefund            = "refund"
	KindDisputeOpened     = "dispute_opened"
	KindDisputeUpdated    = "dispute_updated"
	KindDisputeClosed     = "dispute_closed"
)

// Flags on feed entries that ask staff to act.
const (
	FlagOverpaid        = "overpaid"          // the invoice now holds a credit to refund
	FlagViaInactiveLink = "via_inactive_link" // paid through a replaced or removed link
)

// FeedEntry is one change to the money of an invoice, in the order the
// tenant's changes were recorded. The billing module reads these to keep its
// own balance in step.
type FeedEntry struct {
	// Seq is the entry's place in the tenant's feed, given by the store.
	Seq             int64
	RecordedAt      time.Time
	InvoiceID       string
	Kind            string
	Amount          int64
	Currency        string
	BalanceDue      int64
	Overpaid        int64
	Status          string
	PaymentIntentID string
	DisputeID       string
	DisputeStatus   string
	EventID         string
	Flags           []string
}

// changes lists the feed entries for the difference between before and
// after (the same payment, before and after a merge).
func changes(before, after *Payment) []FeedEntry {
	var out []FeedEntry
	add := func(kind string, amount int64) {
		out = append(out, FeedEntry{Kind: kind, Amount: amount, PaymentIntentID: after.PaymentIntentID, Currency: after.Currency})
	}
	if after.State != before.State {
		switch after.State {
		case PaymentProcessing:
			add(KindPaymentProcessing, after.Amount)
		case PaymentFailed:
			add(KindPaymentFailed, after.Amount)
		case PaymentSucceeded:
			add(KindPaymentSucceeded, after.Amount)
		}
	}
	if after.Refunded > before.Refunded && after.State == PaymentSucceeded {
		add(KindRefund, after.Refunded-before.Refunded)
	}
	for _, d := range after.Disputes {
		i := slices.IndexFunc(before.Disputes, func(x Dispute) bool { return x.ID == d.ID })
		kind := ""
		switch {
		case i < 0 && d.Open():
			kind = KindDisputeOpened
		case i < 0 || (before.Disputes[i].Open() && !d.Open()):
			kind = KindDisputeClosed
		case before.Disputes[i].Status != d.Status:
			kind = KindDisputeUpdated
		}
		if kind != "" {
			add(kind, d.Amount)
			out[len(out)-1].DisputeID, out[len(out)-1].DisputeStatus = d.ID, d.Status
		}
	}
	return out
}

func clonePayment(p *Payment) Payment {
	c := *p
	c.Disputes = slices.Clone(p.Disputes)
	return c
}
