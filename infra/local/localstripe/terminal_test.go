package localstripe

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/stripegateway"
)

const (
	acct  = "acct_1Clinic"
	other = "acct_1Other"
)

// terminal is the service's Stripe gateway talking to stripe-mock (which
// checks every call against Stripe's spec) through the Stripe proxy, whose
// answers the local Stripe plays; its events go to a receiver that reads
// them with the service's own webhook reader.
type terminal struct {
	sim   *Simulator
	g     *stripegateway.Gateway
	rc    *receiver
	proxy *faultproxy.Stripe
}

func newTerminal(t *testing.T, path string) *terminal {
	t.Helper()
	tools, err := localservers.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	mock, err := localservers.StartStripeMock(context.Background(), tools)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mock.Stop)
	rc := &receiver{}
	srv := rc.serve(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sim := &Simulator{State: s, WebhookURL: srv.URL, Secret: secret}
	proxy := faultproxy.NewStripe(mock.URL, faultproxy.WithResponder(func(r *faultproxy.Request) (int, []byte, bool) {
		return sim.Answer(r.Method, r.Path, r.Header, r.Query, r.Form)
	}))
	t.Cleanup(proxy.Close)
	g := stripegateway.New(stripegateway.Config{Keys: stripegateway.StaticKey("sk_test_local"), BaseURL: proxy.URL})
	return &terminal{sim: sim, g: g, rc: rc, proxy: proxy}
}

// reader registers a simulated reader at a new location of the clinic.
func (tm *terminal) reader(t *testing.T) *billing.TerminalReader {
	t.Helper()
	ctx := context.Background()
	loc, err := tm.g.CreateLocation(ctx, acct, "Clinique Test", billing.Address{Line1: "1 rue Test", City: "Montréal", State: "QC", PostalCode: "H2X 1Y4", Country: "CA"}, "k/loc/"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	r, err := tm.g.RegisterReader(ctx, acct, loc, billing.SimulatedReaderRegistration, "Accueil", "k/reg/"+t.Name())
	if err != nil || r.DeviceType != "simulated_wisepos_e" || r.Status != billing.ReaderOnline || r.LocationID != loc || r.Action != nil {
		t.Fatalf("%v %+v", err, r)
	}
	return r
}

func (tm *terminal) intent(t *testing.T, amount int64, key string) *billing.ReaderPaymentIntent {
	t.Helper()
	pi, err := tm.g.CreateReaderPaymentIntent(context.Background(), &billing.NewReaderPayment{AccountID: acct, Amount: amount, Currency: "cad",
		Methods: []string{billing.MethodCardPresent, billing.MethodInteracPresent}, IdempotencyKey: key,
		Metadata: map[string]string{billing.MetaCompanyID: "clinic-1", billing.MetaInvoiceID: "F-1", "attempt": "1"}})
	if err != nil || pi.Status != IntentRequiresMethod || pi.Amount != amount {
		t.Fatalf("%v %+v", err, pi)
	}
	return pi
}

// back is the event delivered n before the last.
func (rc *receiver) back(n int) *billing.WebhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.events[len(rc.events)-1-n]
}

// types are the types of the deliveries, in order.
func types(ds []Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Type)
	}
	return out
}

