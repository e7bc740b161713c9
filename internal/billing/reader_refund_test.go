package billing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
)

// Refunds on a reader, on the in-memory fakes (fakeTerminal plays
// refund_payment as Stripe's test mode does: the refund is made when the
// card is presented again). The same rows against the local servers are
// the e2e suite's (reader_refund_test.go).

// RefundOnReader plays Stripe's refund_payment: once per idempotency key
// (errors included), refused on a busy or offline reader and beyond what
// is left of the payment. failProcess fails it as it fails a payment's
// action.
func (f *fakeTerminal) RefundOnReader(_ context.Context, n *NewReaderRefund) (*TerminalReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.keys[n.IdempotencyKey]; ok {
		return f.readers[n.AccountID+"/"+n.ReaderID], r.err
	}
	r, ok := f.readers[n.AccountID+"/"+n.ReaderID]
	pi := f.intents[n.PaymentIntentID]
	var err error
	switch {
	case !ok:
		return nil, ErrUnknownReader
	case pi == nil || f.account[pi.ID] != n.AccountID:
		return nil, fmt.Errorf("%s: %w", n.PaymentIntentID, ErrUnknownCharge)
	case f.failProcess != nil:
		err = f.failProcess
	case r.Status == ReaderOffline:
		err = Errorf(CodeReaderOffline, "terminal_reader_offline")
	case r.Action != nil && r.Action.Status == "in_progress":
		err = Errorf(CodeReaderBusy, "terminal_reader_busy")
	case pi.Status != "succeeded" || n.Amount > pi.AmountReceived-f.refunded[pi.ID]:
		err = Errorf(CodePaymentProviderError, "amount_too_large")
	}
	if err != nil {
		f.keys[n.IdempotencyKey] = keyReply{err: err}
		return nil, err
	}
	f.actions++
	r.Action = &ReaderAction{Type: ReaderActionRefundPayment, Status: "in_progress", PaymentIntentID: pi.ID, RefundAmount: n.Amount,
		Metadata: maps.Clone(n.Metadata)}
	f.keys[n.IdempotencyKey] = keyReply{id: pi.ID}
	defer f.died("refund")
	return cloneTerminalReader(r), nil
}

// presentRefund is the card presented again to a reader asked to refund:
// Stripe makes the refund, then sends action_succeeded and
// charge.refunded (its running total; the refund is read from Stripe).
func (d *desk) presentRefund(t *testing.T, reader string) {
	t.Helper()
	f := d.term
	f.mu.Lock()
	r := f.readers[testAccount+"/"+reader]
	if r == nil || r.Action == nil || r.Action.Type != ReaderActionRefundPayment || r.Action.Status != "in_progress" {
		f.mu.Unlock()
		t.Fatalf("reader %s has no refund to take", reader)
	}
	a, pi := r.Action, f.intents[r.Action.PaymentIntentID]
	if f.refunded == nil {
		f.refunded = map[string]int64{}
	}
	f.refunded[pi.ID] += a.RefundAmount
	f.seq++
	a.Status, a.RefundID = "succeeded", fmt.Sprintf("re_t%d", f.seq)
	f.emitReader(EventReaderActionSucceeded, testAccount, r)
	refund, total, charge := Refund{ID: a.RefundID, Amount: a.RefundAmount, Status: RefundSucceeded, CreatedAt: d.clock()}, f.refunded[pi.ID], *pi
	f.seq++
	f.events = append(f.events, &WebhookEvent{ID: fmt.Sprintf("evt_t%d", f.seq), Type: EventChargeRefunded, AccountID: testAccount, Created: d.clock(),
		Facts: PaymentFacts{PaymentIntentID: charge.ID, ChargeID: charge.ChargeID, Amount: charge.AmountReceived, Currency: charge.Currency,
			State: PaymentSucceeded, ChargeRefunded: &total}})
	f.mu.Unlock()
	d.stripe.setRefund(charge.ChargeID, refund)
}

// cancelAtReader is the patient pressing Cancel on the reader.
func (d *desk) cancelAtReader(reader string) {
	f := d.term
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.readers[testAccount+"/"+reader]
	r.Action.Status, r.Action.FailureCode = "failed", "customer_canceled"
	f.emitReader(EventReaderActionFailed, testAccount, r)
}

