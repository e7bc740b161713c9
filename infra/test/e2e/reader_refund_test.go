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

// Refunds at the front desk against the local servers: an Interac
// payment taken on the clinic's simulated reader is refunded on a reader,
// the card presented again, as Stripe's test mode plays it. Each row its
// own clinic, reader and invoice (issue 20's "in-person refund").

// interacPaid is a desk row whose invoice was paid by Interac on its
// reader; it returns the PaymentIntent.
func interacPaid(t *testing.T) (deskRow, string) {
	t.Helper()
	d := newDeskRow(t, 12500)
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	present(t, d.reader, "interac_present", "4506445006931933")
	if v := d.l.view(t); v.num("balanceDue") != 0 || v.num("netPaidOnline") != 12500 {
		t.Fatalf("not paid by Interac: %s", v.Raw)
	}
	return d, pi
}

// refund asks the reader to refund amount of the payment pi.
func (d deskRow) refund(t *testing.T, reader, pi string, amount any, header ...string) *response {
	t.Helper()
	if len(header) == 0 {
		header = []string{"Idempotency-Key", "refund-" + randomHex(6)}
	}
	return call(t, "POST", "/invoices/"+d.l.invoiceID+"/reader-refund", d.tn.Staff,
		map[string]any{"readerId": reader, "paymentIntentId": pi, "amount": amount}, header...)
}

// refundCalls counts the refund_payment calls that reached a reader at
// the local Stripe (answered 200).
func refundCalls(reader string) int {
	return len(env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/terminal/readers/"+reader+"/refund_payment" && r.Status == 200
	}))
}

// readerTaking is the invoice GET /readers says the reader takes, "" when
// it is free.
func readerTaking(t *testing.T, tn *tenant, reader string) string {
	t.Helper()
	for _, r := range call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers") {
		if r["id"] == reader {
			if p, ok := r["payment"].(map[string]any); ok {
				s, _ := p["invoiceId"].(string)
				return s
			}
			return ""
		}
	}
	t.Fatalf("no reader %s", reader)
	return ""
}

// refundedView checks what the invoice shows of its one payment once
// Stripe's refund events arrived: refunded, and netPaidOnline following.
func refundedView(t *testing.T, d deskRow, refunded int64) *response {
	t.Helper()
	v := d.l.view(t)
	p := v.list("payments")
	if len(p) != 1 || p[0]["refunded"] != float64(refunded) || v.num("netPaidOnline") != 12500-refunded || v.num("balanceDue") != 0 {
		t.Fatalf("want %d refunded: %s", refunded, v.Raw)
	}
	return v
}

func TestRefundAtTheDesk(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name string
		run  func(t *testing.T, d deskRow, pi string)
	}{
		{"in-person refund", refundOnTheReader},
		{"refund exceeding the payment", refundExceedingPayment},
		{"reader busy", refundOnBusyReader},
		{"reader offline", refundOnOfflineReader},
		{"another clinic's reader and invoice", refundAcrossClinics},
		{"timeout retried with one reader action", func(t *testing.T, d deskRow, pi string) {
			refundRetried(t, d, pi, faultproxy.Rule{Status: 400, Header: jsonHeader,
				Body: stripeRefusal("terminal_reader_timeout", "The reader did not respond in time.")})
		}},
		{"reader took it but the answer was lost", func(t *testing.T, d deskRow, pi string) {
			refundRetried(t, d, pi, faultproxy.Rule{After: true, Status: 500, Header: jsonHeader,
				Body: `{"error":{"type":"api_error","message":"boom"}}`})
		}},
		{"duplicated and reordered refund events", refundEventsReordered},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			d, pi := interacPaid(t)
			row.run(t, d, pi)
		})
	}
}

