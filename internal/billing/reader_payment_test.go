package billing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Paying an invoice on a reader, on in-memory fakes (fakeTerminal plays
// Stripe Terminal's test mode): every rule of the attempt, its events and
// its money. The same behaviours against the local servers are the e2e
// suite's.

// desk is a fixture with the clinic's reader tmr_1 (and another clinic's
// tmr_other, on acct_other).
type desk struct {
	*fixture
	term    *fakeTerminal
	readers *memReaders
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	f := newFixture(t)
	d := &desk{fixture: f, term: newFakeTerminal(f.clock), readers: newMemReaders()}
	f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Queue: f.queue, Terminal: d.term, Readers: d.readers})
	for _, r := range []Reader{{CompanyID: "c1", ID: "tmr_1", Version: 1}, {CompanyID: "c1", ID: "tmr_2", Version: 1}, {CompanyID: "c2", ID: "tmr_other", Version: 1}} {
		if err := d.readers.SaveReader(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
	d.term.addReader(testAccount, "tmr_1")
	d.term.addReader(testAccount, "tmr_2")
	d.term.addReader("acct_other", "tmr_other")
	return d
}

// clone is another desk on a copy of everything as it is now (the
// store, the readers, Stripe's truth), at the same time.
func (d *desk) clone(t *testing.T) *desk {
	t.Helper()
	f := &fixture{store: d.store.clone(), stripe: d.stripe.clone(), mail: &fakeMailer{}, queue: &memQueue{}, now: d.clock()}
	c := &desk{fixture: f, term: d.term.clone(), readers: d.readers.clone()}
	c.term.now = f.clock
	f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Queue: f.queue, Terminal: c.term, Readers: c.readers})
	return c
}

func (d *desk) start(t *testing.T, reader, key string) *ReaderAttempt {
	t.Helper()
	a, err := d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i1", reader, key)
	if err != nil {
		t.Fatalf("start on %s: %v", reader, err)
	}
	return a
}

func (d *desk) present(t *testing.T, card string) {
	t.Helper()
	if err := d.term.present(testAccount, "tmr_1", card); err != nil {
		t.Fatal(err)
	}
}

// deliver delivers every queued event, in order, until none is left
// (a capture sends its own).
func (d *desk) deliver(t *testing.T) []EventResult {
	t.Helper()
	var out []EventResult
	for evs := d.term.takeEvents(); len(evs) > 0; evs = d.term.takeEvents() {
		for _, ev := range evs {
			out = append(out, d.handle(t, ev))
		}
	}
	return out
}

func (d *desk) attempt(t *testing.T) *ReaderAttempt {
	t.Helper()
	return d.invoice(t).ReaderPayment()
}

func (d *desk) readerMark(t *testing.T, id string) string {
	t.Helper()
	r, err := d.readers.GetReader(context.Background(), "c1", id)
	if err != nil {
		t.Fatal(err)
	}
	return r.InvoiceID
}

func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	if ErrorCode(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func TestReaderCardApprovedIsCapturedOnce(t *testing.T) {
	d := newDesk(t)
	l := d.link(t)
	a := d.start(t, "tmr_1", "k1")
	if a.Status != ReaderWaiting || a.Amount != 12500 || a.Currency != "cad" || a.PaymentIntentID == "" {
		t.Fatalf("attempt %+v", a)
	}
	inv := d.invoice(t)
	if got := inv.link(l.Generation); got.Status != LinkRemoved || got.Reason != ReasonInPersonPayment {
		t.Fatalf("link %+v", got)
	}
	pi := d.term.intents[a.PaymentIntentID]
	if pi.Metadata[MetaCompanyID] != "c1" || pi.Metadata[MetaInvoiceID] != "i1" || pi.Metadata[MetaAttempt] != "1" {
		t.Fatalf("metadata %v", pi.Metadata)
	}
	if d.readerMark(t, "tmr_1") != "i1" {
		t.Fatal("the reader is not marked busy")
	}
	if again := d.start(t, "tmr_1", "k1"); again.ID != a.ID {
		t.Fatalf("replay made %+v", again)
	}
	d.present(t, cardApproved)
	d.deliver(t)
	inv = d.checkMoney(t)
	got := inv.ReaderPayment()
	if got.Status != ReaderSucceeded || d.term.captures != 1 || inv.BalanceDue != 0 || inv.Status() != StatusPaid {
		t.Fatalf("attempt %+v captures %d balance %d", got, d.term.captures, inv.BalanceDue)
	}
	p := inv.Payments[0]
	if p.ChannelName() != ChannelInPerson || p.Method == nil || p.Method.Type != MethodCardPresent || p.Method.Last4 != "4242" {
		t.Fatalf("payment %+v", p)
	}
	feed := d.feed(t)
	if kindsOf(feed) != "[payment_succeeded:+12500]" || feed[0].Channel != ChannelInPerson {
		t.Fatalf("feed %+v", feed)
	}
	if len(d.mail.sent) != 1 || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("receipts %d, reader %q", len(d.mail.sent), d.readerMark(t, "tmr_1"))
	}
	if d.term.creates != 1 || d.term.actions != 1 {
		t.Fatalf("creates %d actions %d", d.term.creates, d.term.actions)
	}
}

