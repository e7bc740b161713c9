package billing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The money state machine with the desk's reader: random interleavings of
// links paid online, reader payments started, cards presented, staff
// cancels, Stripe's events delivered late, twice and out of order (or
// never), captures Stripe refuses for good, and the scheduler's runs as
// time passes. After every step the
// balance rule holds and the money recorded is never more than the total
// unless recorded overpaid; a card is captured only while the invoice
// owes exactly its amount; after each run, no authorization older than
// ReaderQuiet is left undecided at Stripe (whatever events were lost: far
// inside Stripe's 2 days); once every event is in, all the money Stripe
// took is recorded.
func TestReaderMoneyStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := newDesk(t)
		d.term.onCapture = func(pi *ReaderPaymentIntent) {
			if inv := d.invoice(t); inv.BalanceDue != pi.AmountCapturable || inv.Currency != pi.Currency {
				rt.Fatalf("captured %d %s while the invoice owed %d", pi.AmountCapturable, pi.Currency, inv.BalanceDue)
			}
		}
		m := &deskModel{d: d, rt: rt}
		d.term.before = func(call string, _ *ReaderPaymentIntent) error {
			switch {
			case m.outage:
				m.outage, m.hit, m.hitAt = false, true, d.clock()
				return Errorf(CodePaymentProviderUnavailable, "stripe is down")
			case call == "capture" && m.refuse:
				m.refuse = false
				return Errorf(CodePaymentProviderError, "capture refused")
			}
			return nil
		}
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for i := range steps {
			m.step(rapid.SampledFrom([]string{"link", "payLink", "start", "present", "deliver", "redeliver", "cancel", "wait", "refuse", "outage"}).Draw(rt, fmt.Sprint("op", i)))
			m.check()
		}
		for len(m.pending) > 0 {
			m.step("deliver")
		}
		m.check()
		inv := d.invoice(t)
		if taken := m.linkTaken + d.term.taken(); inv.NetPaidOnline() != taken {
			rt.Fatalf("Stripe took %d, recorded %d", taken, inv.NetPaidOnline())
		}
	})
}

// deskModel drives one desk: what was paid at Stripe through links, and
// the events not yet delivered (and those delivered, to deliver again).
type deskModel struct {
	d                  *desk
	rt                 *rapid.T
	links              []*Link
	linkTaken          int64
	pending, delivered []*WebhookEvent
	paid               map[string]bool
	// authorized is when each card authorization was made at Stripe.
	authorized map[string]time.Time
	// refuse: Stripe refuses the next capture for good; outage: Stripe
	// is down for the next capture or cancel (hit: it was, at hitAt).
	refuse, outage, hit bool
	hitAt               time.Time
}

func (m *deskModel) step(op string) {
	ctx, d := context.Background(), m.d
	switch op {
	case "link":
		if l, _, err := d.svc.CreateLink(ctx, Staff("c1"), "i1", ""); err == nil {
			m.links = append(m.links, l)
		}
	case "payLink":
		// A patient pays a link whose page they opened (it may have been
		// ended since: Stripe took the money all the same).
		if len(m.links) == 0 {
			return
		}
		l := m.links[rapid.IntRange(0, len(m.links)-1).Draw(m.rt, "which link")]
		if m.paid == nil {
			m.paid = map[string]bool{}
		}
		if m.paid[l.ID] {
			return
		}
		m.paid[l.ID] = true
		m.linkTaken += l.Amount
		pi := "pi_" + l.ID
		m.pending = append(m.pending, &WebhookEvent{ID: "evt_" + pi, Type: EventCheckoutCompleted, AccountID: testAccount, Created: d.clock(),
			CompanyID: "c1", InvoiceID: "i1", Generation: l.Generation,
			Facts: PaymentFacts{PaymentIntentID: pi, SessionID: "cs_" + pi, LinkID: l.ID, Amount: l.Amount, Currency: l.Currency, State: PaymentSucceeded}})
	case "start":
		_, err := d.svc.StartReaderPayment(ctx, Staff("c1"), "i1", "tmr_1", "")
		m.expect(err, CodeReaderPaymentInProgress, CodeInvoicePaid, CodeNothingDue, CodeReaderBusy, CodePaymentProcessing)
	case "present":
		card := rapid.SampledFrom([]string{cardApproved, cardDeclined, cardInterac}).Draw(m.rt, "card")
		if d.term.present(testAccount, "tmr_1", card) == nil {
			m.pending = append(m.pending, d.term.takeEvents()...)
			m.noteAuthorizations()
		}
	case "cancel":
		_, err := d.svc.CancelReaderPayment(ctx, Staff("c1"), "i1")
		m.expect(err, CodeNotFound, CodeReaderPaymentCompleting, CodePaymentProviderUnavailable)
		m.pending = append(m.pending, d.term.takeEvents()...)
	case "refuse":
		m.refuse = true
	case "outage":
		m.outage = true
	case "wait":
		// Time passes and the scheduler runs (its message worked once).
		d.advance(rapid.SampledFrom([]time.Duration{time.Minute, ReaderQuiet + time.Minute, ReaderWaitLimit + time.Minute, time.Hour}).Draw(m.rt, "wait"))
		m.hit = false
		if _, err := d.run(ctx, d.clock()); err != nil && !m.hit {
			m.rt.Fatalf("run: %v", err)
		}
		m.pending = append(m.pending, d.term.takeEvents()...)
		m.checkAuthorizations(d.clock())
	case "deliver", "redeliver":
		pool := &m.pending
		if op == "redeliver" {
			pool = &m.delivered
		}
		if len(*pool) == 0 {
			return
		}
		i := rapid.IntRange(0, len(*pool)-1).Draw(m.rt, "event")
		ev := (*pool)[i]
		if op == "deliver" {
			m.pending = append(m.pending[:i:i], m.pending[i+1:]...)
			m.delivered = append(m.delivered, ev)
		}
		if _, err := d.svc.HandleEvent(ctx, ev); err != nil {
			if ErrorCode(err) != CodePaymentProviderUnavailable {
				m.rt.Fatalf("%s %s: %v", ev.Type, ev.ID, err)
			}
			m.pending = append(m.pending, ev) // Stripe delivers it again
		}
		m.pending = append(m.pending, d.term.takeEvents()...) // a capture's or a cancel's
	}
}

