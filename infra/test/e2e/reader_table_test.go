package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// The rest of issue 20's table of reader payments against the local
// servers (TestPayAtTheDesk has the first rows): each row its own clinic,
// registered through POST /readers, with its own reader and invoice.

// deskRow is a row's clinic, reader and invoice (with an active link).
type deskRow struct {
	tn     *tenant
	reader string
	l      linked
}

func newDeskRow(t *testing.T, amount int64) deskRow {
	t.Helper()
	tn := readerTenant(t)
	reader := registerReader(t, tn, "Front desk").want(t, 201).str("id")
	return deskRow{tn: tn, reader: reader, l: linkedInvoice(t, tn, amount)}
}

func (d deskRow) start(t *testing.T, header ...string) *response {
	t.Helper()
	if len(header) == 0 {
		header = []string{"Idempotency-Key", "desk-" + randomHex(6)}
	}
	return call(t, "POST", "/invoices/"+d.l.invoiceID+"/reader-payment", d.tn.Staff, map[string]any{"readerId": d.reader}, header...)
}

func (d deskRow) processPath() string {
	return "/v1/terminal/readers/" + d.reader + "/process_payment_intent"
}

// intentsMade counts the PaymentIntents Stripe made for the invoice.
func (d deskRow) intentsMade() int {
	ids := map[string]bool{}
	for _, r := range stripeCalls(d.tn.Account) {
		var pi struct{ ID string }
		if r.Method == "POST" && r.Path == "/v1/payment_intents" && r.Status == 200 &&
			r.Form.Get("metadata[invoice_id]") == d.l.invoiceID && json.Unmarshal(r.Response, &pi) == nil {
			ids[pi.ID] = true
		}
	}
	return len(ids)
}

// paid checks the invoice is paid once, on the reader, by one capture.
func (d deskRow) paid(t *testing.T, pi string) *response {
	t.Helper()
	v := d.l.view(t)
	if v.num("balanceDue") != 0 || v.num("overpaid") != 0 || len(v.list("payments")) != 1 ||
		v.str("readerPayment", "status") != billing.ReaderSucceeded || v.str("readerPayment", "paymentIntentId") != pi {
		t.Fatalf("not paid once on the reader: %s", v.Raw)
	}
	if n := captures(pi); n != 1 {
		t.Fatalf("%d captures of %s, want 1", n, pi)
	}
	return v
}

// linkPaid: the patient had the link's page open and pays it while the
// card is on the reader.
func (d deskRow) linkPaid(t *testing.T) {
	t.Helper()
	d.l.pay(t)
}

func stripeRefusal(code, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": code, "message": message}})
	return string(b)
}

// TestPayAtTheDeskTable: the rows of the table not in
// TestPayAtTheDesk.
func TestPayAtTheDeskTable(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name string
		run  func(t *testing.T, d deskRow)
	}{
		{"patient cancel", patientCancel},
		{"cancel refused while completing", cancelWhileCompleting},
		{"reader offline", readerOffline},
		{"timeout retried with one PaymentIntent", func(t *testing.T, d deskRow) {
			retriedWithOneIntent(t, d, faultproxy.Rule{Status: 400, Header: jsonHeader,
				Body: stripeRefusal("terminal_reader_timeout", "The reader did not respond in time.")})
		}},
		{"reader took it but the answer was lost", func(t *testing.T, d deskRow) {
			retriedWithOneIntent(t, d, faultproxy.Rule{After: true, Status: 500, Header: jsonHeader,
				Body: `{"error":{"type":"api_error","message":"boom"}}`})
		}},
		{"staff cancel through a Stripe outage, retried", cancelThroughOutage},
		{"link paid while the card is on the reader", linkPaidDuringCard},
		{"interac after the link paid is overpaid", interacAfterLink},
		{"duplicated and reordered events", duplicatedAndReordered},
		{"another clinic's account on an event", anotherAccountsEvent},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			row.run(t, newDeskRow(t, 12500))
		})
	}
}

func patientCancel(t *testing.T, d deskRow) {
	first := d.start(t).want(t, 201)
	if _, err := env.desk.CustomerCancel(context.Background(), d.reader); err != nil {
		t.Fatal(err)
	}
	v := d.l.view(t)
	if v.str("readerPayment", "status") != billing.ReaderDeclined || v.str("readerPayment", "reason") != "customer_canceled" ||
		v.num("balanceDue") != 12500 {
		t.Fatalf("after the patient's cancel: %s", v.Raw)
	}
	for _, r := range call(t, "GET", "/readers", d.tn.Staff, nil).want(t, 200).list("readers") {
		if r["payment"] != nil {
			t.Fatalf("the reader is still taken: %v", r)
		}
	}
	again := d.start(t).want(t, 201)
	if again.str("paymentIntentId") != first.str("paymentIntentId") {
		t.Fatalf("a second PaymentIntent: %s", again.Raw)
	}
	present(t, d.reader, "card_present", "4242424242424242")
	d.paid(t, first.str("paymentIntentId"))
}

