package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// A reader payment whose events were all lost (the reader's and the
// PaymentIntent's, sent to an endpoint that dropped them) is settled by
// the scheduler's run once it has had no news for 5 minutes: it reads
// the PaymentIntent and the reader from the local Stripe and applies them
// as the events would have. Each run is of the row's clinic only, and is
// done twice (the queue delivers at least once).
func TestReaderSettledAfterLostEvents(t *testing.T) {
	t.Parallel()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	// The same Stripe, whose events reach an endpoint that loses them.
	lossy := &localstripe.Simulator{State: env.truth, Secret: localservers.WebhookSecret, WebhookURL: sink.URL}
	for _, tc := range []struct {
		name, typ, number, status string
		balance                   int64
		captures, payments        int
	}{
		{name: "card approved is captured", typ: "card_present", number: "4242424242424242", status: billing.ReaderSucceeded, captures: 1, payments: 1},
		{name: "interac is recorded", typ: "interac_present", number: "4506445006931933", status: billing.ReaderSucceeded, payments: 1},
		{name: "declined frees the reader", typ: "card_present", number: "4000000000000002", status: billing.ReaderDeclined, balance: 12500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t, "fr")
			reader := deskReader(t, tn)
			l := linkedInvoice(t, tn, 12500)
			a := startOnReader(t, l, reader).want(t, 201)
			if _, err := lossy.PresentPaymentMethod(context.Background(), reader, localstripe.Presented{Type: tc.typ, Number: tc.number}); err != nil {
				t.Fatal(err)
			}
			runScheduler(t, tn, time.Now())
			if v := l.view(t); v.str("readerPayment", "status") != billing.ReaderWaiting || v.num("balanceDue") != 12500 {
				t.Fatalf("settled before 5 minutes without news: %s", v.Raw)
			}
			later := time.Now().Add(billing.ReaderQuiet + time.Minute)
			runScheduler(t, tn, later)
			runScheduler(t, tn, later)
			env.desk.Pending() // the capture's events, delivered
			v := l.view(t)
			p, _ := dig(v.JSON, "payments").([]any)
			if v.str("readerPayment", "status") != tc.status || v.num("balanceDue") != tc.balance || len(p) != tc.payments {
				t.Fatalf("after the runs: %s", v.Raw)
			}
			if n := captures(a.str("paymentIntentId")); n != tc.captures {
				t.Fatalf("%d captures", n)
			}
			if e := feedFor(t, tn, l.invoiceID); len(e) != tc.payments {
				t.Fatalf("feed %v", e)
			}
			if tc.status == billing.ReaderDeclined {
				// The reader is free: the same invoice starts on it again.
				if again := startOnReader(t, l, reader).want(t, 201); again.str("status") != billing.ReaderWaiting {
					t.Fatalf("again: %s", again.Raw)
				}
			}
		})
	}
}

// A reader left waiting for a card is ended by the scheduler's first run
// past billing.ReaderWaitLimit: the reader's action and the PaymentIntent
// are canceled at the local Stripe, the attempt is canceled (timed_out)
// and the reader takes the next payment.
func TestReaderWaitTimedOut(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	reader := deskReader(t, tn)
	l := linkedInvoice(t, tn, 12500)
	a := startOnReader(t, l, reader).want(t, 201)
	runScheduler(t, tn, time.Now().Add(billing.ReaderWaitLimit-time.Minute))
	if v := l.view(t); v.str("readerPayment", "status") != billing.ReaderWaiting {
		t.Fatalf("ended before the limit: %s", v.Raw)
	}
	later := time.Now().Add(billing.ReaderWaitLimit + time.Minute)
	runScheduler(t, tn, later)
	runScheduler(t, tn, later)
	env.desk.Pending() // the cancel's events, delivered
	v := l.view(t)
	if v.str("readerPayment", "status") != billing.ReaderCanceled || v.str("readerPayment", "reason") != billing.ReasonTimedOut ||
		v.num("balanceDue") != 12500 {
		t.Fatalf("after the limit: %s", v.Raw)
	}
	pi := a.str("paymentIntentId")
	if i := env.truth.Intent(pi); i == nil || i.Status != localstripe.IntentCanceled {
		t.Fatalf("the PaymentIntent at Stripe: %+v", i)
	}
	if r := env.truth.Reader(reader); r == nil || r.Action != nil {
		t.Fatalf("the reader at Stripe: %+v", r)
	}
	if again := startOnReader(t, l, reader).want(t, 201); again.str("status") != billing.ReaderWaiting || again.str("paymentIntentId") == pi {
		t.Fatalf("again: %s", again.Raw)
	}
}