func same(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReaderPaymentByCard: a reader takes a card as Stripe's test mode
// does: in progress until a card is presented; a decline
// (4000000000009995) fails the action, the same PaymentIntent is sent
// again and approved (4242424242424242), waits for capture, and is
// captured by the service's call; each step's events are signed, of the
// clinic's account, and read by the service's webhook reader.
func TestReaderPaymentByCard(t *testing.T) {
	ctx := context.Background()
	tm := newTerminal(t, "")
	if _, err := tm.g.RegisterReader(ctx, acct, "", "purple-cow-ride", "Accueil", "k/bad-code"); billing.ErrorCode(err) != billing.CodeReaderRegistrationFailed {
		t.Fatalf("a code no reader shows: %v", err)
	}
	r := tm.reader(t)
	pi := tm.intent(t, 12500, "k/pi")
	// A retried creation (same key) is the same PaymentIntent.
	again := tm.intent(t, 12500, "k/pi")
	tm.sim.State.mu.Lock()
	made := len(tm.sim.State.data.Intents)
	tm.sim.State.mu.Unlock()
	if again.ID != pi.ID || made != 1 {
		t.Fatalf("a second PaymentIntent for one key: %s, %s", pi.ID, again.ID)
	}
	got, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-1")
	if err != nil || got.Action == nil || got.Action.Status != ActionInProgress || got.Action.PaymentIntentID != pi.ID {
		t.Fatalf("%v %+v", err, got)
	}
	// The same call again is Stripe's replay; another is refused busy.
	if again, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-1"); err != nil || again.Action.Status != ActionInProgress {
		t.Fatalf("replay: %v", err)
	}
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-2"); billing.ErrorCode(err) != billing.CodeReaderBusy {
		t.Fatalf("a busy reader: %v", err)
	}
	// Another account does not see the reader.
	if _, err := tm.g.Reader(ctx, other, r.ID); !errors.Is(err, billing.ErrUnknownReader) {
		t.Fatalf("another account: %v", err)
	}

	o, err := tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{Type: "card_present", Number: "4000000000009995"})
	if err != nil || !same(types(o.Deliveries), "terminal.reader.action_failed", "payment_intent.payment_failed") {
		t.Fatalf("decline: %v %+v", err, o)
	}
	ev := tm.rc.last()
	if ev.AccountID != acct || ev.CompanyID != "clinic-1" || ev.InvoiceID != "F-1" || ev.Terminal.Intent.LastErrorCode != "insufficient_funds" ||
		ev.Terminal.Intent.Status != IntentRequiresMethod {
		t.Fatalf("decline read as %+v %+v", ev, ev.Terminal.Intent)
	}
	if rd := tm.rc.back(1).Terminal.Reader; rd.Action.FailureCode != "card_declined" || rd.Action.PaymentIntentID != pi.ID {
		t.Fatalf("reader read as %+v", rd.Action)
	}
	if _, err := tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{}); !errors.Is(err, ErrReaderIdle) {
		t.Fatalf("a card at an idle reader: %v", err)
	}

	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-3"); err != nil {
		t.Fatalf("the same PaymentIntent again: %v", err)
	}
	o, err = tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{Type: "card_present", Number: "4242424242424242"})
	if err != nil || !same(types(o.Deliveries), "terminal.reader.action_succeeded", "payment_intent.amount_capturable_updated") {
		t.Fatalf("approve: %v %+v", err, o)
	}
	if in := tm.rc.last().Terminal.Intent; in.Status != IntentRequiresCapture || in.AmountCapturable != 12500 || in.ChargeID == "" {
		t.Fatalf("authorization read as %+v", in)
	}
	read, err := tm.g.ReaderPaymentIntent(ctx, acct, pi.ID)
	if err != nil || read.Status != IntentRequiresCapture || read.Method == nil || *read.Method != (billing.PaymentMethod{Type: "card_present", Brand: "visa", Last4: "4242"}) {
		t.Fatalf("%v %+v", err, read)
	}
	// Once the card was read, the reader's action can't be canceled.
	if _, err := tm.g.CancelReaderAction(ctx, acct, r.ID, "k/cancel-late"); billing.ErrorCode(err) != billing.CodeReaderBusy {
		t.Fatalf("cancel while completing: %v", err)
	}

	captured, err := tm.g.CapturePaymentIntent(ctx, acct, pi.ID, 12500, "k/capture")
	if err != nil || captured.Status != IntentSucceeded || captured.AmountReceived != 12500 || captured.Method == nil {
		t.Fatalf("capture: %v %+v", err, captured)
	}
	if ds := tm.sim.Pending(); !same(types(ds), "payment_intent.succeeded") || ds[0].Status != 200 {
		t.Fatalf("capture's events: %+v", ds)
	}
	if in := tm.rc.last().Terminal.Intent; in.Status != IntentSucceeded || in.AmountReceived != 12500 {
		t.Fatalf("capture read as %+v", in)
	}
	if _, err := tm.g.CapturePaymentIntent(ctx, acct, pi.ID, 12500, "k/capture-again"); billing.ErrorCode(err) != billing.CodePaymentProviderError {
		t.Fatalf("a second capture: %v", err)
	}
	if refunds, err := tm.g.Refunds(ctx, acct, captured.ChargeID, ""); err != nil || len(refunds) != 0 {
		t.Fatalf("refunds of the payment: %v %+v", err, refunds)
	}
}

