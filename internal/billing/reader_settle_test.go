package billing

import (
	"context"
	"sync"
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

// countMetrics counts the business metrics a service reports.
type countMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *countMetrics) Count(_ context.Context, name string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n[name] += n
}

func (m *countMetrics) get(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[name]
}

// A capture (or cancel) Stripe refuses for good is not asked again: the
// PaymentIntent is read and what it says is recorded, and an attempt left
// unclear fails with a reason for staff (counted), its authorization
// released. An outage is retried until Stripe answers.
func TestReaderOwedCallRefused(t *testing.T) {
	refusal := func(call string) error { return Errorf(CodePaymentProviderError, "%s refused: account_closed", call) }
	cases := []struct {
		name string
		// before plays Stripe at the capture or cancel (out of band, or a
		// refusal).
		before           func(d *desk, call string, pi *ReaderPaymentIntent) error
		status, reason   string
		piStatus         string
		captureCalls     int
		captures         int
		cancels          int
		payments, review int
		balance          int64
	}{
		{name: "authorization lapsed at Stripe", before: func(_ *desk, call string, pi *ReaderPaymentIntent) error {
			if call == "capture" {
				pi.Status, pi.CancellationReason, pi.AmountCapturable = "canceled", "automatic", 0
			}
			return nil
		}, status: ReaderCanceled, reason: "automatic", piStatus: "canceled", captureCalls: 1, balance: 12500},
		{name: "captured in the Dashboard", before: func(_ *desk, call string, pi *ReaderPaymentIntent) error {
			if call == "capture" {
				pi.Status, pi.AmountReceived, pi.AmountCapturable = "succeeded", pi.Amount, 0
			}
			return nil
		}, status: ReaderSucceeded, piStatus: "succeeded", captureCalls: 1, payments: 1},
		{name: "refused while authorized: released", before: func(_ *desk, call string, _ *ReaderPaymentIntent) error {
			if call == "capture" {
				return refusal(call)
			}
			return nil
		}, status: ReaderFailed, reason: ReasonCaptureRefused, piStatus: "canceled", captureCalls: 1, cancels: 1, review: 1, balance: 12500},
		{name: "capture and cancel refused", before: func(_ *desk, call string, _ *ReaderPaymentIntent) error { return refusal(call) },
			status: ReaderFailed, reason: ReasonCaptureRefused, piStatus: "requires_capture", captureCalls: 1, review: 1, balance: 12500},
		{name: "an outage is retried", before: func(d *desk, call string, _ *ReaderPaymentIntent) error {
			if call == "capture" && d.term.calls[call] == 1 {
				return Errorf(CodePaymentProviderUnavailable, "stripe is down")
			}
			return nil
		}, status: ReaderSucceeded, piStatus: "succeeded", captureCalls: 2, captures: 1, payments: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t)
			m := &countMetrics{n: map[string]int{}}
			d.svc = NewService(Deps{Store: d.store, Payments: d.stripe, Mailer: d.mail, Now: d.clock, Queue: d.queue, Terminal: d.term, Readers: d.readers, Metrics: m})
			d.term.before = func(call string, pi *ReaderPaymentIntent) error { return tc.before(d, call, pi) }
			a := d.start(t, "tmr_1", "")
			d.present(t, cardApproved)
			for range 4 { // the events (an outage fails one), then the scheduler's runs
				for _, ev := range d.term.takeEvents() {
					_, _ = d.svc.HandleEvent(ctx, ev) // a 5xx: Stripe delivers again, or the run settles it
				}
				d.advance(ReaderQuiet)
				if _, err := d.run(ctx, d.clock()); err != nil {
					t.Fatal(err)
				}
			}
			d.deliver(t)
			inv := d.checkMoney(t)
			got := inv.ReaderPayment()
			if got.Status != tc.status || got.Reason != tc.reason || got.Owed != "" || inv.readerCheckAt() != (time.Time{}) {
				t.Fatalf("attempt %+v", got)
			}
			pi, _ := d.term.ReaderPaymentIntent(ctx, testAccount, a.PaymentIntentID)
			if pi.Status != tc.piStatus || d.term.calls["capture"] != tc.captureCalls || d.term.captures != tc.captures || d.term.cancels != tc.cancels {
				t.Fatalf("at Stripe %s, capture calls %d, captures %d, cancels %d", pi.Status, d.term.calls["capture"], d.term.captures, d.term.cancels)
			}
			if len(inv.Payments) != tc.payments || inv.BalanceDue != tc.balance || m.get(MetricReaderPaymentsNeedingReview) != tc.review {
				t.Fatalf("payments %d balance %d review %d", len(inv.Payments), inv.BalanceDue, m.get(MetricReaderPaymentsNeedingReview))
			}
			if d.readerMark(t, "tmr_1") != "" {
				t.Fatal("the reader is still held")
			}
		})
	}
}