// TestReaderWaitEndsAsTheCardComes: the scheduler's run ends a reader
// waiting past the limit just as the patient presents a card (the run's
// cancel_action held at Stripe until the card was approved): Stripe
// answers terminal_reader_busy, and the payment is honoured, captured
// once, never canceled.
func TestReaderWaitEndsAsTheCardComes(t *testing.T) {
	t.Parallel()
	d := newDeskRow(t, 12500)
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	reached, release := make(chan struct{}), make(chan struct{})
	hold := env.stripe.Inject(faultproxy.Rule{Reached: reached, Hold: release, Match: func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/terminal/readers/"+d.reader+"/cancel_action"
	}})
	t.Cleanup(func() { env.stripe.Remove(hold) })
	ran := make(chan *response, 1)
	go func() { ran <- runScheduler(t, d.tn, time.Now().Add(billing.ReaderWaitLimit+time.Minute)) }()
	select {
	case <-reached:
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		t.Fatal("the run did not cancel the reader's action")
	}
	present(t, d.reader, "card_present", "4242424242424242")
	close(release)
	// The run's work is done, not failed: the refusal read as the card's.
	if run := <-ran; run.num("report", "failed") != 0 || run.num("report", "worked") == 0 {
		t.Fatalf("the run: %s", mustJSON(t, run.JSON))
	}
	env.desk.Pending()
	d.paid(t, pi)
	canceled := env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/cancel"
	})
	if len(canceled) != 0 {
		t.Fatalf("the PaymentIntent was canceled: %d calls", len(canceled))
	}
}

// captureCalls counts every capture of pi asked of Stripe, whatever the
// answer.
func captureCalls(pi string) int {
	return len(env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/capture"
	}))
}

// A capture Stripe refuses for good is asked once: the service reads the
// PaymentIntent from the local Stripe and records what it says (canceled
// at Stripe: the attempt canceled with Stripe's reason), or, when it is
// still authorized, fails the attempt (capture_refused) and releases the
// authorization. The scheduler's later runs ask nothing more.
func TestReaderCaptureRefused(t *testing.T) {
	t.Parallel()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	lossy := &localstripe.Simulator{State: env.truth, Secret: localservers.WebhookSecret, WebhookURL: sink.URL}
	rows := []struct {
		name           string
		run            func(t *testing.T, d deskRow, pi string)
		status, reason string
	}{
		{"the authorization lapsed at Stripe", lapsedBeforeCapture(lossy), billing.ReaderCanceled, "automatic"},
		{"refused while authorized", refusedWhileAuthorized, billing.ReaderFailed, billing.ReasonCaptureRefused},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			d := newDeskRow(t, 12500)
			pi := d.start(t).want(t, 201).str("paymentIntentId")
			row.run(t, d, pi)
			env.desk.Pending()
			for range 2 {
				runScheduler(t, d.tn, time.Now().Add(billing.ReaderQuiet+time.Minute))
			}
			v := d.l.view(t)
			if v.str("readerPayment", "status") != row.status || v.str("readerPayment", "reason") != row.reason ||
				v.num("balanceDue") != 12500 || len(v.list("payments")) != 0 {
				t.Fatalf("after the refusal: %s", v.Raw)
			}
			if n := captureCalls(pi); n != 1 {
				t.Fatalf("%d captures asked, want 1", n)
			}
			if i := env.truth.Intent(pi); i.Status != localstripe.IntentCanceled || i.AmountReceived != 0 {
				t.Fatalf("the authorization at Stripe: %s, received %d", i.Status, i.AmountReceived)
			}
			for _, r := range call(t, "GET", "/readers", d.tn.Staff, nil).want(t, 200).list("readers") {
				if r["payment"] != nil {
					t.Fatalf("the reader is still taken: %v", r)
				}
			}
		})
	}
}

