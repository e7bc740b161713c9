package billing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The outbox's rules on in-memory fakes; the same behaviours are shown
// against the local servers in infra/test/e2e (receipts_test.go).

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
		if rep, err := f.run(context.Background(), f.clock().Add(time.Minute)); err != nil || rep.Sent != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		// A run for a later time does not make the window pass; time does.
		if rep, err := f.run(context.Background(), f.clock().Add(24*time.Hour)); err != nil || rep.Sent != 0 {
			t.Fatalf("a run for tomorrow took the attempt in flight for lost: %+v %v", rep, err)
		}
		f.advance(confirmWindow + time.Minute)
		rep, err := f.run(context.Background(), f.clock())
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
		if rep, err := f.run(context.Background(), f.clock().Add(24*time.Hour)); err != nil || rep.Sent != 0 {
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

// The reviewer's cases: what must hold when things go wrong at the edges.

// A sender-level refusal (SES refused the sender, not the patient) neither
// loses the receipt nor stops reminders to the patient: the attempt is
// cleared and tried again; after MaxSendTries it is recorded failed, which
// says nothing of the address.
func TestSenderRefusalIsNotTheAddress(t *testing.T) {
	f := newFixture(t)
	f.dueInvoice(t, "2026-12-20")
	f.setPolicy(t, []int{3}, []int{1})
	refused := &Error{Code: CodeEmailProviderError, Message: "paused", Err: fmt.Errorf("%w: AccountSendingPausedException", ErrNotSent)}
	f.mail.fail = refused
	if _, err := f.run(context.Background(), at("2026-12-17T14:00:00Z")); err == nil {
		t.Fatal("the refusal went unreported")
	}
	inv := f.invoice(t)
	if len(inv.Outbox) != 1 || inv.Outbox[0].Attempt != "" || inv.NextWorkAt().IsZero() {
		t.Fatalf("the refused reminder should wait to be tried again: %+v", inv.Outbox)
	}
	// It keeps failing: after MaxSendTries it is recorded failed.
	for i := range MaxSendTries + 1 {
		_, _ = f.run(context.Background(), at("2026-12-17T15:00:00Z").Add(time.Duration(i)*time.Hour))
	}
	inv = f.invoice(t)
	if len(inv.Outbox) != 0 || len(inv.Emails) != 1 || inv.Emails[0].Delivery.Status != EmailFailed || inv.addressSuppressed() {
		t.Fatalf("outbox %+v emails %+v", inv.Outbox, inv.Emails)
	}
	// SES sends again: the next step goes to the patient.
	f.mail.fail = nil
	if _, err := f.run(context.Background(), at("2026-12-21T14:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := f.reminders(); len(got) == 0 || got[len(got)-1] != "after-1" {
		t.Fatalf("reminders %v", got)
	}
}

// A late SES event about an attempt taken for lost still records it.
func TestLateEventOfAnEarlierAttempt(t *testing.T) {
	f := newFixture(t)
	f.svc.mailer = &crashingMailer{next: f.mail} // SES takes it; the answer is lost
	f.handle(t, f.sessionEvent(t, f.link(t), EventCheckoutCompleted, "pi_1", 12500, "cad"))
	first := f.mail.sent[0].Ref
	f.svc.mailer = f.mail
	f.advance(confirmWindow + time.Minute)
	if _, err := f.run(context.Background(), f.clock()); err != nil {
		t.Fatal(err)
	}
	// The first attempt's event arrives after the second attempt left.
	if res, err := f.svc.HandleEmailEvent(context.Background(), &EmailEvent{ID: "late", Type: EmailEventDelivery, MessageID: "ses-first",
		Ref: first, At: f.clock()}); err != nil || res.Outcome != OutcomeApplied {
		t.Fatalf("%+v %v", res, err)
	}
	inv := f.invoice(t)
	if len(inv.Emails) != 2 || len(inv.Outbox) != 0 {
		t.Fatalf("both attempts left and both are recorded: %+v %+v", inv.Emails, inv.Outbox)
	}
}

// A reminder's link made by a request that died before recording it (its
// e-mail may be with the patient): a payment through it is applied, not
// ignored, and the scheduler finishes the change once the lease ran out.
func TestPaymentThroughALinkADeadRequestMade(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.invoice(t)
	company, _ := f.store.GetCompany(ctx, "c1")
	change := replaceWith(inv, newLinkFor(inv, company, French, "reminder-after-1"))
	claimed, err := f.svc.claim(ctx, inv, change, nil)
	if err != nil {
		t.Fatal(err)
	}
	made, err := f.stripe.CreateLink(ctx, change.Make)
	if err != nil {
		t.Fatal(err)
	}
	// The request dies here; its lease runs out.
	f.advance(2 * defaultLease)
	if at := claimed.NextWorkAt(); at.IsZero() {
		t.Fatal("a half-done link change is not in the scheduler's work")
	}
	res := f.handle(t, f.sessionEvent(t, &made, EventCheckoutCompleted, "pi_dead", made.Amount, "cad"))
	if res.Outcome != OutcomeApplied {
		t.Fatalf("the payment was %+v", res)
	}
	if inv := f.invoice(t); inv.BalanceDue != 0 || inv.Lease != nil || inv.link(made.Generation) == nil {
		t.Fatalf("after: balance %d lease %+v links %+v", inv.BalanceDue, inv.Lease, inv.Links)
	}
}