// cancelWhileCompleting: the card was approved and the service is
// capturing (its capture held at Stripe): staff's cancel is refused and
// the payment is honoured.
func cancelWhileCompleting(t *testing.T, d deskRow) {
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	reached, release := make(chan struct{}), make(chan struct{})
	hold := env.stripe.Inject(faultproxy.Rule{Reached: reached, Hold: release, Match: func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_intents/"+pi+"/capture"
	}})
	t.Cleanup(func() { env.stripe.Remove(hold) })
	presented := make(chan error, 1)
	go func() {
		_, err := env.desk.PresentPaymentMethod(context.Background(), d.reader, localstripe.Presented{Type: "card_present", Number: "4242424242424242"})
		presented <- err
	}()
	select {
	case <-reached:
	case err := <-presented:
		t.Fatalf("the card was taken without a capture: %v", err)
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		t.Fatal("no capture")
	}
	call(t, "DELETE", "/invoices/"+d.l.invoiceID+"/reader-payment", d.tn.Staff, nil).wantError(t, 409, "reader_payment_completing")
	close(release)
	if err := <-presented; err != nil {
		t.Fatal(err)
	}
	env.desk.Pending()
	d.paid(t, pi)
	if i := env.truth.Intent(pi); i.Status != localstripe.IntentSucceeded {
		t.Fatalf("at Stripe: %s", i.Status)
	}
}

func readerOffline(t *testing.T, d deskRow) {
	if _, err := env.desk.SetReaderStatus(d.reader, localstripe.ReaderOffline); err != nil {
		t.Fatal(err)
	}
	d.start(t).wantError(t, 409, "reader_offline")
	if v := d.l.view(t); v.str("readerPayment", "status") == billing.ReaderWaiting || v.num("balanceDue") != 12500 {
		t.Fatalf("after the offline reader: %s", v.Raw)
	}
	if _, err := env.desk.SetReaderStatus(d.reader, localstripe.ReaderOnline); err != nil {
		t.Fatal(err)
	}
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	present(t, d.reader, "card_present", "4242424242424242")
	d.paid(t, pi)
	if n := d.intentsMade(); n != 1 {
		t.Fatalf("%d PaymentIntents made, want 1", n)
	}
}

// retriedWithOneIntent: the reader's process_payment_intent fails once
// (fault); the client's retry, with the same key, makes no second
// PaymentIntent and the payment completes.
func retriedWithOneIntent(t *testing.T, d deskRow, fault faultproxy.Rule) {
	fault.Times = 1
	fault.Match = func(r *faultproxy.Request) bool { return r.Method == "POST" && r.Path == d.processPath() }
	rule := env.stripe.Inject(fault)
	t.Cleanup(func() { env.stripe.Remove(rule) })
	key := []string{"Idempotency-Key", "desk-" + randomHex(6)}
	failed := d.start(t, key...).wantError(t, 503, "payment_provider_unavailable")
	if failed.Header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After: %v", failed.Header)
	}
	a := d.start(t, key...).want(t, 201)
	if a.str("status") != billing.ReaderWaiting {
		t.Fatalf("retry: %s", a.Raw)
	}
	if n := d.intentsMade(); n != 1 {
		t.Fatalf("%d PaymentIntents made, want 1", n)
	}
	if r := env.truth.Reader(d.reader); r.Action == nil || r.Action.PaymentIntent != a.str("paymentIntentId") {
		t.Fatalf("the reader at Stripe: %+v", r)
	}
	present(t, d.reader, "card_present", "4242424242424242")
	d.paid(t, a.str("paymentIntentId"))
}

// cancelThroughOutage: Stripe fails the reader's cancel_action once; the
// cancel answers 503 and frees its Idempotency-Key, so the retry with the
// same key cancels.
func cancelThroughOutage(t *testing.T, d deskRow) {
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	outage := env.stripe.Inject(faultproxy.Rule{Times: 1, Status: 500, Header: jsonHeader,
		Body: `{"error":{"type":"api_error","message":"boom"}}`, Match: func(r *faultproxy.Request) bool {
			return r.Method == "POST" && r.Path == "/v1/terminal/readers/"+d.reader+"/cancel_action"
		}})
	t.Cleanup(func() { env.stripe.Remove(outage) })
	key := []string{"Idempotency-Key", "cancel-" + randomHex(6)}
	path := "/invoices/" + d.l.invoiceID + "/reader-payment"
	call(t, "DELETE", path, d.tn.Staff, nil, key...).wantError(t, 503, "payment_provider_unavailable")
	c := call(t, "DELETE", path, d.tn.Staff, nil, key...).want(t, 200)
	if c.str("status") != billing.ReaderCanceled || c.str("reason") != billing.ReasonCanceledByStaff {
		t.Fatalf("cancel: %s", c.Raw)
	}
	env.desk.Pending()
	if i := env.truth.Intent(pi); i.Status != localstripe.IntentCanceled {
		t.Fatalf("at Stripe: %s", i.Status)
	}
}