// noteAuthorizations notes the card authorizations Stripe now holds.
func (m *deskModel) noteAuthorizations() {
	if m.authorized == nil {
		m.authorized = map[string]time.Time{}
	}
	for id := range m.d.term.intents {
		if pi, _ := m.d.term.ReaderPaymentIntent(context.Background(), testAccount, id); pi.Status == "requires_capture" && m.authorized[id].IsZero() {
			m.authorized[id] = m.d.clock()
		}
	}
}

// checkAuthorizations: after a run at now, an authorization made
// ReaderQuiet before was captured or canceled, unless Stripe was down
// since (the first run ReaderQuiet after the outage decides it).
func (m *deskModel) checkAuthorizations(now time.Time) {
	if !m.hitAt.IsZero() && m.hitAt.Add(ReaderQuiet).After(now) {
		return
	}
	for id, at := range m.authorized {
		pi, _ := m.d.term.ReaderPaymentIntent(context.Background(), testAccount, id)
		if pi.Status == "requires_capture" && !at.Add(ReaderQuiet).After(now) {
			inv, _ := m.d.store.GetInvoice(context.Background(), "c1", "i1")
			m.rt.Fatalf("%s authorized at %s still waits for capture after the run at %s: %+v", id, at, now, inv.ReaderAttempts)
		}
	}
}

func (m *deskModel) expect(err error, codes ...Code) {
	if err == nil {
		return
	}
	for _, c := range codes {
		if ErrorCode(err) == c {
			return
		}
	}
	m.rt.Fatalf("unexpected error: %v", err)
}

// check is the balance rule as this machine plays it (no PUT, so the
// ledger starts from the whole total): balance and credit are what the
// recorded money leaves, and the feed adds up to it.
func (m *deskModel) check() {
	inv, err := m.d.store.GetInvoice(context.Background(), "c1", "i1")
	if err != nil {
		m.rt.Fatal(err)
	}
	paid := inv.NetPaidOnline()
	if inv.BalanceDue != max(inv.Total-paid, 0) || inv.Overpaid != max(paid-inv.Total, 0) {
		m.rt.Fatalf("recorded %d of %d: balance %d, overpaid %d", paid, inv.Total, inv.BalanceDue, inv.Overpaid)
	}
	var sum int64
	entries, _, _ := m.d.store.ListFeed(context.Background(), "c1", 0, 1000)
	for _, e := range entries {
		sum += e.NetChange
	}
	if sum != paid {
		m.rt.Fatalf("feed %d, recorded %d", sum, paid)
	}
	if a := inv.ReaderPayment(); a.InProgress() && inv.ActiveLink() != nil {
		m.rt.Fatalf("a payable link while the reader takes the payment")
	}
}

// Stripe's settled facts (a link paid online, a decline, an Interac
// payment on the reader, each event delivered once or twice) give the
// same money in any order of delivery.
func TestReaderEventsAnyOrderSameMoney(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := newDesk(t)
		l := d.link(t)
		d.start(t, "tmr_1", "")
		var evs []*WebhookEvent
		if rapid.Bool().Draw(rt, "decline first") {
			d.present(t, cardDeclined)
			for _, ev := range d.term.takeEvents() {
				d.handle(t, ev)
				evs = append(evs, ev) // late duplicates of the decline
			}
			d.start(t, "tmr_1", "")
		}
		d.present(t, cardInterac)
		evs = append(evs, d.term.takeEvents()...)
		if rapid.Bool().Draw(rt, "link paid too") {
			evs = append(evs, d.sessionEvent(t, l, EventCheckoutCompleted, "pi_link", l.Amount, "cad"))
		}
		results := make([]string, 2)
		for run := range results {
			c := d.clone(t)
			order := rapid.Permutation(evs).Draw(rt, fmt.Sprint("order", run))
			for _, ev := range order {
				for range rapid.IntRange(1, 2).Draw(rt, "deliveries") {
					if _, err := c.svc.HandleEvent(context.Background(), ev); err != nil {
						rt.Fatal(err)
					}
				}
			}
			inv := c.invoice(t)
			results[run] = fmt.Sprintf("balance %d overpaid %d net %d payments %d status %s", inv.BalanceDue, inv.Overpaid,
				inv.NetPaidOnline(), len(inv.Payments), inv.Status())
		}
		if results[0] != results[1] {
			rt.Fatalf("%s\nvs %s", results[0], results[1])
		}
	})
}
