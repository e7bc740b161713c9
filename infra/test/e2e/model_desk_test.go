package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/internal/billing"
)

// FuzzInvoiceModelAtTheDesk is FuzzInvoiceModel with the clinic's
// simulated reader at the front desk: among the link's operations and
// events, staff start a reader payment, the patient presents a card
// (approved, declined, Interac on a cad invoice) or cancels on the
// reader, staff cancel, the reader is offline, the scheduler settles a
// quiet attempt; the reader's and its PaymentIntent's events (and those
// of the service's own capture and cancel) are held back, duplicated and
// delivered out of order as the link's are. After every step, besides
// the link's checks:
//
//   - the balance rule, and no more money recorded than the total unless
//     the invoice records it overpaid;
//   - a card authorization Stripe captured was captured while the
//     invoice owed exactly its amount in its currency (nothing clearing);
//   - the reader at Stripe waits for a card of this invoice only while
//     the service's last attempt waits for it (at most one at a time),
//     and while an attempt is in progress no link is payable and a PUT
//     or a link is refused with reader_payment_in_progress;
//   - each answer is the rules' (a start's 201 for exactly the balance,
//     the PaymentIntent of a declined attempt sent again, or its 409; a
//     staff cancel's 200 while Stripe has not taken the card, else 409
//     reader_payment_completing; reader_busy for another invoice exactly
//     while this one holds the reader; reader_offline);
//   - every in-person payment recorded is one Stripe took, once, and it
//     lowers the balance as a link's payment does.
//
// Once every event is delivered (and the scheduler has looked at what
// is left), no authorization is left hanging, what Stripe took on the
// reader is recorded, and the link's and the reader's money is what
// Stripe's facts say (converged). It has its own seed corpus, so
// FuzzInvoiceModel's cases keep playing the link's sequences they were
// saved for.
func FuzzInvoiceModelAtTheDesk(f *testing.F) {
	f.Fuzz(corpusMustPlay(checkDeskModel))
}

func checkDeskModel(t *rapid.T) { runInvoiceModel(t, true) }

func (m *model) deskActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"desk: start":             m.startAtDesk,
		"desk: card":              m.presentCard,
		"desk: patient cancels":   m.patientCancels,
		"desk: staff cancels":     m.staffCancels,
		"desk: reader offline":    m.offlineReader,
		"desk: scheduler settles": m.schedulerSettles,
	}
}

// inbox holds the local Stripe's events of one account, which the test
// delivers itself (divertToInbox).
type inbox struct {
	mu     sync.Mutex
	events [][]byte
}

// inboxes are the accounts whose events a test takes, by account.
var inboxes sync.Map

// divertToInbox is the local Stripe's Divert: an event of an account
// with an inbox goes there, not to the webhook.
func divertToInbox(payload []byte) bool {
	var ev struct{ Account string }
	if json.Unmarshal(payload, &ev) != nil {
		return false
	}
	v, ok := inboxes.Load(ev.Account)
	if !ok {
		return false
	}
	in := v.(*inbox)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.events = append(in.events, payload)
	return true
}

func (in *inbox) take() [][]byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.events
	in.events = nil
	return out
}

// mDesk is the front desk of the model's clinic: its reader, the
// PaymentIntents the attempts made, and what the checks saw.
type mDesk struct {
	reader string
	// second is another invoice of the clinic, paid on the same reader.
	second  string
	inbox   *inbox
	intents []string
	// captured: card authorizations Stripe captured, as checks saw them.
	captured map[string]bool
	// owed, currency and clearing are the invoice as the last check saw
	// it: what it owed before the step under way.
	owed     int64
	currency string
	clearing bool
}

// openDesk gives the model's clinic an address and a simulated reader,
// and takes its account's events.
func (m *model) openDesk(t *rapid.T) {
	settings(t, m.tn, map[string]any{"address": clinicAddress()})
	r := call(t, "POST", "/readers", m.tn.Admin, map[string]any{"registrationCode": "simulated-wpe", "label": "Front desk"}).want(t, 201)
	m.desk = &mDesk{reader: r.str("id"), inbox: &inbox{}, captured: map[string]bool{}, second: newInvoice(t, m.tn)}
	inboxes.Store(m.tn.Account, m.desk.inbox)
}

func (m *model) closeDesk() {
	if m.desk != nil {
		inboxes.Delete(m.tn.Account)
	}
}

// inProgress: the invoice's last attempt holds it (the view's).
func inProgress(v *response) bool {
	return slices.Contains([]string{billing.ReaderStarting, billing.ReaderWaiting, billing.ReaderCapturing}, v.str("readerPayment", "status"))
}