func TestReaderInteracIsNotCaptured(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	d.present(t, cardInterac)
	d.deliver(t)
	inv := d.checkMoney(t)
	if inv.ReaderPayment().Status != ReaderSucceeded || d.term.captures != 0 || inv.BalanceDue != 0 ||
		inv.Payments[0].Method.Type != MethodInteracPresent {
		t.Fatalf("attempt %+v captures %d", inv.ReaderPayment(), d.term.captures)
	}
}

func TestReaderDeclineThenApproveOnTheSamePaymentIntent(t *testing.T) {
	d := newDesk(t)
	first := d.start(t, "tmr_1", "k1")
	d.present(t, cardDeclined)
	d.deliver(t)
	a := d.attempt(t)
	if a.Status != ReaderDeclined || a.Reason != "card_declined" || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("after decline %+v", a)
	}
	if d.invoice(t).ReaderPayment().InProgress() || LinkBlocker(d.invoice(t), nil) == nil {
		t.Fatal("a declined attempt holds the invoice")
	}
	d.advance(2 * time.Second)
	second := d.start(t, "tmr_1", "k2")
	if second.PaymentIntentID != first.PaymentIntentID || d.term.creates != 1 {
		t.Fatalf("second attempt %+v, creates %d", second, d.term.creates)
	}
	d.present(t, cardApproved)
	d.deliver(t)
	if inv := d.checkMoney(t); inv.BalanceDue != 0 || d.term.captures != 1 {
		t.Fatalf("balance %d captures %d", inv.BalanceDue, d.term.captures)
	}
}

func TestReaderStaffCancel(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	a, err := d.svc.CancelReaderPayment(context.Background(), Staff("c1"), "i1")
	if err != nil || a.Status != ReaderCanceled || a.Reason != ReasonCanceledByStaff {
		t.Fatalf("cancel: %+v %v", a, err)
	}
	if pi := d.term.intents[a.PaymentIntentID]; pi.Status != "canceled" || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("pi %s, reader %q", pi.Status, d.readerMark(t, "tmr_1"))
	}
	d.deliver(t) // payment_intent.canceled changes nothing more
	if again, err := d.svc.CancelReaderPayment(context.Background(), Staff("c1"), "i1"); err != nil || again.ID != a.ID {
		t.Fatalf("second cancel: %v", err)
	}
	if _, created, err := d.svc.CreateLink(context.Background(), Staff("c1"), "i1", ""); err != nil || !created {
		t.Fatalf("link after cancel: %v", err)
	}
}

func TestReaderCancelRefusedOnceTheCardWasPresented(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	d.present(t, cardApproved) // authorized; its events not yet delivered
	_, err := d.svc.CancelReaderPayment(context.Background(), Staff("c1"), "i1")
	wantCode(t, err, CodeReaderPaymentCompleting)
	d.deliver(t)
	if inv := d.checkMoney(t); inv.BalanceDue != 0 || d.term.captures != 1 {
		t.Fatalf("the outcome was not honoured: balance %d", inv.BalanceDue)
	}
}

func TestReaderBusyOfflineAndNotFound(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	// A second invoice on the same reader.
	in := invoiceInput(5000, 5000)
	if _, _, _, err := d.svc.PutInvoice(context.Background(), Staff("c1"), "i2", in, Precondition{}); err != nil {
		t.Fatal(err)
	}
	_, err := d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i2", "tmr_1", "")
	wantCode(t, err, CodeReaderBusy)
	// The same invoice again, on another reader.
	_, err = d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i1", "tmr_2", "")
	wantCode(t, err, CodeReaderPaymentInProgress)
	// Stripe says the reader is offline: the attempt fails, the reader is free.
	d.term.setStatus(testAccount, "tmr_2", ReaderOffline)
	_, err = d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i2", "tmr_2", "")
	wantCode(t, err, CodeReaderOffline)
	if d.readerMark(t, "tmr_2") != "" {
		t.Fatal("an offline reader stays marked")
	}
	// Another clinic's reader, and one that does not exist: 404, Stripe never asked.
	for _, id := range []string{"tmr_other", "tmr_none"} {
		_, err = d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i2", id, "")
		wantCode(t, err, CodeNotFound)
	}
	if d.term.actions != 1 {
		t.Fatalf("actions %d", d.term.actions)
	}
}