// refundOnTheReader: the reader is held while it waits for the card, the
// attempt moves no money; the card presented again, Stripe's events
// record the refund on the payment and netPaidOnline follows.
func refundOnTheReader(t *testing.T, d deskRow, pi string) {
	r := d.refund(t, d.reader, pi, 5000).want(t, 201)
	if r.str("status") != billing.ReaderWaiting || r.num("amount") != 5000 || r.str("currency") != "cad" || r.str("paymentIntentId") != pi {
		t.Fatalf("refund attempt %s", r.Raw)
	}
	if a := env.truth.Reader(d.reader).Action; a == nil || a.Type != localstripe.ActionRefundPayment || a.Amount != 5000 ||
		a.Metadata[billing.MetaRefundAttempt] != r.str("id") {
		t.Fatalf("the reader at Stripe: %+v", a)
	}
	if v := d.l.view(t); v.str("readerRefund", "id") != r.str("id") || v.num("netPaidOnline") != 12500 {
		t.Fatalf("view during the refund: %s", v.Raw)
	}
	if readerTaking(t, d.tn, d.reader) != d.l.invoiceID {
		t.Fatal("GET /readers shows the reader free during the refund")
	}
	call(t, "DELETE", "/readers/"+d.reader, d.tn.Admin, nil).wantError(t, 409, "reader_busy")
	other := linkedInvoice(t, d.tn, 4000)
	startOnReader(t, other, d.reader).wantError(t, 409, "reader_busy")

	out := present(t, d.reader, "interac_present", "4506445006931933")
	if out.Refund == nil || out.Refund.Amount != 5000 {
		t.Fatalf("no refund at Stripe: %+v", out)
	}
	v := refundedView(t, d, 5000)
	if v.str("readerRefund", "status") != billing.ReaderSucceeded {
		t.Fatalf("after the card: %s", v.Raw)
	}
	if readerTaking(t, d.tn, d.reader) != "" {
		t.Fatal("the reader is still held")
	}
	if e := feedFor(t, d.tn, d.l.invoiceID); len(e) != 2 || e[1]["kind"] != billing.KindRefund {
		t.Fatalf("feed %v", e)
	}
	// What is left, and no more.
	d.refund(t, d.reader, pi, 7501).wantError(t, 409, "refund_exceeds_payment")
	d.refund(t, d.reader, pi, 7500).want(t, 201)
}

// refundExceedingPayment: more than the payment, more than what a refund
// in progress on another reader leaves, and bodies that are not a refund,
// refused before any reader is asked.
func refundExceedingPayment(t *testing.T, d deskRow, pi string) {
	d.refund(t, d.reader, pi, 12501).wantError(t, 409, "refund_exceeds_payment")
	second := registerReader(t, d.tn, "Second desk").want(t, 201).str("id")
	d.refund(t, d.reader, pi, 10000).want(t, 201)
	d.refund(t, second, pi, 2501).wantError(t, 409, "refund_exceeds_payment")
	for _, amount := range []any{0, -5, 12.5, "100", 1e12, nil} {
		d.refund(t, second, pi, amount).wantError(t, 400, "invalid_request")
	}
	call(t, "POST", "/invoices/"+d.l.invoiceID+"/reader-refund", d.tn.Staff, map[string]any{"readerId": second, "amount": 100},
		"Idempotency-Key", "refund-"+randomHex(6)).wantError(t, 400, "invalid_request")
	if n := refundCalls(second); n != 0 {
		t.Fatalf("%d refused refunds reached the reader", n)
	}
	d.refund(t, second, pi, 2500).want(t, 201)
}

func refundOnBusyReader(t *testing.T, d deskRow, pi string) {
	other := linkedInvoice(t, d.tn, 4000)
	startOnReader(t, other, d.reader).want(t, 201)
	d.refund(t, d.reader, pi, 1000).wantError(t, 409, "reader_busy")
	// Stripe's own terminal_reader_busy (the reader taken outside the
	// service): the attempt fails, the reader is not held.
	second := registerReader(t, d.tn, "Second desk").want(t, 201).str("id")
	busy := env.stripe.Inject(faultproxy.Rule{Times: 1, Status: 400, Header: jsonHeader,
		Body: stripeRefusal("terminal_reader_busy", "Reader is currently busy processing another request."),
		Match: func(r *faultproxy.Request) bool {
			return r.Method == "POST" && r.Path == "/v1/terminal/readers/"+second+"/refund_payment"
		}})
	t.Cleanup(func() { env.stripe.Remove(busy) })
	d.refund(t, second, pi, 1000).wantError(t, 409, "reader_busy")
	if v := d.l.view(t); v.str("readerRefund", "status") != billing.ReaderFailed || v.str("readerRefund", "reason") != "reader_busy" ||
		readerTaking(t, d.tn, second) != "" {
		t.Fatalf("after Stripe's busy reader: %s", v.Raw)
	}
	d.refund(t, second, pi, 1000).want(t, 201)
	d.refund(t, second, pi, 1000).wantError(t, 409, "reader_busy") // our own refund holds it
}

