package billing

import (
	"cmp"
	"math/bits"
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

// ReviewCurrencyMismatch: the payment came in another currency than its
// link's, or through a link whose currency is no longer the invoice's (a
// patient with an old page open). It is kept for staff to refund and never
// touches the balance.
const ReviewCurrencyMismatch = "currency_mismatch"

// Payment is one payment made through a payment link, keyed by its Stripe
// PaymentIntent, with what was refunded and disputed since.
type Payment struct {
	PaymentIntentID string
	SessionID       string
	ChargeID        string
	LinkID          string
	LinkGeneration  int
	// Amount and Currency are what the payment is worth toward the
	// invoice: its link's amount and currency (under Stripe's Adaptive
	// Pricing, the session's source amount and currency).
	Amount   int64
	Currency string
	// ChargedAmount and ChargedCurrency are what the patient was charged:
	// the same as Amount and Currency, except under Adaptive Pricing, where
	// the patient pays in their own currency. Refunds and disputes are in
	// this currency.
	ChargedAmount   int64
	ChargedCurrency string
	State           PaymentState
	// Review says why the payment does not count toward the invoice
	// (ReviewCurrencyMismatch); empty when it counts.
	Review string
	// Refunds are the charge's refunds as Stripe holds them: read from
	// Stripe on every refund event (API 2023-10-16 sends no list with a
	// charge), each at the most advanced status seen, ordered by creation.
	// ChargeRefunds is the charge's last running total (charge.refunded),
	// kept for the record: it counts no money, since a refund's fate
	// arrives apart from it and in any order.
	Refunds       []Refund
	ChargeRefunds *Snapshot
	Disputes      []Dispute
	// Channel is ChannelInPerson for a payment on a reader; "" is a link's
	// (ChannelOnlineLink).
	Channel string
	// Method is a reader payment's method (card_present or
	// interac_present, brand, last four digits); nil for a link's.
	Method *PaymentMethod
	// ViaInactiveLink: paid through a link that had been replaced or removed
	// (a patient who opened the page before it was deactivated).
	ViaInactiveLink bool
	RecordedAt      time.Time
	PaidAt          time.Time
	RefundedAt      time.Time
}

// Snapshot is an amount Stripe reported at a moment (the event's creation).
type Snapshot struct {
	Amount int64
	At     time.Time
}

// RefundStatus is Stripe's status of a refund.
type RefundStatus string

// Refund statuses. A failed or canceled refund gives the money back to the
// clinic.
const (
	RefundPending        RefundStatus = "pending"
	RefundRequiresAction RefundStatus = "requires_action"
	RefundSucceeded      RefundStatus = "succeeded"
	RefundFailed         RefundStatus = "failed"
	RefundCanceled       RefundStatus = "canceled"
)

// rank orders a refund's statuses as it lives them: a later status never
// gives way to an earlier one delivered late (a refund may fail after it
// succeeded; it can't come back from failing).
func (s RefundStatus) rank() int {
	switch s {
	case RefundPending, RefundRequiresAction:
		return 1
	case RefundSucceeded:
		return 2
	case RefundFailed, RefundCanceled:
		return 3
	}
	return 0
}

// active reports a refund that takes money back from the clinic.
func (s RefundStatus) active() bool { return s.rank() == 1 || s.rank() == 2 }

// ended reports a refund that failed or was canceled: the money stayed
// with the clinic.
func (s RefundStatus) ended() bool { return s.rank() == 3 }

// Refund is one refund of a payment, in the charged currency.
type Refund struct {
	ID        string
	Amount    int64
	Status    RefundStatus
	CreatedAt time.Time // Stripe's creation of the refund
	UpdatedAt time.Time // the event that told its status
	// Currency is the refund's currency as Stripe gave it, for checks
	// only (a refund is in its charge's currency); not kept.
	Currency string
}

// Dispute is a chargeback (or an inquiry) on a payment, in the charged
// currency.
type Dispute struct {
	ID        string
	Amount    int64
	Status    string // Stripe's dispute status
	UpdatedAt time.Time
}

// Open reports a dispute or inquiry that is not settled yet.
func (d Dispute) Open() bool { return disputeRank(d.Status) < disputeClosed }

// Lost reports a dispute the clinic lost: the money went back to the card.
func (d Dispute) Lost() bool { return d.Status == "lost" }

const disputeClosed = 5

// disputeRank orders dispute statuses as a dispute lives them: an inquiry
// (warning_*) awaiting a response, under review, then perhaps escalated to a
// chargeback (needs_response, under_review), then closed. A later status
// never gives way to an earlier one delivered late; an unknown status ranks
// nowhere and changes nothing.
func disputeRank(status string) int {
	switch status {
	case "warning_needs_response":
		return 1
	case "warning_under_review":
		return 2
	case "needs_response":
		return 3
	case "under_review":
		return 4
	case "won", "lost", "warning_closed", "charge_refunded":
		return disputeClosed
	}
	return 0
}

// counts reports a payment that counts toward its invoice.
func (p *Payment) counts() bool { return p.Review == "" && p.State == PaymentSucceeded }

// refunded is what the clinic gave back, in the charged currency: the
// refunds that succeeded or are on their way (pending, requires_action).
// A refund that failed or was canceled gave nothing back.
func (p *Payment) refunded() int64 {
	var n int64
	for _, r := range p.Refunds {
		if r.Status.active() {
			n += r.Amount
		}
	}
	return n
}

// everRefunded is what every refund known asked to give back, whatever
// became of it: a refund that failed counted once, then came back.
func (p *Payment) everRefunded() int64 {
	var n int64
	for _, r := range p.Refunds {
		n += r.Amount
	}
	return n
}

// lost is what lost disputes took back, in the charged currency.
func (p *Payment) lost() int64 {
	var n int64
	for _, d := range p.Disputes {
		if d.Lost() {
			n += d.Amount
		}
	}
	return n
}

// inInvoiceCurrency converts what refunds and lost disputes took back, in
// the charged currency, to the invoice's, pro rata (the whole charge is the
// whole payment), never more than the whole payment. The product is taken
// on 128 bits: amounts go up to MaxStripeAmount (IDR's twelve digits), and
// x*Amount overflows int64 long before (CAD 800 000.00 paid in IDR).
func (p *Payment) inInvoiceCurrency(x int64) int64 {
	switch {
	case x <= 0:
		return 0
	case p.ChargedAmount <= 0 && p.Amount > 0:
		return min(x, p.Amount)
	case p.ChargedAmount <= 0:
		return x
	case x >= p.ChargedAmount:
		return p.Amount
	case p.ChargedAmount == p.Amount && p.ChargedCurrency == p.Currency:
		return x
	}
	return mulDivRound(x, p.Amount, p.ChargedAmount)
}

// mulDivRound is x*y/d rounded half up, exactly, for 0 <= x < d and
// 0 <= y: the result is below y, so it fits.
func mulDivRound(x, y, d int64) int64 {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(d)/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(d))
	return int64(q)
}

