package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
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