// paidByInterac is a desk whose invoice i1 (12 500 cad) was paid by
// Interac on tmr_1; it returns the PaymentIntent.
func paidByInterac(t *testing.T) (*desk, string) {
	t.Helper()
	d := newDesk(t)
	a := d.start(t, "tmr_1", "pay")
	d.present(t, cardInterac)
	d.deliver(t)
	if inv := d.checkMoney(t); inv.BalanceDue != 0 || len(inv.Payments) != 1 {
		t.Fatalf("not paid: %+v", inv)
	}
	return d, a.PaymentIntentID
}

func (d *desk) refund(reader, pi string, amount int64, key string) (*ReaderRefund, error) {
	return d.svc.StartReaderRefund(context.Background(), Staff("c1"), "i1", &ReaderRefundInput{ReaderID: reader, PaymentIntentID: pi, Amount: amount}, key)
}

func (d *desk) mustRefund(t *testing.T, reader, pi string, amount int64, key string) *ReaderRefund {
	t.Helper()
	r, err := d.refund(reader, pi, amount, key)
	if err != nil {
		t.Fatalf("refund %d on %s: %v", amount, reader, err)
	}
	if r.Status != ReaderWaiting || r.Amount != amount || r.PaymentIntentID != pi || r.Currency != "cad" {
		t.Fatalf("refund attempt %+v", r)
	}
	return r
}

// refundedMoney is what the invoice's payment shows refunded, and its net.
func (d *desk) refundedMoney(t *testing.T) (refunded, net int64) {
	t.Helper()
	inv := d.checkMoney(t)
	return inv.Payments[0].refunded(), inv.NetPaidOnline()
}

func TestReaderRefund(t *testing.T) {
	rows := []struct {
		name string
		run  func(t *testing.T, d *desk, pi string)
	}{
		{"refunded when the card is presented", refundPresented},
		{"more than is left is refused", refundExceeds},
		{"a busy reader is refused", refundReaderBusy},
		{"an offline reader is refused", refundReaderOffline},
		{"another clinic's reader, an unknown payment, a link's payment", refundNotFound},
		{"a timeout retried makes one reader action", refundTimeoutRetried},
		{"a lost answer retried makes one reader action", refundLostAnswer},
		{"the patient cancels at the reader", refundCanceledAtReader},
		{"events duplicated, reordered and from another account", refundEventsInAnyOrder},
		{"the scheduler settles a refund whose events were lost", refundSettled},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			d, pi := paidByInterac(t)
			row.run(t, d, pi)
		})
	}
}

func refundPresented(t *testing.T, d *desk, pi string) {
	r := d.mustRefund(t, "tmr_1", pi, 5000, "r1")
	if d.readerMark(t, "tmr_1") != "i1" || d.term.actions != 2 {
		t.Fatalf("reader %q, actions %d", d.readerMark(t, "tmr_1"), d.term.actions)
	}
	wantCode(t, d.svc.DeleteReader(context.Background(), readerAdmin("c1"), "tmr_1"), CodeReaderBusy)
	if again := d.mustRefund(t, "tmr_1", pi, 5000, "r1"); again.ID != r.ID || d.term.actions != 2 {
		t.Fatalf("a replay made %+v (actions %d)", again, d.term.actions)
	}
	if refunded, net := d.refundedMoney(t); refunded != 0 || net != 12500 {
		t.Fatalf("an attempt counted as money: refunded %d net %d", refunded, net)
	}
	d.presentRefund(t, "tmr_1")
	d.deliver(t)
	inv := d.checkMoney(t)
	got := inv.ReaderRefund()
	if got.Status != ReaderSucceeded || got.RefundID == "" || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("refund %+v, reader %q", got, d.readerMark(t, "tmr_1"))
	}
	if refunded, net := d.refundedMoney(t); refunded != 5000 || net != 7500 || inv.Payments[0].Refunds[0].ID != got.RefundID {
		t.Fatalf("refunded %d net %d: %+v", refunded, net, inv.Payments[0].Refunds)
	}
	// What is left: 7 500, and no more.
	_, err := d.refund("tmr_1", pi, 7501, "r2")
	wantCode(t, err, CodeRefundExceedsPayment)
	d.mustRefund(t, "tmr_1", pi, 7500, "r3")
}

