package billing

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A staff retry under the same Idempotency-Key after SES's answer was lost
// sends nothing again: it waits for SES's events, then answers with the
// e-mail they recorded. The same against the local servers:
// infra/test/e2e (faults_test.go, crash_test.go).

func TestStaffEmailRetryAfterALostAnswer(t *testing.T) {
	for _, link := range []bool{false, true} {
		t.Run(fmt.Sprintf("with link %v", link), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			in := func() *EmailInput { return &EmailInput{IncludePaymentLink: link, RequestKey: "k1"} }
			f.svc.mailer = &crashingMailer{next: f.mail} // SES takes it; the answer is lost
			if _, _, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", in()); ErrorCode(err) != CodeEmailProviderUnavailable {
				t.Fatalf("first: %v", err)
			}
			f.svc.mailer = f.mail
			if inv := f.invoice(t); len(f.mail.sent) != 1 || len(inv.EmailAttempts) != 1 || len(inv.Emails) != 0 {
				t.Fatalf("sent %d, attempts %+v, emails %+v", len(f.mail.sent), inv.EmailAttempts, inv.Emails)
			}
			// SES has not said yet: the retry waits, sending nothing.
			_, _, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", in())
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeRequestInProgress || e.RetryAfter <= 0 || len(f.mail.sent) != 1 {
				t.Fatalf("retry before SES's events: %v, sent %d", err, len(f.mail.sent))
			}
			res, err := f.svc.HandleEmailEvent(ctx, &EmailEvent{ID: "e1", Type: EmailEventSend, MessageID: "ses-1",
				Ref: f.mail.sent[0].Ref, At: f.clock()})
			if err != nil || res.Outcome != OutcomeApplied {
				t.Fatalf("SES's event: %+v %v", res, err)
			}
			// Now the retry answers as the first would have.
			sent, l, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", in())
			if err != nil || sent.MessageID != "ses-1" || sent.RequestKey != "k1" || (l != nil) != link || len(f.mail.sent) != 1 {
				t.Fatalf("retry after SES's events: %+v %+v %v, sent %d", sent, l, err, len(f.mail.sent))
			}
			if link && sent.LinkGeneration != l.Generation {
				t.Fatalf("the e-mail carried generation %d, the answer's link is %d", sent.LinkGeneration, l.Generation)
			}
			if inv := f.invoice(t); len(inv.EmailAttempts) != 0 || len(inv.Emails) != 1 {
				t.Fatalf("attempts %+v, emails %+v", inv.EmailAttempts, inv.Emails)
			}
		})
	}
}

func TestStaffEmailAttempts(t *testing.T) {
	lost := func(f *fixture) Mailer { return &crashingMailer{next: f.mail} } // SES takes it; the answer is lost
	refused := func(*fixture) Mailer {
		return &failingMailer{err: &Error{Code: CodeEmailProviderError, Message: "rejected", Err: fmt.Errorf("%w: MessageRejected", ErrNotSent)}}
	}
	answered := func(f *fixture) Mailer { return f.mail }
	tests := []struct {
		name     string
		key      string
		first    func(f *fixture) Mailer
		wait     time.Duration // before the retry
		sent     int           // e-mails SES took in all
		emails   int           // recorded on the invoice
		attempts int           // left marked
	}{
		{"answered: the retry replays it", "k1", answered, 0, 1, 1, 0},
		{"SES refused it: the retry sends it", "k1", refused, 0, 1, 1, 0},
		{"no news for an hour: taken for lost, sent again", "k1", lost, confirmWindow + time.Minute, 2, 1, 0},
		{"no Idempotency-Key: nothing marked, as before", "", lost, 0, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.svc.mailer = tt.first(f)
			_, _, _ = f.svc.SendEmail(ctx, Staff("c1"), "i1", &EmailInput{RequestKey: tt.key})
			f.svc.mailer = f.mail
			f.advance(tt.wait)
			if _, _, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", &EmailInput{RequestKey: tt.key}); err != nil {
				t.Fatalf("retry: %v", err)
			}
			inv := f.invoice(t)
			if len(f.mail.sent) != tt.sent || len(inv.Emails) != tt.emails || len(inv.EmailAttempts) != tt.attempts {
				t.Fatalf("sent %d, emails %+v, attempts %+v", len(f.mail.sent), inv.Emails, inv.EmailAttempts)
			}
		})
	}
}

// failingMailer refuses every e-mail with err.
type failingMailer struct{ err error }

func (m *failingMailer) Send(context.Context, OutgoingEmail) (string, error) { return "", m.err }

// Attempts no retry can ask for any more (an Idempotency-Key lives a day)
// are forgotten when the next one is marked.
func TestOldEmailAttemptsAreForgotten(t *testing.T) {
	inv := &Invoice{}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	inv.markEmailAttempt(EmailAttempt{RequestKey: "a", Token: "t1", At: t0})
	inv.markEmailAttempt(EmailAttempt{RequestKey: "b", Token: "t2", At: t0.Add(time.Hour)})
	inv.markEmailAttempt(EmailAttempt{RequestKey: "b", Token: "t3", At: t0.Add(2 * time.Hour)}) // b again, taken for lost
	inv.markEmailAttempt(EmailAttempt{RequestKey: "c", Token: "t4", At: t0.Add(emailAttemptKept + time.Minute)})
	var tokens []string
	for _, a := range inv.EmailAttempts {
		tokens = append(tokens, a.Token)
	}
	if fmt.Sprint(tokens) != "[t3 t4]" {
		t.Fatalf("attempts kept: %v", tokens)
	}
}