func (m *model) atDesk(t *rapid.T) bool { return m.desk != nil && inProgress(m.view(t)) }

// drain sends the events the local Stripe made meanwhile (a card, a
// capture, a cancel) as the link's are sent: now, later, or both.
func (m *model) drain(t *rapid.T) {
	if m.desk == nil {
		return
	}
	for _, payload := range m.desk.inbox.take() {
		m.send(t, &event{payload: payload, desk: true, apply: m.applyDeskEvent})
	}
}

func (m *model) applyDeskEvent(t *rapid.T, r *response) {
	if out := r.str("outcome"); out != "applied" && out != "ignored" {
		t.Fatalf("a reader's event answered %s", r.Raw)
	}
	m.deskNews(t)
}

// deskNews takes in the in-person payments the service recorded since
// last asked: each is one Stripe took (its PaymentIntent succeeded, for
// that amount), and it counts as a link's payment does.
func (m *model) deskNews(t *rapid.T) {
	for _, p := range m.view(t).list("payments") {
		pi, _ := p["paymentIntentId"].(string)
		if p["channel"] != "in_person" || slices.ContainsFunc(m.payments, func(q *mPayment) bool { return q.pi == pi }) {
			continue
		}
		amount, currency := int64(p["amount"].(float64)), p["currency"].(string)
		i := env.truth.Intent(pi)
		if i == nil || i.Status != localstripe.IntentSucceeded || i.AmountReceived != amount || i.Currency != currency ||
			i.Metadata["invoice_id"] != m.invoiceID {
			t.Fatalf("in-person payment %v recorded; Stripe holds %+v", p, i)
		}
		mp := &mPayment{pi: pi, ch: i.Charge, link: &mLink{amount: amount, currency: currency}, amount: amount, currency: currency,
			decided: true, counts: currency == m.currency, state: "succeeded", inPerson: true, piKnown: true}
		m.payments = append(m.payments, mp)
		if mp.counts {
			m.balance = max(m.balance-amount, 0)
			m.endActiveIfStale()
		}
	}
}

func (m *model) startAtDesk(t *rapid.T) {
	last, _ := m.view(t).JSON["readerPayment"].(map[string]any)
	code := m.linkBlocker(t)
	r := call(t, "POST", "/invoices/"+m.invoiceID+"/reader-payment", m.tn.Staff, map[string]any{"readerId": m.desk.reader},
		"Idempotency-Key", "desk-"+randomHex(6))
	if code != "" {
		r.wantError(t, 409, code)
		return
	}
	a := r.want(t, 201)
	pi := a.str("paymentIntentId")
	if a.num("amount") != m.balance || a.str("currency") != m.currency || a.str("status") != billing.ReaderWaiting || a.str("readerId") != m.desk.reader {
		t.Fatalf("attempt %s on a balance of %d %s", a.Raw, m.balance, m.currency)
	}
	m.sameIntent(t, last, a)
	if !slices.Contains(m.desk.intents, pi) {
		m.desk.intents = append(m.desk.intents, pi)
	}
	m.active = nil // ended at Stripe first: in_person_payment
	m.drain(t)
}

// sameIntent: an attempt after a declined or failed one for the same
// amount sends its PaymentIntent again; any other makes a new one.
func (m *model) sameIntent(t *rapid.T, last map[string]any, a *response) {
	pi := a.str("paymentIntentId")
	reuse := last != nil && (last["status"] == billing.ReaderDeclined || last["status"] == billing.ReaderFailed) &&
		last["paymentIntentId"] != "" && last["amount"] == a.JSON["amount"] && last["currency"] == a.str("currency")
	switch {
	case reuse && pi != last["paymentIntentId"]:
		t.Fatalf("a second PaymentIntent %s after %v", pi, last)
	case !reuse && slices.Contains(m.desk.intents, pi):
		t.Fatalf("PaymentIntent %s sent again after %v", pi, last)
	}
}

// waitingIntent is the PaymentIntent the reader waits to take a card
// for at Stripe, nil when it waits for none.
func (m *model) waitingIntent() *localstripe.Intent {
	r := env.truth.Reader(m.desk.reader)
	if r == nil || r.Action == nil || r.Action.Type != localstripe.ActionProcessPayment || r.Action.Status != localstripe.ActionInProgress {
		return nil
	}
	return env.truth.Intent(r.Action.PaymentIntent)
}