// lapsedBeforeCapture: the card's events are lost, the authorization
// lapses at Stripe (its event lost too), then the authorization's event
// arrives late: the service decides to capture and Stripe refuses.
func lapsedBeforeCapture(lossy *localstripe.Simulator) func(t *testing.T, d deskRow, pi string) {
	return func(t *testing.T, d deskRow, pi string) {
		ctx := context.Background()
		if _, err := lossy.PresentPaymentMethod(ctx, d.reader, localstripe.Presented{Type: "card_present", Number: "4242424242424242"}); err != nil {
			t.Fatal(err)
		}
		authorized := env.truth.Intent(pi)
		if _, err := lossy.CancelIntent(ctx, pi, "automatic"); err != nil {
			t.Fatal(err)
		}
		ev := stripeEvent("evt_"+randomHex(10), "payment_intent.amount_capturable_updated", d.tn.Account, localstripe.IntentObject(authorized, nil))
		if got := deliverAsStripe(t, ev).want(t, 200); got.str("outcome") != string(billing.OutcomeApplied) {
			t.Fatalf("the late authorization: %s", got.Raw)
		}
	}
}

// refusedWhileAuthorized: Stripe refuses the capture for good (a 4xx)
// while the PaymentIntent still says requires_capture.
func refusedWhileAuthorized(t *testing.T, d deskRow, pi string) {
	rule := env.stripe.Inject(faultproxy.Rule{Status: 400, Header: jsonHeader,
		Body: stripeRefusal("payment_intent_unexpected_state", "This PaymentIntent could not be captured."),
		Match: func(r *faultproxy.Request) bool {
			return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/capture"
		}})
	t.Cleanup(func() { env.stripe.Remove(rule) })
	present(t, d.reader, "card_present", "4242424242424242")
}

// TestReaderCaptureDecidedAgainAfterAnOutage: the card is approved while
// Stripe is down for the capture (the webhook answers 503, the decision
// to capture written); the patient then pays the link's page they had
// open. The scheduler's run, with Stripe back, cancels the authorization
// (already_paid) instead of capturing it: the patient is charged once.
func TestReaderCaptureDecidedAgainAfterAnOutage(t *testing.T) {
	t.Parallel()
	d := newDeskRow(t, 12500)
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	outage := env.stripe.Inject(faultproxy.Rule{Status: 500, Header: jsonHeader, Body: `{"error":{"type":"api_error","message":"boom"}}`,
		Match: func(r *faultproxy.Request) bool {
			return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/capture"
		}})
	t.Cleanup(func() { env.stripe.Remove(outage) })
	if _, err := env.desk.PresentPaymentMethod(context.Background(), d.reader, localstripe.Presented{Type: "card_present", Number: "4242424242424242"}); err != nil {
		t.Fatal(err)
	}
	if v := d.l.view(t); v.str("readerPayment", "status") != billing.ReaderCapturing {
		t.Fatalf("the capture was not held up: %s", v.Raw)
	}
	d.linkPaid(t)
	env.stripe.Remove(outage)
	runScheduler(t, d.tn, time.Now().Add(billing.ReaderQuiet+time.Minute))
	env.desk.Pending()
	v := d.l.view(t)
	if v.str("readerPayment", "status") != billing.ReaderCanceled || v.str("readerPayment", "reason") != billing.ReasonAlreadyPaid ||
		v.num("balanceDue") != 0 || v.num("overpaid") != 0 || len(v.list("payments")) != 1 {
		t.Fatalf("after the run: %s", v.Raw)
	}
	if n := captures(pi); n != 0 {
		t.Fatalf("%d captures: the patient paid twice", n)
	}
	if i := env.truth.Intent(pi); i.Status != localstripe.IntentCanceled || i.AmountReceived != 0 {
		t.Fatalf("the authorization at Stripe: %s, received %d", i.Status, i.AmountReceived)
	}
}