func TestReaderTimeoutRetriedWithOnePaymentIntent(t *testing.T) {
	d := newDesk(t)
	d.term.failProcess = &Error{Code: CodePaymentProviderUnavailable, Message: "terminal_reader_timeout"}
	_, err := d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i1", "tmr_1", "k1")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePaymentProviderUnavailable || e.RetryAfter == 0 {
		t.Fatalf("got %v", err)
	}
	d.term.failProcess = nil
	a := d.start(t, "tmr_1", "k1")
	if a.Status != ReaderWaiting || d.term.creates != 1 || d.term.actions != 1 || a.Tries != 2 {
		t.Fatalf("retry: %+v creates %d actions %d", a, d.term.creates, d.term.actions)
	}
}

func TestReaderLinkPaidWhileTheCardIsOnTheReader(t *testing.T) {
	d := newDesk(t)
	l := d.link(t)
	d.start(t, "tmr_1", "")
	// The patient had the page open and paid it before it was deactivated.
	d.handle(t, d.sessionEvent(t, l, EventCheckoutCompleted, "pi_link", 12500, "cad"))
	d.present(t, cardApproved)
	d.deliver(t)
	inv := d.checkMoney(t)
	a := inv.ReaderPayment()
	if a.Status != ReaderCanceled || a.Reason != ReasonAlreadyPaid || d.term.captures != 0 ||
		d.term.intents[a.PaymentIntentID].Status != "canceled" {
		t.Fatalf("attempt %+v captures %d", a, d.term.captures)
	}
	if inv.BalanceDue != 0 || inv.Overpaid != 0 || inv.NetPaidOnline() != 12500 || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("balance %d overpaid %d net %d", inv.BalanceDue, inv.Overpaid, inv.NetPaidOnline())
	}
}

func TestReaderInteracAfterTheLinkPaidIsOverpaid(t *testing.T) {
	d := newDesk(t)
	l := d.link(t)
	d.start(t, "tmr_1", "")
	d.handle(t, d.sessionEvent(t, l, EventCheckoutCompleted, "pi_link", 12500, "cad"))
	d.present(t, cardInterac)
	d.deliver(t)
	inv := d.checkMoney(t)
	if inv.BalanceDue != 0 || inv.Overpaid != 12500 || len(inv.Payments) != 2 {
		t.Fatalf("balance %d overpaid %d payments %d", inv.BalanceDue, inv.Overpaid, len(inv.Payments))
	}
	feed := d.feed(t)
	if last := feed[len(feed)-1]; last.Channel != ChannelInPerson || len(last.Flags) == 0 || last.Flags[0] != FlagOverpaid {
		t.Fatalf("feed %+v", last)
	}
}

func TestReaderEventsDuplicatedAndReordered(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	d.present(t, cardApproved)
	evs := d.term.takeEvents() // action_succeeded, amount_capturable_updated
	// A stale action_failed of the same PaymentIntent arrives after the success.
	failed := &WebhookEvent{ID: "evt_late_fail", Type: EventReaderActionFailed, AccountID: testAccount, Created: d.clock(),
		Terminal: &TerminalFacts{Reader: &TerminalReader{ID: "tmr_1", Action: &ReaderAction{Type: ReaderActionProcessPayment,
			Status: "failed", FailureCode: "card_declined", PaymentIntentID: evs[0].Terminal.Reader.Action.PaymentIntentID}}}}
	for _, ev := range []*WebhookEvent{evs[1], evs[1], failed, evs[0], evs[0]} {
		d.handle(t, ev)
	}
	d.deliver(t) // the capture's payment_intent.succeeded
	for _, ev := range append(evs, failed) {
		if res := d.handle(t, ev); res.Outcome != OutcomeDuplicate {
			t.Fatalf("%s: %+v", ev.Type, res)
		}
	}
	inv := d.checkMoney(t)
	if inv.ReaderPayment().Status != ReaderSucceeded || d.term.captures != 1 || len(d.mail.sent) != 1 || len(d.feed(t)) != 1 {
		t.Fatalf("attempt %+v captures %d receipts %d", inv.ReaderPayment(), d.term.captures, len(d.mail.sent))
	}
}