func refundOnOfflineReader(t *testing.T, d deskRow, pi string) {
	if _, err := env.desk.SetReaderStatus(d.reader, localstripe.ReaderOffline); err != nil {
		t.Fatal(err)
	}
	d.refund(t, d.reader, pi, 3000).wantError(t, 409, "reader_offline")
	if readerTaking(t, d.tn, d.reader) != "" {
		t.Fatal("an offline reader is held")
	}
	if _, err := env.desk.SetReaderStatus(d.reader, localstripe.ReaderOnline); err != nil {
		t.Fatal(err)
	}
	d.refund(t, d.reader, pi, 12500).want(t, 201) // the failed one holds no amount
	present(t, d.reader, "interac_present", "4506445006931933")
	refundedView(t, d, 12500)
}

// refundAcrossClinics: another clinic's reader, and this invoice asked by
// another clinic, are not found, and nothing reaches Stripe.
func refundAcrossClinics(t *testing.T, d deskRow, pi string) {
	other := readerTenant(t)
	theirs := registerReader(t, other, "Their desk").want(t, 201).str("id")
	d.refund(t, theirs, pi, 1000).wantError(t, 404, "not_found")
	call(t, "POST", "/invoices/"+d.l.invoiceID+"/reader-refund", other.Staff,
		map[string]any{"readerId": theirs, "paymentIntentId": pi, "amount": 1000}, "Idempotency-Key", "refund-"+randomHex(6)).
		wantError(t, 404, "not_found")
	d.refund(t, d.reader, "pi_"+randomHex(12), 1000).wantError(t, 404, "not_found")
	if n := refundCalls(theirs) + refundCalls(d.reader); n != 0 {
		t.Fatalf("%d refunds reached a reader", n)
	}
	if v := d.l.view(t); v.JSON["readerRefund"] != nil {
		t.Fatalf("a refused refund was kept: %s", v.Raw)
	}
}

// refundRetried: the reader's refund_payment fails once (fault); the
// retry with the same Idempotency-Key makes one reader action, which the
// card completes.
func refundRetried(t *testing.T, d deskRow, pi string, fault faultproxy.Rule) {
	fault.Times = 1
	fault.Match = func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/terminal/readers/"+d.reader+"/refund_payment"
	}
	rule := env.stripe.Inject(fault)
	t.Cleanup(func() { env.stripe.Remove(rule) })
	key := []string{"Idempotency-Key", "refund-" + randomHex(6)}
	failed := d.refund(t, d.reader, pi, 4000, key...).wantError(t, 503, "payment_provider_unavailable")
	if failed.Header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After: %v", failed.Header)
	}
	r := d.refund(t, d.reader, pi, 4000, key...).want(t, 201)
	if r.str("status") != billing.ReaderWaiting {
		t.Fatalf("retry: %s", r.Raw)
	}
	if n := refundCalls(d.reader); n > 1 {
		t.Fatalf("%d reader actions, want 1", n)
	}
	if a := env.truth.Reader(d.reader).Action; a == nil || a.Type != localstripe.ActionRefundPayment || a.Status != localstripe.ActionInProgress ||
		a.Metadata[billing.MetaRefundAttempt] != r.str("id") {
		t.Fatalf("the reader at Stripe: %+v", a)
	}
	present(t, d.reader, "interac_present", "4506445006931933")
	refundedView(t, d, 4000)
	if d.refund(t, d.reader, pi, 4000, key...).want(t, 201).str("id") != r.str("id") {
		t.Fatal("a replay made another refund")
	}
}