func linkPaidDuringCard(t *testing.T, d deskRow) {
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	d.linkPaid(t)
	present(t, d.reader, "card_present", "4242424242424242")
	v := d.l.view(t)
	if v.str("readerPayment", "status") != billing.ReaderCanceled || v.str("readerPayment", "reason") != billing.ReasonAlreadyPaid ||
		v.num("balanceDue") != 0 || v.num("overpaid") != 0 || len(v.list("payments")) != 1 {
		t.Fatalf("after the card: %s", v.Raw)
	}
	if n := captures(pi); n != 0 {
		t.Fatalf("%d captures: the patient paid twice", n)
	}
	if i := env.truth.Intent(pi); i.Status != localstripe.IntentCanceled || i.AmountReceived != 0 {
		t.Fatalf("the authorization at Stripe: %s, received %d", i.Status, i.AmountReceived)
	}
}

func interacAfterLink(t *testing.T, d deskRow) {
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	d.linkPaid(t)
	present(t, d.reader, "interac_present", "4506445006931933")
	v := d.l.view(t)
	if v.num("balanceDue") != 0 || v.num("overpaid") != 12500 || len(v.list("payments")) != 2 {
		t.Fatalf("after Interac: %s", v.Raw)
	}
	if n := captures(pi); n != 0 {
		t.Fatalf("%d captures of an Interac payment", n)
	}
	e := feedFor(t, d.tn, d.l.invoiceID)
	last := e[len(e)-1]
	if flags, _ := last["flags"].([]any); last["channel"] != "in_person" || !slices.Contains(flags, any(billing.FlagOverpaid)) {
		t.Fatalf("feed %v", e)
	}
}

// duplicatedAndReordered: after a card was approved and captured, the
// same facts arrive again as Stripe may send them (signed, in the pinned
// API's shapes): a stale action_failed after the action_succeeded, then
// all of them in reverse order, twice. The money does not move.
func duplicatedAndReordered(t *testing.T, d deskRow) {
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	present(t, d.reader, "card_present", "4242424242424242")
	before := d.paid(t, pi)
	r, i := env.truth.Reader(d.reader), env.truth.Intent(pi)
	failed, action := *r, *r.Action
	action.Status, action.FailureCode, action.FailureMessage = localstripe.ActionFailed, "card_declined", "Your card was declined."
	failed.Action = &action
	events := [][]byte{
		stripeEvent("evt_"+randomHex(10), "terminal.reader.action_succeeded", d.tn.Account, localstripe.ReaderObject(r)),
		stripeEvent("evt_"+randomHex(10), "payment_intent.succeeded", d.tn.Account, localstripe.IntentObject(i, nil)),
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
	env.desk.Pending()
	after := d.paid(t, pi)
	if got, want := after.list("payments"), before.list("payments"); len(got) != 1 || got[0]["amount"] != want[0]["amount"] {
		t.Fatalf("payments %v, were %v", got, want)
	}
	if e := feedFor(t, d.tn, d.l.invoiceID); len(e) != 1 {
		t.Fatalf("feed %v", e)
	}
}

// anotherAccountsEvent: signed events naming this invoice's reader and
// PaymentIntent, but from another clinic's account, are ignored with
// their reason and change nothing.
func anotherAccountsEvent(t *testing.T, d deskRow) {
	other := readerTenant(t)
	pi := d.start(t).want(t, 201).str("paymentIntentId")
	i := env.truth.Intent(pi)
	i.Status, i.AmountReceived, i.Method, i.Brand, i.Last4 = localstripe.IntentSucceeded, i.Amount, "card_present", "visa", "4242"
	r := env.truth.Reader(d.reader)
	r.Action.Status = localstripe.ActionSucceeded
	for _, ev := range [][]byte{
		stripeEvent("evt_"+randomHex(10), "payment_intent.succeeded", other.Account, localstripe.IntentObject(i, nil)),
		stripeEvent("evt_"+randomHex(10), "terminal.reader.action_succeeded", other.Account, localstripe.ReaderObject(r)),
	} {
		got := deliver(t, ev).want(t, 200)
		// Stripe has no such PaymentIntent on that account.
		if got.str("outcome") != string(billing.OutcomeIgnored) || got.str("reason") != billing.IgnoredUnknownCharge {
			t.Fatalf("another account's event: %s", got.Raw)
		}
	}
	v := d.l.view(t)
	if v.num("balanceDue") != 12500 || len(v.list("payments")) != 0 || v.str("readerPayment", "status") != billing.ReaderWaiting {
		t.Fatalf("after another account's events: %s", v.Raw)
	}
	if strings.Contains(string(v.Raw), other.Account) {
		t.Fatalf("another account in the view: %s", v.Raw)
	}
}