func TestReaderEventOfAnotherAccountIsIgnored(t *testing.T) {
	d := newDesk(t)
	a := d.start(t, "tmr_1", "")
	pi := d.term.intentCopy(a.PaymentIntentID)
	pi.Status, pi.AmountReceived, pi.Method = "succeeded", pi.Amount, &PaymentMethod{Type: MethodCardPresent, Brand: "visa", Last4: "4242"}
	forged := &WebhookEvent{ID: "evt_forged", Type: EventIntentSucceeded, AccountID: "acct_other", Terminal: &TerminalFacts{Intent: pi}}
	if res := d.handle(t, forged); res.Outcome != OutcomeIgnored || res.Reason != IgnoredAccountMismatch {
		t.Fatalf("%+v", res)
	}
	// A reader's event on another account: its PaymentIntent is not there.
	reader := &WebhookEvent{ID: "evt_forged_reader", Type: EventReaderActionSucceeded, AccountID: "acct_other",
		Terminal: &TerminalFacts{Reader: &TerminalReader{ID: "tmr_other", Action: &ReaderAction{Type: ReaderActionProcessPayment, Status: "succeeded", PaymentIntentID: a.PaymentIntentID}}}}
	if res := d.handle(t, reader); res.Outcome != OutcomeIgnored || res.Reason != IgnoredUnknownCharge {
		t.Fatalf("%+v", res)
	}
	// A link's PaymentIntent: not a reader's.
	link := &WebhookEvent{ID: "evt_link_pi", Type: EventIntentSucceeded, AccountID: testAccount,
		Terminal: &TerminalFacts{Intent: &ReaderPaymentIntent{ID: "pi_link", Status: "succeeded", Amount: 1, Currency: "cad", Metadata: map[string]string{MetaCompanyID: "c1", MetaInvoiceID: "i1"}}}}
	if res := d.handle(t, link); res.Outcome != OutcomeIgnored || res.Reason != IgnoredNotReaderPayment {
		t.Fatalf("%+v", res)
	}
	if inv := d.checkMoney(t); inv.BalanceDue != 12500 {
		t.Fatalf("balance %d", inv.BalanceDue)
	}
}

func TestReaderAttemptBlocksPutAndLinks(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	inv := d.invoice(t)
	if b := LinkBlocker(inv, nil); b == nil || b.Code != CodeReaderPaymentInProgress {
		t.Fatalf("blocker %v", b)
	}
	_, _, err := d.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	wantCode(t, err, CodeReaderPaymentInProgress)
	_, _, _, err = d.svc.PutInvoice(context.Background(), Staff("c1"), "i1", invoiceInput(12500, 10000), Precondition{})
	wantCode(t, err, CodeReaderPaymentInProgress)
	// Other fields may change.
	in := invoiceInput(12500, 12500)
	in.Number = "F-2"
	if _, _, _, err := d.svc.PutInvoice(context.Background(), Staff("c1"), "i1", in, Precondition{}); err != nil {
		t.Fatal(err)
	}
}

// A request dies right after each step of starting a reader payment; the
// retry (past the lease) makes one PaymentIntent and one reader action.
func TestReaderStartCrashTable(t *testing.T) {
	for _, step := range []string{"hold", "create", "process"} {
		t.Run(step, func(t *testing.T) {
			d := newDesk(t)
			d.link(t)
			switch step {
			case "hold":
				d.readers.dieAfterSave = true
			default:
				d.term.dieAfter = step
			}
			func() {
				defer func() {
					if r := recover(); r != errDied {
						t.Fatalf("did not die: %v", r)
					}
				}()
				d.start(t, "tmr_1", "k1")
			}()
			d.readers.dieAfterSave = false
			if _, err := d.svc.StartReaderPayment(context.Background(), Staff("c1"), "i1", "tmr_1", "k1"); ErrorCode(err) != CodeConflict {
				t.Fatalf("while the lease holds: %v", err)
			}
			d.advance(2 * time.Minute)
			a := d.start(t, "tmr_1", "k1")
			if a.Status != ReaderWaiting || d.term.creates != 1 || d.term.actions != 1 {
				t.Fatalf("after retry: %+v creates %d actions %d", a, d.term.creates, d.term.actions)
			}
			d.present(t, cardApproved)
			d.deliver(t)
			if inv := d.checkMoney(t); inv.BalanceDue != 0 || d.term.captures != 1 || len(d.stripe.activeLinks()) != 0 {
				t.Fatalf("balance %d", inv.BalanceDue)
			}
		})
	}
}

// A capture's follow-up dies after Stripe captured: the redelivery
// finishes it, and the money is recorded once.
func TestReaderCaptureCrashThenRedelivery(t *testing.T) {
	d := newDesk(t)
	d.start(t, "tmr_1", "")
	d.present(t, cardApproved)
	evs := d.term.takeEvents()
	d.term.dieAfter = "capture"
	func() {
		defer func() {
			if r := recover(); r != errDied {
				t.Fatalf("did not die: %v", r)
			}
		}()
		d.handle(t, evs[1])
	}()
	for _, ev := range evs {
		d.handle(t, ev)
	}
	d.deliver(t)
	if inv := d.checkMoney(t); inv.BalanceDue != 0 || d.term.captures != 1 || len(inv.Payments) != 1 || len(d.mail.sent) != 1 {
		t.Fatalf("balance %d captures %d", inv.BalanceDue, d.term.captures)
	}
}