// patientAtDesk is the PaymentIntent the reader waits for a card for,
// staff sending the invoice's balance to it first when it waits for none
// (nil: the start was refused).
func (m *model) patientAtDesk(t *rapid.T) *localstripe.Intent {
	if i := m.waitingIntent(); i != nil {
		return i
	}
	m.startAtDesk(t)
	return m.waitingIntent()
}

var deskCards = []string{"4242424242424242", "4000000000000002", "4000000000009995", "interac"}

func (m *model) presentCard(t *rapid.T) {
	i := m.patientAtDesk(t)
	if i == nil {
		return
	}
	cards := deskCards
	if !slices.Contains(i.Methods, "interac_present") {
		cards = cards[:len(cards)-1] // Interac is for a cad invoice
	}
	card := rapid.SampledFrom(cards).Draw(t, "card")
	pm := localstripe.Presented{Type: "card_present", Number: card}
	if card == "interac" {
		pm = localstripe.Presented{Type: "interac_present", Number: "4506445006931933"}
	}
	if _, err := env.desk.PresentPaymentMethod(context.Background(), m.desk.reader, pm); err != nil {
		t.Fatal(err)
	}
	m.drain(t)
}

func (m *model) patientCancels(t *rapid.T) {
	if m.patientAtDesk(t) == nil {
		return
	}
	if _, err := env.desk.CustomerCancel(context.Background(), m.desk.reader); err != nil {
		t.Fatal(err)
	}
	m.drain(t)
}

// staffCancels: DELETE …/reader-payment cancels an attempt whose card was
// not taken (200, its PaymentIntent canceled at Stripe); once Stripe took
// the card it answers 409 reader_payment_completing.
func (m *model) staffCancels(t *rapid.T) {
	v := m.view(t)
	last, _ := v.JSON["readerPayment"].(map[string]any)
	r := call(t, "DELETE", "/invoices/"+m.invoiceID+"/reader-payment", m.tn.Staff, nil)
	if last == nil {
		r.wantError(t, 404, "not_found")
		return
	}
	pi, _ := last["paymentIntentId"].(string)
	before := env.truth.Intent(pi)
	untaken := before == nil || before.Status == localstripe.IntentRequiresMethod || before.Status == localstripe.IntentCanceled
	// An authorization the service canceled itself (the balance paid
	// another way meanwhile) was a card presented: while its cancel's
	// event is on its way the service may still say completing.
	decided := last["status"] == billing.ReaderCanceled && (last["reason"] == billing.ReasonAlreadyPaid || last["reason"] == billing.ReasonLinkActive)
	switch {
	case decided && r.Status == 409:
		r.wantError(t, 409, "reader_payment_completing")
	case untaken && last["status"] != billing.ReaderSucceeded && last["status"] != billing.ReaderCapturing:
		if r.want(t, 200).str("status") != billing.ReaderCanceled {
			t.Fatalf("cancel answered %s", r.Raw)
		}
		if i := env.truth.Intent(pi); i != nil && i.Status != localstripe.IntentCanceled {
			t.Fatalf("canceled, but Stripe's PaymentIntent is %s", i.Status)
		}
	case r.Status == 200:
		t.Fatalf("canceled %v, though Stripe's PaymentIntent is %s: %s", last, before.Status, r.Raw)
	default:
		r.wantError(t, 409, "reader_payment_completing")
	}
	m.drain(t)
}

// offlineReader: the reader's availability. Busy with another invoice
// (anotherInvoice), and a start while it is offline is refused (the
// attempt fails, its PaymentIntent kept for the next one).
func (m *model) offlineReader(t *rapid.T) {
	m.anotherInvoice(t)
	code := m.linkBlocker(t)
	if _, err := env.desk.SetReaderStatus(m.desk.reader, localstripe.ReaderOffline); err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", "/invoices/"+m.invoiceID+"/reader-payment", m.tn.Staff, map[string]any{"readerId": m.desk.reader},
		"Idempotency-Key", "desk-"+randomHex(6))
	if _, err := env.desk.SetReaderStatus(m.desk.reader, localstripe.ReaderOnline); err != nil {
		t.Fatal(err)
	}
	if code == "" {
		code = "reader_offline"
		if pi := m.view(t).str("readerPayment", "paymentIntentId"); pi != "" && !slices.Contains(m.desk.intents, pi) {
			m.desk.intents = append(m.desk.intents, pi)
		}
		m.active = nil // ended before the reader was asked
	}
	r.wantError(t, 409, code)
	m.drain(t)
}

