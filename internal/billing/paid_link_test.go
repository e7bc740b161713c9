package billing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The paid link's message on in-memory fakes; against the local servers
// in infra/test/e2e (paid_link_test.go).

const paidFrench = "Facture payée, merci. Votre paiement a été reçu par Clinique."

// paidNotice is the state of the link's notice, and what Stripe was told.
func (f *fixture) paidNotice(t *testing.T, l *Link) (PaidNotice, string, int) {
	t.Helper()
	f.stripe.mu.Lock()
	defer f.stripe.mu.Unlock()
	return f.invoice(t).link(l.Generation).PaidNotice, f.stripe.messages[l.ID], len(f.stripe.messageKeys)
}

// TestPaidLinkSaysSo: once a payment through a link succeeded, its Stripe
// message says paid, in the patient's language, told once whatever the
// deliveries; a debit only once it clears, never one that fails.
func TestPaidLinkSaysSo(t *testing.T) {
	tests := []struct {
		name   string
		events []string // the session events delivered, each twice
		debit  bool
		want   PaidNotice
	}{
		{"a card", []string{EventCheckoutCompleted}, false, PaidNoticeDone},
		{"a debit clearing", []string{EventCheckoutCompleted}, true, ""},
		{"a debit that cleared", []string{EventCheckoutCompleted, EventAsyncSucceeded}, true, PaidNoticeDone},
		{"a debit that failed", []string{EventCheckoutCompleted, EventAsyncFailed}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			l := f.link(t)
			for _, typ := range tc.events {
				ev := f.sessionEvent(t, l, typ, "pi_1", 12500, "cad")
				if tc.debit && typ == EventCheckoutCompleted {
					ev.Facts.State = PaymentProcessing
				}
				f.handle(t, ev)
				f.handle(t, ev)
			}
			state, msg, calls := f.paidNotice(t, l)
			if tc.want == "" {
				if state != "" || calls != 0 {
					t.Fatalf("%q, %d calls", state, calls)
				}
				return
			}
			if state != tc.want || msg != paidFrench || calls != 1 {
				t.Fatalf("%q %q, %d calls", state, msg, calls)
			}
		})
	}
}

// TestPaidLinkMessageThatFails: Stripe refusing the message never fails
// the payment's delivery; the scheduler tries again later, with a new
// idempotency key, and gives up after MaxSendTries.
func TestPaidLinkMessageThatFails(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	f.stripe.failMessage = errors.New("stripe is down")
	if res := f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad")); res.Outcome != OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	inv := f.invoice(t)
	if inv.BalanceDue != 0 || inv.link(l.Generation).PaidNotice != PaidNoticeOwed || !inv.NextWorkAt().Equal(f.clock().Add(paidNoticeRetry)) {
		t.Fatalf("balance %d, notice %+v, next work %v", inv.BalanceDue, inv.link(l.Generation), inv.NextWorkAt())
	}
	run := func(after time.Duration) {
		f.advance(after)
		if _, err := f.run(context.Background(), f.clock()); err != nil {
			t.Fatal(err)
		}
	}
	run(time.Minute) // not due yet
	if _, _, calls := f.paidNotice(t, l); calls != 1 {
		t.Fatalf("%d calls before the retry is due", calls)
	}
	run(paidNoticeRetry)
	f.stripe.mu.Lock()
	keys := f.stripe.messageKeys
	f.stripe.failMessage = nil
	f.stripe.mu.Unlock()
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("keys %q", keys)
	}
	run(2 * paidNoticeRetry)
	if state, msg, calls := f.paidNotice(t, l); state != PaidNoticeDone || msg != paidFrench || calls != 3 || !f.invoice(t).NextWorkAt().IsZero() {
		t.Fatalf("%q %q, %d calls", state, msg, calls)
	}

	// Always refused: given up after MaxSendTries, nothing scheduled.
	g := newFixture(t)
	gl := g.link(t)
	g.stripe.failMessage = errors.New("refused")
	g.handle(t, g.sessionEvent(t, gl, EventCheckoutCompleted, "pi_2", 12500, "cad"))
	for range 10 {
		g.advance(24 * time.Hour)
		if _, err := g.run(context.Background(), g.clock()); err != nil {
			t.Fatal(err)
		}
	}
	if state, _, calls := g.paidNotice(t, gl); state != PaidNoticeFailed || calls != MaxSendTries || !g.invoice(t).NextWorkAt().IsZero() {
		t.Fatalf("%q, %d calls", state, calls)
	}
}
