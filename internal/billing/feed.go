package billing

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Feed entry kinds: every change to the money of an invoice.
const (
	KindPaymentProcessing  = "payment_processing"
	KindPaymentSucceeded   = "payment_succeeded"
	KindPaymentFailed      = "payment_failed"
	KindPaymentNeedsReview = "payment_needs_review"
	KindRefund             = "refund"
	KindRefundReversed     = "refund_reversed" // a refund failed or was canceled: the money is the clinic's again
	KindDisputeOpened      = "dispute_opened"
	KindDisputeUpdated     = "dispute_updated"
	KindDisputeClosed      = "dispute_closed"
)

// Flags on feed entries that ask staff to act.
const (
	FlagOverpaid        = "overpaid"          // the invoice now holds a credit to refund
	FlagViaInactiveLink = "via_inactive_link" // paid through a replaced or removed link
	FlagNeedsReview     = "needs_review"      // about a payment that does not count toward the invoice
)

// FeedEntry is one change to the money of an invoice, in the tenant's feed
// (an invoice's changes in the order they were made). The billing module
// reads these to keep its own balance in step.
type FeedEntry struct {
	// Seq is the entry's place in the tenant's feed, given by the store.
	Seq        int64
	RecordedAt time.Time
	InvoiceID  string
	Kind       string
	// Amount is what the entry is about (a payment, a refund, a dispute),
	// in Currency. NetChange is the change it made to the money the invoice
	// received online (netPaidOnline), signed: the NetChange of an
	// invoice's entries add up to what it received. For entries that move
	// money, Amount is NetChange without its sign.
	Amount          int64
	NetChange       int64
	Currency        string
	BalanceDue      int64
	Overpaid        int64
	Status          string
	PaymentIntentID string
	RefundID        string
	DisputeID       string
	DisputeStatus   string
	Reason          string
	EventID         string
	Flags           []string
	// Channel is how the payment was made: ChannelOnlineLink or
	// ChannelInPerson ("" for entries about no payment).
	Channel string
	// Email is the e-mail an email_bounced or email_complained entry is
	// about (such entries move no money: NetChange 0).
	Email *FeedEmail
}

// changes lists the feed entries for the difference between before and
// after (the same payment, before and after a merge). Money entries are
// measured as differences of running totals in a fixed order (payment, then
// refunds, then disputes), so their NetChange add up exactly to
// after.netPaid() - before.netPaid(), rounding included.
func changes(before, after *Payment) []FeedEntry {
	c := &feedChanges{before: before, after: after}
	c.payment()
	if after.counts() && !before.counts() {
		// The payment's whole money enters now; what refunds and disputes
		// told before it counted (events arrive in any order) is then
		// taken from it, as if told after.
		c.base = &Payment{}
	} else {
		c.base = before
	}
	c.refunds()
	c.disputes()
	return c.out
}

// feedChanges builds the entries of one merge.
type feedChanges struct {
	before, after, base *Payment
	out                 []FeedEntry
}

func (c *feedChanges) add(kind string, amount, net int64) *FeedEntry {
	c.out = append(c.out, FeedEntry{Kind: kind, Amount: amount, NetChange: net, PaymentIntentID: c.after.PaymentIntentID, Currency: c.after.Currency,
		Channel: c.after.ChannelName()})
	return &c.out[len(c.out)-1]
}

// taken is what refunds and lost disputes took back, in the invoice's
// currency, for given totals in the charged currency.
func (c *feedChanges) taken(refunded, lost int64) int64 {
	return c.after.inInvoiceCurrency(refunded + lost)
}

// flag marks an entry about a payment that does not count: its figure is
// in the charged currency and it moves nothing.
func (c *feedChanges) flag(e *FeedEntry) {
	if !c.after.counts() {
		e.Currency, e.Flags = c.after.ChargedCurrency, []string{FlagNeedsReview}
	}
}

func (c *feedChanges) payment() {
	before, after := c.before, c.after
	switch {
	case after.Review != "" && after.State != PaymentFailed && (before.Review == "" || before.State == "" || before.State == PaymentFailed):
		// Told once, when the payment first stands as taken.
		e := c.add(KindPaymentNeedsReview, after.Amount, 0)
		e.Reason, e.Flags = after.Review, []string{FlagNeedsReview}
	case after.State != before.State && after.Review == "":
		switch after.State {
		case PaymentProcessing:
			c.add(KindPaymentProcessing, after.Amount, 0)
		case PaymentFailed:
			c.add(KindPaymentFailed, after.Amount, 0)
		case PaymentSucceeded:
			c.add(KindPaymentSucceeded, after.Amount, after.Amount)
		}
	}
}

// refunds: first what new refunds took back (a refund first heard of as
// failed counts too), then what ended refunds gave back, so the clinic
// hears of the same money whether it learned a refund's fate step by step
// or all at once.
func (c *feedChanges) refunds() {
	r0, l0, r1 := c.base.refunded(), c.base.lost(), c.after.refunded()
	up := c.after.everRefunded() - c.base.everRefunded()
	counted := c.after.counts()
	for _, step := range []struct {
		kind     string
		from, to int64
	}{{KindRefund, r0, r0 + up}, {KindRefundReversed, r0 + up, r1}} {
		net := int64(0)
		if counted {
			net = c.taken(step.from, l0) - c.taken(step.to, l0)
		}
		amount := abs(net)
		if !counted {
			amount = abs(step.to - step.from) // a payment under review: its own currency's figure
		}
		if amount == 0 {
			continue // nothing, or capped beyond the whole payment
		}
		e := c.add(step.kind, amount, net)
		c.flag(e)
		e.RefundID = changedRefund(c.base, c.after, step.kind == KindRefundReversed)
	}
}

func (c *feedChanges) disputes() {
	r1, l0, l1 := c.after.refunded(), c.base.lost(), c.after.lost()
	for _, d := range c.after.Disputes {
		i := slices.IndexFunc(c.base.Disputes, func(x Dispute) bool { return x.ID == d.ID })
		kind := ""
		switch {
		case i < 0 && d.Open():
			kind = KindDisputeOpened
		case i < 0 || (c.base.Disputes[i].Open() && !d.Open()):
			kind = KindDisputeClosed
		case c.base.Disputes[i].Status != d.Status:
			kind = KindDisputeUpdated
		}
		if kind == "" {
			continue
		}
		net := int64(0)
		if c.after.counts() && d.Lost() && l1 != l0 {
			net = c.taken(r1, l0) - c.taken(r1, l1)
		}
		amount := d.Amount
		if net != 0 {
			amount = -net
		}
		e := c.add(kind, amount, net)
		e.DisputeID, e.DisputeStatus = d.ID, d.Status
		c.flag(e)
	}
}

// changedRefund names a refund the merge told of: a new one, or (ended)
// one that failed or was canceled.
func changedRefund(before, after *Payment, ended bool) string {
	id := ""
	for _, r := range after.Refunds {
		i := slices.IndexFunc(before.Refunds, func(x Refund) bool { return x.ID == r.ID })
		switch {
		case ended && r.Status.ended() && (i < 0 || !before.Refunds[i].Status.ended()):
			id = r.ID
		case !ended && i < 0:
			id = r.ID
		}
	}
	return id
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// Feed page sizes.
const (
	DefaultFeedPage = 50
	MaxFeedPage     = 100
)

// ListPayments returns the tenant's feed after the cursor (from the start
// when it is empty), the cursor to continue from, and whether more entries
// are already there.
func (s *Service) ListPayments(ctx context.Context, caller Caller, cursor string, limit int) ([]FeedEntry, string, bool, error) {
	tenant := caller.Tenant
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