// A capture decided while the invoice owed its amount, then held up by a
// Stripe outage while the link's payment (made on a page the patient had
// open) was recorded, is decided again before it is made: canceled
// (already_paid), never captured, whichever retries it (Stripe's
// redelivery or the scheduler's run).
func TestReaderCaptureDecidedAgainAfterAnOutage(t *testing.T) {
	for _, retry := range []string{"redelivery", "scheduler"} {
		t.Run(retry, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t)
			l := d.link(t)
			paid := d.sessionEvent(t, l, EventCheckoutCompleted, "pi_link", 12500, "cad")
			d.start(t, "tmr_1", "")
			down := true // until the link's payment is recorded
			d.term.before = func(call string, _ *ReaderPaymentIntent) error {
				if down && call == "capture" {
					return Errorf(CodePaymentProviderUnavailable, "stripe is down")
				}
				return nil
			}
			d.present(t, cardApproved)
			evs := d.term.takeEvents()
			var failed *WebhookEvent
			for _, ev := range evs {
				if _, err := d.svc.HandleEvent(ctx, ev); err != nil {
					failed = ev // Stripe delivers it again later
				}
			}
			if failed == nil || d.attempt(t).Owed != owedCapture {
				t.Fatalf("the capture was not held up: %+v", d.attempt(t))
			}
			d.handle(t, paid)
			down = false
			if retry == "redelivery" {
				d.handle(t, failed)
			} else {
				d.advance(ReaderQuiet)
				if _, err := d.run(ctx, d.clock()); err != nil {
					t.Fatal(err)
				}
			}
			d.deliver(t)
			inv := d.checkMoney(t)
			a := inv.ReaderPayment()
			if a.Status != ReaderCanceled || a.Reason != ReasonAlreadyPaid || a.Owed != "" || d.term.captures != 0 || d.term.cancels != 1 {
				t.Fatalf("attempt %+v, captures %d, cancels %d", a, d.term.captures, d.term.cancels)
			}
			if inv.BalanceDue != 0 || inv.Overpaid != 0 || len(inv.Payments) != 1 || d.readerMark(t, "tmr_1") != "" {
				t.Fatalf("balance %d overpaid %d payments %d reader %q", inv.BalanceDue, inv.Overpaid, len(inv.Payments), d.readerMark(t, "tmr_1"))
			}
		})
	}
}

// An ended attempt still owing Stripe a cancel (Stripe down for it) is
// settled by the scheduler's run even after a new attempt started: its
// authorization is canceled, not left to lapse.
func TestReaderEarlierAttemptOwedCallSettled(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t)
	refused, down := true, true
	d.term.before = func(call string, _ *ReaderPaymentIntent) error {
		switch {
		case call == "capture" && refused:
			refused = false
			return Errorf(CodePaymentProviderError, "capture refused: account_closed")
		case call == "cancel" && down:
			return Errorf(CodePaymentProviderUnavailable, "stripe is down")
		}
		return nil
	}
	first := d.start(t, "tmr_1", "")
	d.present(t, cardApproved)
	for _, ev := range d.term.takeEvents() {
		_, _ = d.svc.HandleEvent(ctx, ev) // the release's cancel fails: 503
	}
	if a := d.attempt(t); a.Status != ReaderFailed || a.Owed != owedCancel {
		t.Fatalf("the first attempt: %+v", a)
	}
	down = false
	second := d.start(t, "tmr_1", "")
	if second.PaymentIntentID == first.PaymentIntentID {
		t.Fatal("the refused attempt's authorization was sent to the reader again")
	}
	d.advance(ReaderQuiet)
	if _, err := d.run(ctx, d.clock()); err != nil {
		t.Fatal(err)
	}
	d.deliver(t)
	inv := d.checkMoney(t)
	if pi, _ := d.term.ReaderPaymentIntent(ctx, testAccount, first.PaymentIntentID); pi.Status != "canceled" || inv.ReaderAttempts[0].Owed != "" {
		t.Fatalf("the first authorization %s, attempt %+v", pi.Status, inv.ReaderAttempts[0])
	}
	if a := inv.ReaderPayment(); a.ID != second.ID || a.Status != ReaderWaiting || inv.BalanceDue != 12500 {
		t.Fatalf("the second attempt %+v, balance %d", a, inv.BalanceDue)
	}
}
