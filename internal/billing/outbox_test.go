package billing

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// The outbox's rules on in-memory fakes; the same behaviours are shown
// against the local servers in internal/e2e (receipts_test.go).

func (f *fixture) sentKinds() map[EmailKind]int {
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	out := map[EmailKind]int{}
	for _, e := range f.mail.sent {
		switch {
		case strings.Contains(e.Ref, "/receipt-"):
			out[EmailReceipt]++
		case strings.Contains(e.Ref, "/reminder-"):
			out[EmailReminder]++
		default:
			out[EmailInvoice]++
		}
	}
	return out
}

func TestOneReceiptPerPayment(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	ev := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_1", 12500, "cad")
	// Five deliveries at once, five after: one receipt.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			e := *ev
			_, _ = f.svc.HandleEvent(context.Background(), &e)
		})
	}
	wg.Wait()
	for range 5 {
		f.handle(t, ev)
	}
	if n := f.sentKinds()[EmailReceipt]; n != 1 {
		t.Fatalf("%d receipts", n)
	}
	inv := f.invoice(t)
	if len(inv.Outbox) != 0 || len(inv.Emails) != 1 || inv.Emails[0].Kind != EmailReceipt || inv.Emails[0].Key != "receipt-pi_1" {
		t.Fatalf("outbox %+v emails %+v", inv.Outbox, inv.Emails)
	}
	sent := f.mail.sent[0]
	if !strings.Contains(sent.Text, "Visa •••• 4242") || !strings.Contains(sent.Subject, "Reçu") || sent.Ref != "c1/i1/receipt-pi_1/"+strings.Split(sent.Ref, "/")[3] {
		t.Fatalf("receipt: %q %q %q", sent.Subject, sent.Ref, sent.Text)
	}
}

func TestDebitReceiptOnlyWhenItClears(t *testing.T) {
	f := newFixture(t)
	l := f.link(t)
	processing := f.sessionEvent(t, l, EventCheckoutCompleted, "pi_pad", 12500, "cad")
	processing.Facts.State = PaymentProcessing
	f.handle(t, processing)
	if n := f.sentKinds()[EmailReceipt]; n != 0 {
		t.Fatalf("a receipt for a debit still clearing")
	}
	f.handle(t, f.sessionEvent(t, l, EventAsyncSucceeded, "pi_pad", 12500, "cad"))
	if n := f.sentKinds()[EmailReceipt]; n != 1 {
		t.Fatalf("%d receipts once the debit cleared", n)
	}
}

func TestReceiptsOff(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.PutCompany(context.Background(), Caller{Tenant: "c1", Admin: true}, "c1", &CompanyInput{
		Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French, SendReceipts: ptr(false),
	}); err != nil {
		t.Fatal(err)
	}
	f.handle(t, f.sessionEvent(t, f.link(t), EventCheckoutCompleted, "pi_1", 12500, "cad"))
	if n := len(f.mail.sent); n != 0 {
		t.Fatalf("%d e-mails with receipts off", n)
	}
}

// A receipt SES could not take right away stays in the outbox and the
// scheduler sends it; one that died after SES took it is recorded from SES's
// event, and the scheduler does not send it again.
func TestReceiptThatCouldNotLeave(t *testing.T) {
	t.Run("SES unavailable", func(t *testing.T) {
		f := newFixture(t)
		f.mail.fail = &Error{Code: CodeEmailProviderUnavailable, Message: "throttled"}
		f.handle(t, f.sessionEvent(t, f.link(t), EventCheckoutCompleted, "pi_1", 12500, "cad"))
		inv := f.invoice(t)
		if len(inv.Outbox) != 1 || inv.Outbox[0].Attempt == "" || inv.NextWorkAt().IsZero() {
			t.Fatalf("outbox %+v", inv.Outbox)
		}
		f.mail.fail = nil
		// Before the confirmation window, the attempt may have left: wait.
		if rep, err := f.svc.RunScheduled(context.Background(), f.clock().Add(time.Minute), ""); err != nil || rep.Sent != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		rep, err := f.svc.RunScheduled(context.Background(), f.clock().Add(confirmWindow+time.Minute), "")
		if err != nil || rep.Sent != 1 || f.sentKinds()[EmailReceipt] != 1 {
			t.Fatalf("%+v %v %v", rep, err, f.sentKinds())
		}
	})
	t.Run("recorded from SES's event", func(t *testing.T) {
		f := newFixture(t)
		// SES takes the receipt, its answer is lost (as if the process
		// died): nothing records it.
		f.svc.mailer = &crashingMailer{next: f.mail}
		f.handle(t, f.sessionEvent(t, f.link(t), EventCheckoutCompleted, "pi_1", 12500, "cad"))
		if len(f.mail.sent) != 1 {
			t.Fatalf("%d sent", len(f.mail.sent))
		}
		inv := f.invoice(t)
		if len(inv.Outbox) != 1 || len(inv.Emails) != 0 {
			t.Fatalf("the crash should leave the attempt in flight: %+v %+v", inv.Outbox, inv.Emails)
		}
		res, err := f.svc.HandleEmailEvent(context.Background(), &EmailEvent{ID: "e1", Type: EmailEventSend, MessageID: "msg-1",
			Ref: f.mail.sent[0].Ref, At: f.clock()})
		if err != nil || res.Outcome != OutcomeApplied {
			t.Fatalf("%+v %v", res, err)
		}
		f.svc.mailer = f.mail
		if rep, err := f.svc.RunScheduled(context.Background(), f.clock().Add(24*time.Hour), ""); err != nil || rep.Sent != 0 {
			t.Fatalf("sent again after SES's event recorded it: %+v %v", rep, err)
		}
		inv = f.invoice(t)
		if len(inv.Outbox) != 0 || len(inv.Emails) != 1 || inv.Emails[0].MessageID != "msg-1" || len(f.mail.sent) != 1 {
			t.Fatalf("%+v %+v", inv.Outbox, inv.Emails)
		}
	})
}

// crashingMailer sends, then fails as if the process died before hearing
// back: the caller records nothing.
type crashingMailer struct{ next Mailer }

func (c *crashingMailer) Send(ctx context.Context, e OutgoingEmail) (string, error) {
	if _, err := c.next.Send(ctx, e); err != nil {
		return "", err
	}
	return "", &Error{Code: CodeEmailProviderUnavailable, Message: "the answer was lost"}
}