// netPaid is what the payment brought the clinic, net of refunds and lost
// disputes, in the invoice's currency; 0 unless it counts.
func (p *Payment) netPaid() int64 {
	if !p.counts() {
		return 0
	}
	return p.Amount - p.inInvoiceCurrency(p.refunded()+p.lost())
}

// PaymentFacts is what one Stripe event says about one payment. Zero values
// mean "this event doesn't say".
type PaymentFacts struct {
	PaymentIntentID string
	SessionID       string
	ChargeID        string
	LinkID          string
	// Amount and Currency are what the patient was charged (a session's
	// amount_total, a charge's amount).
	Amount   int64
	Currency string
	// SourceAmount and SourceCurrency are a session's currency_conversion
	// (Adaptive Pricing): the link's own amount and currency.
	SourceAmount   int64
	SourceCurrency string
	State          PaymentState
	// ChargeRefunded is a charge's amount_refunded (charge.refunded).
	ChargeRefunded *int64
	Refund         *Refund
	// Refunds are every refund of the charge as Stripe answered when
	// asked (RefundsRead): the truth the events only hint at.
	Refunds     []Refund
	RefundsRead bool
	Dispute     *Dispute
}

// merge folds facts told at `at` (the event's creation) into the payment,
// keeping the most advanced of each.
func (p *Payment) merge(f PaymentFacts, at, now time.Time) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&p.PaymentIntentID, f.PaymentIntentID)
	fill(&p.SessionID, f.SessionID)
	fill(&p.ChargeID, f.ChargeID)
	fill(&p.LinkID, f.LinkID)
	if p.ChargedAmount == 0 && f.Amount > 0 && f.Currency != "" {
		p.ChargedAmount, p.ChargedCurrency = f.Amount, f.Currency
	}
	if f.State.rank() > p.State.rank() {
		p.State = f.State
		if f.State == PaymentSucceeded {
			p.PaidAt = now
		}
	}
	before := p.refunded()
	if f.ChargeRefunded != nil {
		s := p.ChargeRefunds
		if s == nil || at.After(s.At) || (at.Equal(s.At) && *f.ChargeRefunded > s.Amount) {
			p.ChargeRefunds = &Snapshot{Amount: *f.ChargeRefunded, At: at}
		}
	}
	if r := f.Refund; r != nil {
		p.mergeRefund(*r, at)
	}
	for _, r := range f.Refunds {
		p.mergeRefund(r, at)
	}
	if p.refunded() != before {
		p.RefundedAt = now
	}
	if d := f.Dispute; d != nil {
		i := slices.IndexFunc(p.Disputes, func(x Dispute) bool { return x.ID == d.ID })
		switch {
		case i < 0:
			nd := *d
			nd.UpdatedAt = now
			p.Disputes = append(p.Disputes, nd)
			slices.SortStableFunc(p.Disputes, func(a, b Dispute) int { return cmp.Compare(a.ID, b.ID) })
		case disputeRank(d.Status) > disputeRank(p.Disputes[i].Status):
			p.Disputes[i].Status, p.Disputes[i].UpdatedAt = d.Status, now
		}
	}
	if p.RecordedAt.IsZero() {
		p.RecordedAt = now
	}
}