// anotherInvoice: staff send another invoice of the clinic to the
// reader, and cancel it. The reader is busy exactly while the model's
// invoice waits on it for a card: an attempt whose card was taken (the
// service capturing it) or that ended (declined, canceled, paid) freed
// it. (It draws nothing, so the corpus's cases keep their steps: the
// other invoice's events are delivered at once.)
func (m *model) anotherInvoice(t *rapid.T) {
	path := "/invoices/" + m.desk.second + "/reader-payment"
	status := m.view(t).str("readerPayment", "status")
	holds := status == billing.ReaderStarting || status == billing.ReaderWaiting
	r := call(t, "POST", path, m.tn.Staff, map[string]any{"readerId": m.desk.reader}, "Idempotency-Key", "desk-"+randomHex(6))
	if holds {
		r.wantError(t, 409, "reader_busy")
		return
	}
	pi := r.want(t, 201).str("paymentIntentId")
	if c := call(t, "DELETE", path, m.tn.Staff, nil).want(t, 200); c.str("status") != billing.ReaderCanceled {
		t.Fatalf("the other invoice's cancel: %s", c.Raw)
	}
	for _, payload := range m.desk.inbox.take() {
		if !strings.Contains(string(payload), pi) {
			t.Fatalf("an event of the model's invoice from the other's cancel: %s", payload)
		}
		if out := deliver(t, payload).want(t, 200).str("outcome"); out != "applied" && out != "ignored" {
			t.Fatalf("the other invoice's event answered %s", out)
		}
	}
}

// schedulerSettles: the scheduler's run once the attempt had no news for
// ReaderQuiet reads Stripe and applies what it says, as the lost events
// would have.
func (m *model) schedulerSettles(t *rapid.T) {
	runScheduler(t, m.tn, time.Now().Add(billing.ReaderQuiet+time.Minute))
	m.deskNews(t)
	m.drain(t)
}

// checkDesk is the desk's part of check, with the view of it.
func (m *model) checkDesk(t *rapid.T, v *response) {
	if m.desk == nil {
		return
	}
	balance, currency := v.num("balanceDue"), v.str("currency")
	for _, pi := range m.desk.intents {
		i := env.truth.Intent(pi)
		if i == nil || m.desk.captured[pi] || i.Status != localstripe.IntentSucceeded || i.Method != "card_present" {
			continue
		}
		m.desk.captured[pi] = true
		if i.AmountReceived != m.desk.owed || i.Currency != m.desk.currency || m.desk.clearing {
			t.Fatalf("captured %d %s while the invoice owed %d %s (a payment clearing: %v)", i.AmountReceived, i.Currency,
				m.desk.owed, m.desk.currency, m.desk.clearing)
		}
	}
	m.desk.owed, m.desk.currency, m.desk.clearing = balance, currency, v.str("status") == "processing"
	if i := m.waitingIntent(); i != nil && (v.str("readerPayment", "paymentIntentId") != i.ID || !inProgress(v)) {
		t.Fatalf("the reader waits for a card for %s; the invoice's attempt is %v", i.ID, v.JSON["readerPayment"])
	}
	if inProgress(v) && (v.JSON["paymentLink"] != nil || v.str("paymentLinkBlocked", "code") != "reader_payment_in_progress") {
		t.Fatalf("an attempt in progress: link %v, blocked %v", v.JSON["paymentLink"], v.JSON["paymentLinkBlocked"])
	}
}

// settleDesk is the end of the desk's conversation: the scheduler looks
// at an authorization still waiting (its events were delivered), then no
// authorization is left hanging and every payment Stripe took on the
// reader is recorded.
func (m *model) settleDesk(t *rapid.T) {
	if m.desk == nil {
		return
	}
	hanging := func() *localstripe.Intent {
		for _, pi := range m.desk.intents {
			if i := env.truth.Intent(pi); i != nil && i.Status == localstripe.IntentRequiresCapture {
				return i
			}
		}
		return nil
	}
	if hanging() != nil {
		m.schedulerSettles(t)
		m.deliverAll(t)
	}
	if i := hanging(); i != nil {
		t.Fatalf("authorization %s of %d left hanging: %v", i.ID, i.AmountCapturable, m.view(t).JSON["readerPayment"])
	}
	for _, pi := range m.desk.intents {
		i := env.truth.Intent(pi)
		if i.Status == localstripe.IntentSucceeded && !slices.ContainsFunc(m.payments, func(p *mPayment) bool { return p.pi == pi }) {
			t.Fatalf("Stripe took %d on the reader (%s), not recorded", i.AmountReceived, pi)
		}
	}
}
