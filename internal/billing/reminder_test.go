package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The reminder rules on in-memory fakes (the same table runs against the
// local servers in infra/test/e2e/reminders_test.go).

func (f *fixture) setPolicy(t *testing.T, before, after []int) {
	t.Helper()
	if _, err := f.svc.PutCompany(context.Background(), Caller{Tenant: "c1", Admin: true}, "c1", &CompanyInput{
		Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French,
		Reminders: &ReminderPolicyInput{BeforeDue: before, AfterDue: after},
	}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) dueInvoice(t *testing.T, dueOn string) {
	t.Helper()
	if _, _, _, err := f.svc.PutInvoice(context.Background(), Staff("c1"), "i1", &InvoiceInput{
		Number: "F-1", Currency: "cad", Total: ptr[int64](12500), BalanceDue: ptr[int64](12500), IssuedOn: "2026-11-20", DueOn: &dueOn,
		Patient: &PatientInput{Name: "Marie", Email: "marie@example.com"},
		Lines:   []LineInput{{Description: "Consultation", Amount: ptr[int64](12500)}},
	}, Precondition{}); err != nil {
		t.Fatal(err)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// reminders are the reminder steps the mailer sent, in order.
func (f *fixture) reminders() []string {
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	var out []string
	for _, e := range f.mail.sent {
		if _, rest, ok := strings.Cut(e.Ref, "/reminder-"); ok {
			step, _, _ := strings.Cut(rest, "/")
			out = append(out, step)
		}
	}
	return out
}

func TestRemindersTable(t *testing.T) {
	type step struct {
		do   string // "run <time>", "pay", "pause", "resume", "bounce", "concurrent <time>"
		want string // the reminders sent so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"each step once, none after payment", []step{
			{"run 2026-12-17T13:59:00Z", ""},
			{"run 2026-12-17T14:00:00Z", "before-3"},
			{"run 2026-12-17T15:00:00Z", "before-3"},
			{"run 2026-12-21T14:00:00Z", "before-3 after-1"},
			{"run 2026-12-21T14:00:00Z", "before-3 after-1"},
			{"pay", "before-3 after-1"},
			{"run 2026-12-27T14:00:00Z", "before-3 after-1"},
		}},
		{"only the latest of those missed", []step{
			{"run 2026-12-28T09:00:00Z", "after-7"},
			{"run 2026-12-29T09:00:00Z", "after-7"},
		}},
		{"none while paused; the missed ones are passed over", []step{
			{"pause", ""},
			{"run 2026-12-17T14:00:00Z", ""},
			{"run 2026-12-21T14:00:00Z", ""},
			{"resume 2026-12-22T00:00:00Z", ""},
			{"run 2026-12-22T14:00:00Z", ""},
			{"run 2026-12-27T14:00:00Z", "after-7"},
		}},
		{"none after a hard bounce", []step{
			{"run 2026-12-17T14:00:00Z", "before-3"},
			{"bounce", "before-3"},
			{"run 2026-12-21T14:00:00Z", "before-3"},
			{"run 2026-12-27T14:00:00Z", "before-3"},
		}},
		{"concurrent runs send once", []step{
			{"concurrent 2026-12-17T14:00:00Z", "before-3"},
			{"concurrent 2026-12-21T14:30:00Z", "before-3 after-1"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.dueInvoice(t, "2026-12-20")
			f.setPolicy(t, []int{3}, []int{1, 7})
			ctx := context.Background()
			for _, s := range tc.steps {
				verb, arg, _ := strings.Cut(s.do, " ")
				switch verb {
				case "run":
					if _, err := f.run(ctx, at(arg)); err != nil {
						t.Fatalf("%s: %v", s.do, err)
					}
				case "concurrent":
					var wg sync.WaitGroup
					for range 6 {
						wg.Go(func() { _, _ = f.run(ctx, at(arg)) })
					}
					wg.Wait()
				case "pay":
					inv := f.invoice(t)
					l := inv.ActiveLink()
					if l == nil {
						t.Fatal("the reminders made no link")
					}
					f.handle(t, f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", l.Amount, "cad"))
				case "pause", "resume":
					if arg != "" {
						f.now = at(arg) // staff resume after a step's time passed
					}
					if _, _, err := f.svc.SetReminders(ctx, Staff("c1"), "i1", &RemindersInput{Paused: ptr(verb == "pause")}); err != nil {
						t.Fatal(err)
					}
				case "bounce":
					inv := f.invoice(t)
					last := inv.Emails[len(inv.Emails)-1]
					ref := mailRef{"c1", "i1", last.Key, "x"}
					if _, err := f.svc.HandleEmailEvent(ctx, &EmailEvent{ID: "b1", Type: EmailEventBounce, MessageID: last.MessageID,
						Ref: ref.String(), At: f.clock(), BounceType: BouncePermanent, BounceSubType: "General"}); err != nil {
						t.Fatal(err)
					}
				}
				if got := strings.Join(f.reminders(), " "); got != s.want {
					t.Fatalf("after %q: reminders %q, want %q", s.do, got, s.want)
				}
			}
		})
	}
}

// A reminder carries the current link (made when none is active) and says
// whether the invoice is overdue.
func TestReminderCarriesTheLink(t *testing.T) {
	f := newFixture(t)
	f.dueInvoice(t, "2026-12-20")
	f.setPolicy(t, nil, []int{7})
	if _, err := f.run(context.Background(), at("2026-12-27T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	inv := f.invoice(t)
	l := inv.ActiveLink()
	if l == nil || len(f.mail.sent) != 1 {
		t.Fatalf("link %v, %d e-mails", l, len(f.mail.sent))
	}
	m := f.mail.sent[0]
	if !strings.Contains(m.Text, l.URL) || !strings.Contains(m.Subject, "en souffrance") || strings.Contains(m.Subject, "Consultation") {
		t.Fatalf("%q\n%s", m.Subject, m.Text)
	}
	if e := inv.Emails[0]; e.Kind != EmailReminder || e.Key != "reminder-after-7" || e.LinkGeneration != l.Generation {
		t.Fatalf("%+v", e)
	}
}

func TestReminderPolicyBounds(t *testing.T) {
	for _, tc := range []struct {
		in    ReminderPolicyInput
		field string
	}{
		{ReminderPolicyInput{BeforeDue: []int{0}}, "reminders.beforeDue"},
		{ReminderPolicyInput{BeforeDue: []int{31}}, "reminders.beforeDue"},
		{ReminderPolicyInput{BeforeDue: []int{1, 2, 3, 4}}, "reminders.beforeDue"},
		{ReminderPolicyInput{AfterDue: []int{7, 7}}, "reminders.afterDue"},
		{ReminderPolicyInput{AfterDue: []int{121}}, "reminders.afterDue"},
		{ReminderPolicyInput{AfterDue: []int{1, 2, 3, 4, 5, 6, 7}}, "reminders.afterDue"},
		{ReminderPolicyInput{BeforeDue: []int{30, 1, 3}, AfterDue: []int{120, 1}}, ""},
	} {
		err := tc.in.validate()
		var e *Error
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field) {
			t.Errorf("%+v: %v", tc.in, err)
		}
	}
	p := (&ReminderPolicyInput{BeforeDue: []int{1, 7, 3}, AfterDue: []int{14, 1}}).policy()
	if !slices.Equal(p.BeforeDue, []int{7, 3, 1}) || !slices.Equal(p.AfterDue, []int{1, 14}) || !p.IncludePaymentLink {
		t.Fatalf("%+v", p)
	}
}

// A reminder whose invoice has a dead request's lease, and another writer
// winning the race to finish it: the run goes on (it panicked once).
func TestReminderWhenTheLeaseRaceIsLost(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.dueInvoice(t, "2026-12-20")
	f.setPolicy(t, nil, []int{1})
	inv := f.invoice(t)
	if _, err := f.svc.claim(ctx, inv, nil, nil); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * defaultLease)
	f.store.beforePut = func(next *Invoice) {
		f.store.beforePut = nil // once
		cur, _ := f.store.GetInvoice(ctx, "c1", "i1")
		cur.Version++
		_ = f.store.PutInvoice(ctx, cur) // another writer, first
	}
	if _, err := f.run(ctx, at("2026-12-21T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	f.store.beforePut = nil
	if _, err := f.run(ctx, at("2026-12-21T15:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := f.reminders(); strings.Join(got, " ") != "after-1" {
		t.Fatalf("reminders %v", got)
	}
}

// A policy set while a debit clears plans that invoice too: if the debit
// fails, its reminders go.
func TestPolicyChangeWhileADebitClears(t *testing.T) {
	f := newFixture(t)
	f.dueInvoice(t, "2026-12-20")
	l := f.link(t)
	processing := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_pad", 12500, "cad")
	processing.Facts.State = PaymentProcessing
	f.handle(t, processing)
	f.setPolicy(t, nil, []int{2})
	if _, err := f.run(context.Background(), at("2026-12-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	f.handle(t, f.sessionEvent(t, l, EventAsyncFailed, "pi_pad", 12500, "cad"))
	if _, err := f.run(context.Background(), at("2026-12-22T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := f.reminders(); strings.Join(got, " ") != "after-2" {
		t.Fatalf("reminders %v", got)
	}
}

// A due date pushed back: the steps already sent go again, relative to the
// new date; a step sent late says how late it really is.
func TestDueDateMoved(t *testing.T) {
	f := newFixture(t)
	f.dueInvoice(t, "2026-12-20")
	f.setPolicy(t, nil, []int{1})
	ctx := context.Background()
	if _, err := f.run(ctx, at("2026-12-21T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	f.now = at("2026-12-22T09:00:00Z")
	f.dueInvoice(t, "2027-01-10") // an extension
	if _, err := f.run(ctx, at("2027-01-20T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := f.reminders(); strings.Join(got, " ") != "after-1 after-1" {
		t.Fatalf("reminders %v", got)
	}
	last := f.mail.sent[len(f.mail.sent)-1]
	if !strings.Contains(last.Text, "il y a 10 jours") {
		t.Fatalf("a reminder sent 10 days after the due date:\n%s", last.Text)
	}
}

// Concurrent scheduler runs send a reminder once, with the link or without
// (the two ways an outbound is sent: under the lease, or marked by a
// conditional write), on the fixture's clock or for a time days ahead of
// it (as make dev and the tests run it): an attempt in flight is never
// taken for lost by a run for a later time.
func TestConcurrentRunsSendOnce(t *testing.T) {
	for _, withLink := range []bool{true, false} {
		for _, ahead := range []bool{false, true} {
			t.Run(fmt.Sprintf("link %v, run ahead of the clock %v", withLink, ahead), func(t *testing.T) {
				f := newFixture(t)
				f.dueInvoice(t, "2026-12-20")
				if _, err := f.svc.PutCompany(context.Background(), Caller{Tenant: "c1", Admin: true}, "c1", &CompanyInput{
					Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French,
					Reminders: &ReminderPolicyInput{BeforeDue: []int{3}, IncludePaymentLink: ptr(withLink)},
				}); err != nil {
					t.Fatal(err)
				}
				f.mail.delay = 5 * time.Millisecond // the runs overlap while SES takes the e-mail
				runAt := at("2026-12-17T14:00:00Z")
				if !ahead {
					f.now = runAt
				}
				var wg sync.WaitGroup
				for range 6 {
					wg.Go(func() { _, _ = f.run(context.Background(), runAt) })
				}
				wg.Wait()
				if got := f.reminders(); !slices.Equal(got, []string{"before-3"}) {
					t.Fatalf("sent %v, want before-3 once", got)
				}
			})
		}
	}
}