// mergeRefund keeps a refund at the most advanced status told of it (a
// refund may fail after it succeeded; it can't come back from failing),
// in order of creation, so the same refunds read the same whatever the
// order they were told in.
func (p *Payment) mergeRefund(r Refund, at time.Time) {
	i := slices.IndexFunc(p.Refunds, func(x Refund) bool { return x.ID == r.ID })
	switch {
	case i < 0:
		r.UpdatedAt, r.Currency = at, ""
		p.Refunds = append(p.Refunds, r)
		slices.SortStableFunc(p.Refunds, func(a, b Refund) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
	case r.Status.rank() > p.Refunds[i].Status.rank():
		p.Refunds[i].Status, p.Refunds[i].UpdatedAt = r.Status, at
	}
}

// Reasons a verified event is rejected: what it says can't be true of the
// payment it names, so it is recorded, counted and never applied.
const (
	RejectInvalidAmount   = "invalid_amount"   // zero, negative or missing
	RejectInvalidCurrency = "invalid_currency" // missing or not an ISO code
	RejectAmountMismatch  = "amount_mismatch"  // not the link's (or the charge's) amount
	RejectWrongCurrency   = "wrong_currency"   // a refund or dispute in another currency than its charge
	RejectExceedsPayment  = "exceeds_payment"  // a refund or a dispute beyond what was captured
	RejectInvalidStatus   = "invalid_status"   // a status Stripe does not have
)

// checkFacts says why facts can't be about p (as it would be once they are
// merged), or "" when they can.
func (p *Payment) checkFacts(f PaymentFacts) string {
	if f.Currency != "" && !isCurrencyCode(f.Currency) {
		return RejectInvalidCurrency
	}
	if !inStripeRange(f.Amount) || !inStripeRange(f.SourceAmount) || (f.ChargeRefunded != nil && !inStripeRange(*f.ChargeRefunded)) {
		return RejectInvalidAmount
	}
	// Facts about money taken back must be in the charge's currency and
	// within what it captured.
	if p.ChargedCurrency != "" && f.Currency != "" && f.Currency != p.ChargedCurrency {
		return RejectWrongCurrency
	}
	if p.ChargedAmount > 0 && f.ChargeID != "" && f.Amount > 0 && f.Amount != p.ChargedAmount {
		return RejectAmountMismatch
	}
	// What the payment captured, as far as is known: a refund, a dispute
	// or a charge's refunded total can't be more. (Their sum may be, for a
	// while: a refund that failed is counted until its failure arrives;
	// the sum is capped where it is used.)
	captured := p.ChargedAmount
	if f.ChargeID != "" && f.Amount > 0 {
		captured = f.Amount
	}
	beyond := func(x int64) bool { return captured > 0 && x > captured }
	if r := f.ChargeRefunded; r != nil && beyond(*r) {
		return RejectExceedsPayment
	}
	refunds := f.Refunds
	if f.Refund != nil {
		refunds = append(slices.Clip(refunds), *f.Refund)
	}
	for _, r := range refunds {
		switch {
		case r.Amount <= 0 || r.Amount > MaxStripeAmount:
			return RejectInvalidAmount
		case r.Status.rank() == 0:
			return RejectInvalidStatus
		case r.Currency != "" && p.ChargedCurrency != "" && r.Currency != p.ChargedCurrency:
			return RejectWrongCurrency
		case beyond(r.Amount):
			return RejectExceedsPayment
		}
	}
	if d := f.Dispute; d != nil {
		switch {
		case d.Amount <= 0 || d.Amount > MaxStripeAmount:
			return RejectInvalidAmount
		case disputeRank(d.Status) == 0:
			return RejectInvalidStatus
		case beyond(d.Amount):
			return RejectExceedsPayment
		}
	}
	return ""
}

// MaxStripeAmount is the most any amount Stripe gives can be, in minor
// units: Stripe's amounts have at most twelve digits (IDR's ceiling,
// 9 999 999 999.99; eight digits for most currencies), per its
// "Supported currencies" page. A bigger one is not Stripe's.
const MaxStripeAmount = 999_999_999_999

// inStripeRange reports an amount Stripe could give (0 meaning "not
// said").
func inStripeRange(x int64) bool { return x >= 0 && x <= MaxStripeAmount }

func isCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range 3 {
		if c[i] < 'a' || c[i] > 'z' {
			return false
		}
	}
	return true
}

