package billing

import (
	"context"
	"testing"
	"time"
)

// Every account event sets state, so each is judged by its age against
// what is known of the account: Stripe's last word, or the platform
// connecting the account (again) since. A late retry changes nothing.
func TestAccountEventsOlderThanTheStateAreStale(t *testing.T) {
	platform := Caller{Platform: true}
	acct := testAccount
	reconnect := func(t *testing.T, f *fixture) {
		t.Helper()
		if _, err := f.svc.PutCompany(context.Background(), platform, "c1", &CompanyInput{
			Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French, StripeAccountID: OptionalString{Set: true, Value: &acct},
		}); err != nil {
			t.Fatal(err)
		}
	}
	deauthorized := func(id string, at time.Time) *WebhookEvent {
		return &WebhookEvent{ID: id, Type: EventAccountDeauthorized, AccountID: testAccount, Created: at}
	}
	updated := func(id string, at time.Time) *WebhookEvent {
		return &WebhookEvent{ID: id, Type: EventAccountUpdated, AccountID: testAccount, Created: at,
			Account: &StripeAccount{ChargesEnabled: true, DetailsSubmitted: true, Country: "CA", DefaultCurrency: "cad", Warnings: []string{}}}
	}
	// The fixture connects the account at t0; the late event was created
	// a minute after (Stripe delivers its retry later still).
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	lateAt := t0.Add(time.Minute)
	tests := []struct {
		name          string
		before        func(t *testing.T, f *fixture) // from t0 + 2 minutes
		late          *WebhookEvent
		wantOutcome   EventOutcome
		wantConnected bool
	}{
		{"a deauthorization older than a reconnection", func(t *testing.T, f *fixture) {
			f.handle(t, deauthorized("evt_first", lateAt))
			f.advance(time.Minute)
			reconnect(t, f)
		}, deauthorized("evt_late", lateAt), OutcomeIgnored, true},
		{"a deauthorization older than Stripe's last account.updated", func(t *testing.T, f *fixture) {
			f.handle(t, updated("evt_new", f.clock()))
		}, deauthorized("evt_late", lateAt), OutcomeIgnored, true},
		{"an account.updated older than a deauthorization", func(t *testing.T, f *fixture) {
			f.handle(t, deauthorized("evt_new", f.clock()))
		}, updated("evt_late", lateAt), OutcomeIgnored, false},
		{"a deauthorization newer than the connection", func(*testing.T, *fixture) {},
			deauthorized("evt_late", lateAt), OutcomeApplied, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.advance(2 * time.Minute)
			tc.before(t, f)
			res := f.handle(t, tc.late)
			if res.Outcome != tc.wantOutcome || (tc.wantOutcome == OutcomeIgnored && res.Reason != IgnoredStale) {
				t.Fatalf("outcome %+v, want %s", res, tc.wantOutcome)
			}
			c, err := f.store.GetCompany(context.Background(), "c1")
			if err != nil {
				t.Fatal(err)
			}
			if c.Connected() != tc.wantConnected {
				t.Fatalf("connected %v, want %v: %+v", c.Connected(), tc.wantConnected, c.Stripe)
			}
		})
	}
}

// A Connect endpoint receives its accounts' events of both modes: only the
// stack's own mode moves an invoice or a company; the other is ignored
// with its reason, and nothing is recorded.
func TestEventsOfTheOtherModeAreIgnored(t *testing.T) {
	tests := []struct {
		name          string
		stackLive     bool
		eventLive     bool
		wantOutcome   EventOutcome
		wantBalance   int64
		wantConnected bool
	}{
		{"a live event at a test stack", false, true, OutcomeIgnored, 12500, true},
		{"a test event at a live stack", true, false, OutcomeIgnored, 12500, true},
		{"a test event at a test stack", false, false, OutcomeApplied, 0, false},
		{"a live event at a live stack", true, true, OutcomeApplied, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Livemode: tc.stackLive})
			paid := f.sessionEvent(t, f.link(t), EventCheckoutCompleted, "pi_1", 12500, "cad")
			paid.Livemode = tc.eventLive
			deauth := &WebhookEvent{ID: "evt_deauth", Type: EventAccountDeauthorized, AccountID: testAccount, Livemode: tc.eventLive}
			for _, ev := range []*WebhookEvent{paid, deauth} {
				res := f.handle(t, ev)
				if res.Outcome != tc.wantOutcome || (tc.wantOutcome == OutcomeIgnored && res.Reason != IgnoredOtherMode) {
					t.Fatalf("%s: %+v, want %s", ev.Type, res, tc.wantOutcome)
				}
			}
			if inv := f.invoice(t); inv.BalanceDue != tc.wantBalance {
				t.Fatalf("balance %d, want %d", inv.BalanceDue, tc.wantBalance)
			}
			c, err := f.store.GetCompany(context.Background(), "c1")
			if err != nil || c.Connected() != tc.wantConnected {
				t.Fatalf("connected %v, want %v (%v)", c.Connected(), tc.wantConnected, err)
			}
			if tc.wantOutcome == OutcomeIgnored {
				// Not recorded: resent once the stack's mode is fixed (the
				// Dashboard resends an event), it is applied, not taken
				// for a duplicate.
				f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Livemode: tc.eventLive})
				if res := f.handle(t, paid); res.Outcome != OutcomeApplied {
					t.Fatalf("after the mode is fixed: %+v", res)
				}
			}
		})
	}
}