func refundExceeds(t *testing.T, d *desk, pi string) {
	_, err := d.refund("tmr_1", pi, 12501, "r1")
	wantCode(t, err, CodeRefundExceedsPayment)
	d.mustRefund(t, "tmr_1", pi, 10000, "r2")
	// The attempt in progress holds its amount: 2 500 are left.
	_, err = d.refund("tmr_2", pi, 2501, "r3")
	wantCode(t, err, CodeRefundExceedsPayment)
	d.mustRefund(t, "tmr_2", pi, 2500, "r4")
	if d.term.actions != 3 {
		t.Fatalf("%d reader actions, want 3", d.term.actions)
	}
}

func refundReaderBusy(t *testing.T, d *desk, pi string) {
	d.mustRefund(t, "tmr_1", pi, 1000, "r1")
	// The same reader, this invoice's other refund or another invoice's
	// payment: busy.
	_, err := d.refund("tmr_1", pi, 1000, "r2")
	wantCode(t, err, CodeReaderBusy)
	ctx := context.Background()
	if _, _, _, err := d.svc.PutInvoice(ctx, Staff("c1"), "i2", &InvoiceInput{Number: "F-2", Currency: "cad", Total: ptr[int64](5000),
		BalanceDue: ptr[int64](5000), IssuedOn: "2026-11-20", Patient: &PatientInput{Name: "Luc", Email: "luc@example.com"},
		Lines: []LineInput{{Description: "Suivi", Amount: ptr[int64](5000)}}}, Precondition{}); err != nil {
		t.Fatal(err)
	}
	_, err = d.svc.StartReaderPayment(ctx, Staff("c1"), "i2", "tmr_1", "p2")
	wantCode(t, err, CodeReaderBusy)
	// Stripe's terminal_reader_busy (the reader taken outside this
	// service): the attempt fails and the reader is free again here.
	d.term.readers[testAccount+"/tmr_2"].Action = &ReaderAction{Type: ReaderActionProcessPayment, Status: "in_progress", PaymentIntentID: "pi_else"}
	_, err = d.refund("tmr_2", pi, 1000, "r3")
	wantCode(t, err, CodeReaderBusy)
	if r := d.invoice(t).ReaderRefund(); r.Status != ReaderFailed || r.Reason != string(CodeReaderBusy) || d.readerMark(t, "tmr_2") != "" {
		t.Fatalf("refund %+v, reader %q", r, d.readerMark(t, "tmr_2"))
	}
}

func refundReaderOffline(t *testing.T, d *desk, pi string) {
	d.term.setStatus(testAccount, "tmr_1", ReaderOffline)
	_, err := d.refund("tmr_1", pi, 1000, "r1")
	wantCode(t, err, CodeReaderOffline)
	if r := d.invoice(t).ReaderRefund(); r.Status != ReaderFailed || r.Reason != string(CodeReaderOffline) || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("refund %+v", r)
	}
	d.term.setStatus(testAccount, "tmr_1", ReaderOnline)
	d.mustRefund(t, "tmr_1", pi, 12500, "r2") // the failed one holds nothing
}