func clonePayment(p *Payment) Payment {
	c := *p
	c.Refunds = slices.Clone(p.Refunds)
	c.Disputes = slices.Clone(p.Disputes)
	if p.Method != nil {
		m := *p.Method
		c.Method = &m
	}
	if p.ChargeRefunds != nil {
		s := *p.ChargeRefunds
		c.ChargeRefunds = &s
	}
	return c
}

// Refunded is what the clinic gave back so far, in the charged currency.
func (p *Payment) Refunded() int64 { return p.refunded() }

// recordPayment folds the event's facts (and any kept while the invoice was
// unknown) into the invoice's payment, computes the balance and the credit
// by the one rule (money that reaches the clinic lowers the balance;
// nothing else does; see fromLedger), marks the link used, and returns the
// feed entries for what changed. A non-empty reason
// says the event can't be true of this payment: inv must then be dropped.
func (inv *Invoice) recordPayment(ev *WebhookEvent, link *Link, pending *Payment, now time.Time) ([]FeedEntry, string) {
	if !inv.Ledger.Set {
		inv.startLedger() // stored before the ledger: it starts from the invoice as it was
	}
	// One Checkout Session is one payment, whether its events name the
	// PaymentIntent or not (Stripe may send it null, then set), in any
	// order.
	p := inv.payment(ev.paymentKey())
	if p == nil && ev.Facts.SessionID != "" {
		p = inv.paymentOfSession(ev.Facts.SessionID)
	}
	if p == nil {
		inv.Payments = append(inv.Payments, Payment{})
		p = &inv.Payments[len(inv.Payments)-1]
	}
	before := clonePayment(p)
	f := ev.Facts
	if link != nil {
		if reason := inv.linkPayment(p, inv.link(link.Generation), f, now); reason != "" {
			return nil, reason
		}
	}
	if reason := p.checkFacts(f); reason != "" {
		return nil, reason
	}
	p.merge(f, ev.Created, now)
	// What was told before the invoice was known is checked against the
	// payment as this event says it is (a refund beyond what it captured
	// left out), as it would have been had it come after.
	if pending != nil {
		p.mergePending(pending, now)
	}

	entries := changes(&before, p)
	inv.fromLedger()
	inv.describe(entries, p, ev.ID, now)
	return entries, ""
}

// linkPayment ties the payment to the link it came through (inv's own
// copy, marked used) and checks what it is worth against what the link
// asked. A non-empty reason says the event can't be true of this payment.
func (inv *Invoice) linkPayment(p *Payment, link *Link, f PaymentFacts, now time.Time) string {
	// What the payment is worth to the invoice: the session's total, or
	// under Adaptive Pricing its source amount and currency.
	amount, currency := f.Amount, f.Currency
	if f.SourceCurrency != "" {
		amount, currency = f.SourceAmount, f.SourceCurrency
	}
	switch {
	case p.Currency == "":
		if currency != link.Currency || link.Currency != inv.Currency {
			p.Review = ReviewCurrencyMismatch
		} else if amount != link.Amount {
			return RejectAmountMismatch
		}
		p.Amount, p.Currency = amount, currency
	case amount != p.Amount || currency != p.Currency:
		return RejectAmountMismatch // another session event of this payment said otherwise
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
	return ""
}

// describe completes a payment's feed entries with the invoice as it now
// is, and flags a payment through an ended link or one that overpaid.
func (inv *Invoice) describe(entries []FeedEntry, p *Payment, eventID string, now time.Time) {
	status := inv.Status()
	for i := range entries {
		e := &entries[i]
		e.InvoiceID, e.BalanceDue, e.Overpaid, e.Status, e.RecordedAt, e.EventID = inv.ID, inv.BalanceDue, inv.Overpaid, status, now, eventID
		if e.Kind == KindPaymentSucceeded {
			if p.ViaInactiveLink {
				e.Flags = append(e.Flags, FlagViaInactiveLink)
			}
			if inv.Overpaid > 0 {
				e.Flags = append(e.Flags, FlagOverpaid)
			}
		}
	}
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

// ChannelName is how the payment was made: ChannelInPerson on a reader,
// ChannelOnlineLink through a link.
func (p *Payment) ChannelName() string {
	if p.Channel != "" {
		return p.Channel
	}
	return ChannelOnlineLink
}