// refundEventsReordered: after a refund was made, its events arrive again
// as Stripe may send them (signed, in the pinned API's shapes): a stale
// action_failed, all in reverse order, twice, and the same from another
// clinic's account. The money does not move again.
func refundEventsReordered(t *testing.T, d deskRow, pi string) {
	d.refund(t, d.reader, pi, 3000).want(t, 201)
	present(t, d.reader, "interac_present", "4506445006931933")
	before := refundedView(t, d, 3000)
	r, p := env.truth.Reader(d.reader), env.truth.Payment(pi)
	failed, action := *r, *r.Action
	action.Status, action.FailureCode, action.FailureMessage, action.Refund = localstripe.ActionFailed, "customer_canceled", "Canceled.", ""
	failed.Action = &action
	charged, currency := p.Charged()
	events := [][]byte{
		stripeEvent("evt_"+randomHex(10), "terminal.reader.action_succeeded", d.tn.Account, localstripe.ReaderObject(r)),
		stripeEvent("evt_"+randomHex(10), "charge.refunded", d.tn.Account, localstripe.Charge(p.Charge, pi, currency, charged, p.Refunded())),
		stripeEvent("evt_"+randomHex(10), "terminal.reader.action_failed", d.tn.Account, localstripe.ReaderObject(&failed)),
	}
	for pass := range 2 {
		for k := len(events) - 1; k >= 0; k-- {
			got := deliverAsStripe(t, events[k]).want(t, 200)
			if o := got.str("outcome"); o == string(billing.OutcomeRejected) || (pass == 1 && o != string(billing.OutcomeDuplicate)) {
				t.Fatalf("pass %d: %s", pass+1, got.Raw)
			}
		}
	}
	other := readerTenant(t)
	got := deliver(t, stripeEvent("evt_"+randomHex(10), "terminal.reader.action_failed", other.Account, localstripe.ReaderObject(&failed))).want(t, 200)
	if got.str("outcome") != string(billing.OutcomeIgnored) || got.str("reason") != billing.IgnoredUnknownCharge {
		t.Fatalf("another account's event: %s", got.Raw)
	}
	after := refundedView(t, d, 3000)
	if after.str("readerRefund", "status") != billing.ReaderSucceeded || after.num("netPaidOnline") != before.num("netPaidOnline") {
		t.Fatalf("after the events again: %s", after.Raw)
	}
	if e := feedFor(t, d.tn, d.l.invoiceID); len(e) != 2 {
		t.Fatalf("feed %v", e)
	}
}

// TestRefundSettledAfterLostEvents: a refund on a reader whose events were
// all lost (the reader's and the charge's, sent to an endpoint that
// dropped them) is settled by the scheduler's runs once it has had no
// news for 5 minutes: the reader's action read from the local Stripe
// decides it and frees the reader, then the charge's refunds read from
// it record the money. Each run is done twice.
func TestRefundSettledAfterLostEvents(t *testing.T) {
	t.Parallel()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	lossy := &localstripe.Simulator{State: env.truth, Secret: localservers.WebhookSecret, WebhookURL: sink.URL}
	d, pi := interacPaid(t)
	d.refund(t, d.reader, pi, 5000).want(t, 201)
	if _, err := lossy.PresentPaymentMethod(context.Background(), d.reader, localstripe.Presented{Type: "interac_present"}); err != nil {
		t.Fatal(err)
	}
	runScheduler(t, d.tn, time.Now())
	if v := d.l.view(t); v.str("readerRefund", "status") != billing.ReaderWaiting || v.num("netPaidOnline") != 12500 {
		t.Fatalf("settled before 5 minutes without news: %s", v.Raw)
	}
	later := time.Now().Add(billing.ReaderQuiet + time.Minute)
	for range 2 {
		runScheduler(t, d.tn, later)
		runScheduler(t, d.tn, later)
	}
	v := refundedView(t, d, 5000)
	if v.str("readerRefund", "status") != billing.ReaderSucceeded || readerTaking(t, d.tn, d.reader) != "" {
		t.Fatalf("after the runs: %s", v.Raw)
	}
	if e := feedFor(t, d.tn, d.l.invoiceID); len(e) != 2 {
		t.Fatalf("feed %v", e)
	}
}