func refundNotFound(t *testing.T, d *desk, pi string) {
	before := d.term.actions
	_, err := d.refund("tmr_other", pi, 1000, "r1")
	wantCode(t, err, CodeNotFound)
	_, err = d.refund("tmr_1", "pi_unknown", 1000, "r2")
	wantCode(t, err, CodeNotFound)
	_, err = d.svc.StartReaderRefund(context.Background(), Staff("c2"), "i1", &ReaderRefundInput{ReaderID: "tmr_other", PaymentIntentID: pi, Amount: 1000}, "r3")
	wantCode(t, err, CodeNotFound) // another clinic's invoice
	for _, in := range []ReaderRefundInput{{ReaderID: "tmr_1", PaymentIntentID: pi}, {ReaderID: "tmr_1", PaymentIntentID: pi, Amount: -1},
		{ReaderID: "tmr_1", PaymentIntentID: pi, Amount: MaxAmount + 1}, {ReaderID: "", PaymentIntentID: pi, Amount: 1},
		{ReaderID: "tmr_1", PaymentIntentID: "ch_1", Amount: 1}} {
		_, err = d.svc.StartReaderRefund(context.Background(), Staff("c1"), "i1", &in, "r4")
		wantCode(t, err, CodeInvalidRequest)
	}
	// A reader deleted at Stripe (in the Dashboard): not found, the
	// attempt kept failed, nothing held.
	delete(d.term.readers, testAccount+"/tmr_2")
	_, err = d.refund("tmr_2", pi, 1000, "r6")
	wantCode(t, err, CodeNotFound)
	if r := d.invoice(t).ReaderRefund(); r.Status != ReaderFailed || r.Reason != string(CodeNotFound) || d.readerMark(t, "tmr_2") != "" {
		t.Fatalf("refund %+v, reader %q", r, d.readerMark(t, "tmr_2"))
	}
	// A payment through the link is refunded in Stripe's Dashboard.
	inv := d.invoice(t)
	inv.Payments = append(inv.Payments, Payment{PaymentIntentID: "pi_link", Amount: 100, Currency: "cad", State: PaymentSucceeded})
	inv.Version++
	if err := d.store.PutInvoice(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	_, err = d.refund("tmr_1", "pi_link", 100, "r5")
	wantCode(t, err, CodeInvalidRequest)
	if d.term.actions != before || len(d.invoice(t).ReaderRefunds) != 1 {
		t.Fatalf("a refused refund reached the reader (%d actions) or was kept", d.term.actions-before)
	}
}

func refundTimeoutRetried(t *testing.T, d *desk, pi string) {
	d.term.failProcess = Errorf(CodePaymentProviderUnavailable, "terminal_reader_timeout")
	_, err := d.refund("tmr_1", pi, 3000, "r1")
	var e *Error
	if ErrorCode(err) != CodePaymentProviderUnavailable || !errors.As(err, &e) || e.RetryAfter <= 0 {
		t.Fatalf("timeout: %v", err)
	}
	d.term.failProcess = nil
	r := d.mustRefund(t, "tmr_1", pi, 3000, "r1")
	if r.Tries != 2 || d.term.actions != 2 || len(d.invoice(t).ReaderRefunds) != 1 {
		t.Fatalf("retry: %+v, actions %d", r, d.term.actions)
	}
}

// refundLostAnswer: the reader took the refund but the answer was lost
// (the function died right after); the next request finds the reader
// busy with this very refund and records it sent.
func refundLostAnswer(t *testing.T, d *desk, pi string) {
	d.term.dieAfter = "refund"
	func() {
		defer func() {
			if p := recover(); p != errDied {
				t.Fatalf("did not die: %v", p)
			}
		}()
		_, _ = d.refund("tmr_1", pi, 3000, "r1")
	}()
	_, err := d.refund("tmr_1", pi, 3000, "r1")
	wantCode(t, err, CodeConflict) // its lease still runs
	d.advance(defaultLease * 3)
	// The client gave up on its key: a request asking the same with
	// another key finishes the dead one's attempt.
	if r := d.mustRefund(t, "tmr_1", pi, 3000, "r2"); r.RequestKey != "r1" || len(d.invoice(t).ReaderRefunds) != 1 {
		t.Fatalf("another attempt: %+v", d.invoice(t).ReaderRefunds)
	}
	if d.term.actions != 2 {
		t.Fatalf("%d reader actions, want 2 (the payment's and one refund)", d.term.actions)
	}
}

func refundCanceledAtReader(t *testing.T, d *desk, pi string) {
	d.mustRefund(t, "tmr_1", pi, 12500, "r1")
	d.cancelAtReader("tmr_1")
	d.deliver(t)
	if r := d.invoice(t).ReaderRefund(); r.Status != ReaderFailed || r.Reason != "customer_canceled" || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("refund %+v", r)
	}
	d.mustRefund(t, "tmr_1", pi, 12500, "r2") // all of it is left
}

