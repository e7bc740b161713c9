package billing

import (
	"context"
	"testing"
	"time"
)

// The scheduler settles a reader attempt whose events were all lost, by
// the rules the events follow; the lost events delivered late change
// nothing more.
func TestReaderSettledByTheScheduler(t *testing.T) {
	cases := []struct {
		name string
		// card presented on the reader ("": none yet); paidByLink: the
		// link was paid before the card was presented.
		card       string
		paidByLink bool
		status     string
		reason     string
		captures   int
		cancels    int
		balance    int64
		payments   int
		readerFree bool
	}{
		{name: "approved is captured and recorded", card: cardApproved, status: ReaderSucceeded, captures: 1, payments: 1, readerFree: true},
		{name: "interac is recorded", card: cardInterac, status: ReaderSucceeded, payments: 1, readerFree: true},
		{name: "declined frees the reader", card: cardDeclined, status: ReaderDeclined, reason: "card_declined", balance: 12500, readerFree: true},
		{name: "paid meanwhile is canceled", card: cardApproved, paidByLink: true, status: ReaderCanceled, reason: ReasonAlreadyPaid, cancels: 1, payments: 1, readerFree: true},
		{name: "no card yet is left waiting", status: ReaderWaiting, balance: 12500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t)
			var l *Link
			if tc.paidByLink {
				l = d.link(t)
			}
			d.start(t, "tmr_1", "")
			if tc.paidByLink {
				d.handle(t, d.sessionEvent(t, l, EventCheckoutCompleted, "pi_link", 12500, "cad"))
			}
			if tc.card != "" {
				d.present(t, tc.card)
			}
			lost := d.term.takeEvents()
			for range 2 { // short of ReaderWaitLimit
				d.advance(ReaderQuiet)
				for range 2 { // SQS delivers at least once
					if _, err := d.run(ctx, d.clock()); err != nil {
						t.Fatal(err)
					}
				}
				lost = append(lost, d.term.takeEvents()...) // the capture's and cancel's too
			}
			inv := d.checkMoney(t)
			check := func(when string, inv *Invoice) {
				t.Helper()
				a := inv.ReaderPayment()
				if a.Status != tc.status || a.Reason != tc.reason || d.term.captures != tc.captures || d.term.cancels != tc.cancels {
					t.Fatalf("%s: attempt %+v captures %d cancels %d", when, a, d.term.captures, d.term.cancels)
				}
				if inv.BalanceDue != tc.balance || len(inv.Payments) != tc.payments || (d.readerMark(t, "tmr_1") == "") != tc.readerFree {
					t.Fatalf("%s: balance %d payments %d reader %q", when, inv.BalanceDue, len(inv.Payments), d.readerMark(t, "tmr_1"))
				}
			}
			check("settled", inv)
			if next := inv.NextWorkAt(); tc.status == ReaderWaiting && !next.After(d.clock()) {
				t.Fatalf("a waiting attempt is due again at once (%v)", next)
			}
			feed, mails := len(d.feed(t)), len(d.mail.sent)
			for _, ev := range lost {
				d.handle(t, ev)
			}
			d.deliver(t)
			check("after the lost events", d.checkMoney(t))
			if len(d.feed(t)) != feed || len(d.mail.sent) != mails {
				t.Fatalf("the lost events added feed %d→%d, mails %d→%d", feed, len(d.feed(t)), mails, len(d.mail.sent))
			}
		})
	}
}

// A reader left waiting for a card is ended by the scheduler once it has
// waited ReaderWaitLimit: the reader's action and the PaymentIntent are
// canceled, the attempt is canceled (timed_out) and the reader freed. A
// card presented as the run cancels is honoured, as for staff.
func TestReaderWaitEndsAfterTheLimit(t *testing.T) {
	cases := []struct {
		name string
		// wait is how long the reader has waited at the run; cardAtCancel
		// presents a card as the run's cancel_action arrives.
		wait         time.Duration
		cardAtCancel bool
		status       string
		reason       string
		cancels      int
		captures     int
		readerFree   bool
	}{
		{name: "short of the limit keeps waiting", wait: ReaderWaitLimit - time.Minute, status: ReaderWaiting},
		{name: "at the limit is canceled", wait: ReaderWaitLimit, status: ReaderCanceled, reason: ReasonTimedOut, cancels: 1, readerFree: true},
		{name: "hours later is canceled", wait: 6 * time.Hour, status: ReaderCanceled, reason: ReasonTimedOut, cancels: 1, readerFree: true},
		{name: "a card presented at the cancel is honoured", wait: ReaderWaitLimit, cardAtCancel: true, status: ReaderSucceeded, captures: 1, readerFree: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t)
			d.start(t, "tmr_1", "")
			if tc.cardAtCancel {
				d.term.beforeCancelAction = func() { d.present(t, cardApproved) }
			}
			d.advance(tc.wait)
			for range 2 { // SQS delivers at least once
				if _, err := d.run(ctx, d.clock()); err != nil {
					t.Fatal(err)
				}
			}
			d.deliver(t) // the cancel's events, or the card's
			inv := d.checkMoney(t)
			a := inv.ReaderPayment()
			if a.Status != tc.status || a.Reason != tc.reason || d.term.cancels != tc.cancels || d.term.captures != tc.captures {
				t.Fatalf("attempt %+v cancels %d captures %d", a, d.term.cancels, d.term.captures)
			}
			if free := d.readerMark(t, "tmr_1") == ""; free != tc.readerFree {
				t.Fatalf("reader free %v", free)
			}
			if r, _ := d.term.Reader(ctx, testAccount, "tmr_1"); tc.reason == ReasonTimedOut && r.Action != nil {
				t.Fatalf("the reader still asks: %+v", r.Action)
			}
		})
	}
}