// TestReaderPaymentByInterac: Interac is captured by Stripe at once; its
// refund is made on the reader, when the card is presented again, and
// then read as any refund.
func TestReaderPaymentByInterac(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stripe.json")
	tm := newTerminal(t, path)
	r := tm.reader(t)
	pi := tm.intent(t, 8000, "k/pi")
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process"); err != nil {
		t.Fatal(err)
	}
	o, err := tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{Type: "interac_present", Number: "4506445006931933"})
	if err != nil || !same(types(o.Deliveries), "terminal.reader.action_succeeded", "payment_intent.succeeded") || o.Intent.AmountReceived != 8000 {
		t.Fatalf("interac: %v %+v", err, o)
	}
	read, err := tm.g.ReaderPaymentIntent(ctx, acct, pi.ID)
	if err != nil || read.Status != IntentSucceeded || *read.Method != (billing.PaymentMethod{Type: "interac_present", Brand: "interac", Last4: "1933"}) {
		t.Fatalf("%v %+v", err, read)
	}
	if _, err := tm.g.CapturePaymentIntent(ctx, acct, pi.ID, 8000, "k/capture"); billing.ErrorCode(err) != billing.CodePaymentProviderError {
		t.Fatalf("capture of an Interac payment: %v", err)
	}
	if _, err := tm.g.RefundOnReader(ctx, &billing.NewReaderRefund{AccountID: acct, ReaderID: r.ID, PaymentIntentID: pi.ID, Amount: 9000, IdempotencyKey: "k/refund-too-much"}); billing.ErrorCode(err) != billing.CodePaymentProviderError {
		t.Fatalf("a refund beyond the payment: %v", err)
	}
	got, err := tm.g.RefundOnReader(ctx, &billing.NewReaderRefund{AccountID: acct, ReaderID: r.ID, PaymentIntentID: pi.ID, Amount: 2500,
		Metadata: map[string]string{billing.MetaRefundAttempt: "rfa_1"}, IdempotencyKey: "k/refund"})
	if err != nil || got.Action.Type != ActionRefundPayment || got.Action.Status != ActionInProgress || got.Action.RefundAmount != 2500 ||
		got.Action.Metadata[billing.MetaRefundAttempt] != "rfa_1" {
		t.Fatalf("%v %+v", err, got)
	}
	o, err = tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{Type: "interac_present"})
	if err != nil || !same(types(o.Deliveries), "terminal.reader.action_succeeded", "charge.refunded") || o.Refund == nil || o.Refund.Amount != 2500 {
		t.Fatalf("refund: %v %+v", err, o)
	}
	if after, err := tm.g.Reader(ctx, acct, r.ID); err != nil {
		t.Fatal(err)
	} else if a := after.Action; a.Status != ActionSucceeded || a.RefundID != o.Refund.ID || a.Metadata[billing.MetaRefundAttempt] != "rfa_1" {
		t.Fatalf("the reader's refund action after the card: %+v", a)
	}
	if ev := tm.rc.last(); *ev.Facts.ChargeRefunded != 2500 || ev.Facts.PaymentIntentID != pi.ID {
		t.Fatalf("charge.refunded read as %+v", ev.Facts)
	}
	refunds, err := tm.g.Refunds(ctx, acct, read.ChargeID, "")
	if err != nil || len(refunds) != 1 || refunds[0].Amount != 2500 || refunds[0].Status != billing.RefundSucceeded || refunds[0].ID != o.Refund.ID {
		t.Fatalf("%v %+v", err, refunds)
	}
	// Readers and their payments survive a restart of make dev.
	again, err := Open(path)
	if err != nil || again.Reader(r.ID) == nil || again.Intent(pi.ID).Status != IntentSucceeded || again.Payment(pi.ID).Refunded() != 2500 {
		t.Fatalf("after a restart: %v", err)
	}
}