func refundEventsInAnyOrder(t *testing.T, d *desk, pi string) {
	d.mustRefund(t, "tmr_1", pi, 4000, "r1")
	d.presentRefund(t, "tmr_1")
	evs := d.term.takeEvents()
	ok := *evs[0].Terminal.Reader
	failedAction := *ok.Action
	failedAction.Status, failedAction.FailureCode = "failed", "card_declined"
	stale := &WebhookEvent{ID: "evt_stale", Type: EventReaderActionFailed, AccountID: testAccount,
		Terminal: &TerminalFacts{Reader: &TerminalReader{ID: ok.ID, Status: ok.Status, Action: &failedAction}}}
	other := &WebhookEvent{ID: "evt_other", Type: EventReaderActionFailed, AccountID: "acct_other",
		Terminal: &TerminalFacts{Reader: &TerminalReader{ID: ok.ID, Status: ok.Status, Action: &failedAction}}}
	if res := d.handle(t, other); res.Outcome != OutcomeIgnored || res.Reason != IgnoredUnknownCharge {
		t.Fatalf("another account's event: %+v", res)
	}
	// charge.refunded first, the reader's success last, a stale failure
	// between, then all of them again.
	for pass, order := range [][]*WebhookEvent{{evs[1], evs[0], stale}, {stale, evs[0], evs[1]}} {
		for _, ev := range order {
			res := d.handle(t, ev)
			if res.Outcome == OutcomeRejected || (pass == 1 && res.Outcome != OutcomeDuplicate) {
				t.Fatalf("pass %d %s: %+v", pass+1, ev.ID, res)
			}
		}
	}
	r := d.invoice(t).ReaderRefund()
	if refunded, net := d.refundedMoney(t); r.Status != ReaderSucceeded || refunded != 4000 || net != 8500 || d.readerMark(t, "tmr_1") != "" {
		t.Fatalf("refund %+v refunded %d net %d", r, refunded, net)
	}
}

// refundSettled: one refund presented with every event lost, one whose
// action was canceled in the Dashboard, one still waiting; the
// scheduler's runs (each twice) settle the first two from the readers'
// actions, read the refund made from the charge's refunds, and leave the
// third; the lost events delivered late add nothing.
func refundSettled(t *testing.T, d *desk, pi string) {
	ctx := context.Background()
	done := d.mustRefund(t, "tmr_1", pi, 2000, "r1")
	d.presentRefund(t, "tmr_1")
	lost := d.term.takeEvents()
	d.mustRefund(t, "tmr_2", pi, 3000, "r2")
	d.term.readers[testAccount+"/tmr_2"].Action = nil // canceled in the Dashboard
	for range 2 {
		d.advance(ReaderQuiet)
		for range 2 { // SQS delivers at least once
			if _, err := d.run(ctx, d.clock()); err != nil {
				t.Fatal(err)
			}
		}
	}
	inv := d.invoice(t)
	if a, b := inv.refundAttempt(done.ID), inv.ReaderRefund(); a.Status != ReaderSucceeded || a.RefundID == "" || b.Status != ReaderCanceled {
		t.Fatalf("settled: %+v %+v", a, b)
	}
	if d.readerMark(t, "tmr_1") != "" || d.readerMark(t, "tmr_2") != "" || !inv.refundCheckAt().IsZero() {
		t.Fatalf("readers %q %q", d.readerMark(t, "tmr_1"), d.readerMark(t, "tmr_2"))
	}
	// The refund made, untold by its lost events, was read from Stripe
	// by the second run, as a refund event is.
	if refunded, net := d.refundedMoney(t); refunded != 2000 || net != 10500 {
		t.Fatalf("settled: refunded %d net %d", refunded, net)
	}
	_, err := d.refund("tmr_2", pi, 10501, "r3")
	wantCode(t, err, CodeRefundExceedsPayment)
	waiting := d.mustRefund(t, "tmr_2", pi, 1000, "r4")
	d.advance(ReaderQuiet)
	if _, err := d.run(ctx, d.clock()); err != nil {
		t.Fatal(err)
	}
	if inv := d.invoice(t); inv.refundAttempt(waiting.ID).Status != ReaderWaiting || !inv.NextWorkAt().After(d.clock()) {
		t.Fatalf("a refund still waiting: %+v, next look %v", inv.refundAttempt(waiting.ID), inv.NextWorkAt())
	}
	for _, ev := range lost {
		d.handle(t, ev)
	}
	if refunded, net := d.refundedMoney(t); refunded != 2000 || net != 10500 {
		t.Fatalf("after the lost events: refunded %d net %d", refunded, net)
	}
	_, err = d.refund("tmr_1", pi, 9501, "r5")
	wantCode(t, err, CodeRefundExceedsPayment)
}