// TestReaderCanceledAndOffline: staff cancel the action before a card is
// presented, then the PaymentIntent (payment_intent.canceled follows the
// call); the patient cancels on the reader; an offline reader refuses;
// a deleted reader is gone, and deleting it again is no error.
func TestReaderCanceledAndOffline(t *testing.T) {
	ctx := context.Background()
	tm := newTerminal(t, "")
	r := tm.reader(t)
	pi := tm.intent(t, 5000, "k/pi-1")
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := tm.g.CancelReaderAction(ctx, acct, r.ID, "k/cancel-action"); err != nil || got.Action != nil {
		t.Fatalf("%v %+v", err, got)
	}
	canceled, err := tm.g.CancelPaymentIntent(ctx, acct, pi.ID, "k/cancel")
	if err != nil || canceled.Status != IntentCanceled {
		t.Fatalf("%v %+v", err, canceled)
	}
	if ds := tm.sim.Pending(); !same(types(ds), "payment_intent.canceled") || tm.rc.last().Terminal.Intent.Status != IntentCanceled {
		t.Fatalf("cancel's events: %+v", ds)
	}
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-canceled"); billing.ErrorCode(err) != billing.CodePaymentProviderError {
		t.Fatalf("a canceled PaymentIntent on the reader: %v", err)
	}

	pi = tm.intent(t, 5000, "k/pi-2")
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-2"); err != nil {
		t.Fatal(err)
	}
	o, err := tm.sim.CustomerCancel(ctx, r.ID)
	if err != nil || !same(types(o.Deliveries), "terminal.reader.action_failed") || tm.rc.last().Terminal.Reader.Action.FailureCode != "customer_canceled" {
		t.Fatalf("patient cancel: %v %+v", err, o)
	}

	if _, err := tm.sim.SetReaderStatus(r.ID, ReaderOffline); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-3"); billing.ErrorCode(err) != billing.CodeReaderOffline {
		t.Fatalf("an offline reader: %v", err)
	}
	if got, err := tm.g.Reader(ctx, acct, r.ID); err != nil || got.Status != billing.ReaderOffline {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := tm.sim.SetReaderStatus(r.ID, ReaderOnline); err != nil {
		t.Fatal(err)
	}
	// The refusal was not kept for its key: the reader, back, takes it.
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-3"); err != nil {
		t.Fatalf("back online: %v", err)
	}

	if err := tm.g.DeleteReader(ctx, other, r.ID); err != nil || tm.sim.State.Reader(r.ID) == nil {
		t.Fatalf("another account deleted the reader: %v", err)
	}
	if err := tm.g.DeleteReader(ctx, acct, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.g.Reader(ctx, acct, r.ID); !errors.Is(err, billing.ErrUnknownReader) {
		t.Fatalf("a deleted reader: %v", err)
	}
	if err := tm.g.DeleteReader(ctx, acct, r.ID); err != nil {
		t.Fatalf("deleted twice: %v", err)
	}
}

// TestIntentCanceledByStripe: Stripe cancels a PaymentIntent on its own
// (an authorization that lapsed): the reader waiting for it stops, the
// event says so, and a read gives Stripe's cancellation_reason.
func TestIntentCanceledByStripe(t *testing.T) {
	ctx := context.Background()
	tm := newTerminal(t, "")
	r := tm.reader(t)
	pi := tm.intent(t, 5000, "k/pi-lapse")
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process-lapse"); err != nil {
		t.Fatal(err)
	}
	o, err := tm.sim.CancelIntent(ctx, pi.ID, "automatic")
	if err != nil || !same(types(o.Deliveries), "payment_intent.canceled") || tm.sim.State.Reader(r.ID).Action != nil {
		t.Fatalf("%v %+v", err, o)
	}
	if ev := tm.rc.last().Terminal.Intent; ev.Status != IntentCanceled || ev.CancellationReason != "automatic" {
		t.Fatalf("the event's PaymentIntent: %+v", ev)
	}
	got, err := tm.g.ReaderPaymentIntent(ctx, acct, pi.ID)
	if err != nil || got.Status != IntentCanceled || got.CancellationReason != "automatic" {
		t.Fatalf("read: %v %+v", err, got)
	}
	if _, err := tm.sim.CancelIntent(ctx, pi.ID, "automatic"); !errors.Is(err, ErrNotCancelable) {
		t.Fatalf("canceled twice: %v", err)
	}
	if _, err := tm.sim.CancelIntent(ctx, "pi_none", "automatic"); !errors.Is(err, ErrNoIntent) {
		t.Fatalf("an unknown PaymentIntent: %v", err)
	}
}
