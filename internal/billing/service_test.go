package billing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fixture struct {
	svc    *Service
	store  *memStore
	queue  *memQueue
	stripe *fakeStripe
	mail   *fakeMailer
	now    time.Time
	mu     sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), stripe: newFakeStripe(), mail: &fakeMailer{}, now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	f.queue = &memQueue{}
	f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Queue: f.queue})
	acct := "acct_1Test"
	if _, err := f.svc.PutCompany(context.Background(), Caller{Platform: true}, "c1", &CompanyInput{
		Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French, StripeAccountID: OptionalString{Set: true, Value: &acct},
	}); err != nil {
		t.Fatal(err)
	}
	f.putInvoice(t, 12500)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) putInvoice(t *testing.T, balance int64) *Invoice {
	t.Helper()
	inv, _, _, err := f.svc.PutInvoice(context.Background(), Staff("c1"), "i1", &InvoiceInput{
		Number: "F-1", Currency: "cad", Total: ptr[int64](12500), BalanceDue: ptr(balance), IssuedOn: "2026-11-20",
		Patient: &PatientInput{Name: "Marie", Email: "marie@example.com"},
		Lines:   []LineInput{{Description: "Consultation", Amount: ptr[int64](12500)}},
	}, Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (f *fixture) invoice(t *testing.T) *Invoice {
	t.Helper()
	inv, err := f.store.GetInvoice(context.Background(), "c1", "i1")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// checkInvariants: at most one active link, the same one at Stripe and in the
// store, and no lease left behind.
func (f *fixture) checkInvariants(t *testing.T) {
	t.Helper()
	inv := f.invoice(t)
	var activeInStore []string
	for _, l := range inv.Links {
		if l.Status == LinkActive {
			activeInStore = append(activeInStore, l.ID)
		}
	}
	atStripe := f.stripe.activeLinks()
	if len(activeInStore) > 1 || len(atStripe) != len(activeInStore) || (len(atStripe) == 1 && atStripe[0] != activeInStore[0]) {
		t.Fatalf("active in store %v, at Stripe %v", activeInStore, atStripe)
	}
	if inv.Lease != nil {
		t.Fatalf("lease left behind: %+v", inv.Lease)
	}
}

func TestCreateIsIdempotentForTheSameAmount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l1, created, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", "")
	if err != nil || !created {
		t.Fatal(created, err)
	}
	l2, created, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", "")
	if err != nil || created || l2.ID != l1.ID || f.stripe.creates != 1 {
		t.Fatalf("second create: %v %v %v creates=%d", l2, created, err, f.stripe.creates)
	}
	f.checkInvariants(t)
}

func TestConcurrentRegeneratesLeaveOneActiveLink(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.svc.RegenerateLink(ctx, Staff("c1"), "i1", "") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case ErrorCode(err) != CodeConflict:
			t.Fatalf("loser got %v, want conflict", err)
		}
	}
	if ok == 0 {
		t.Fatal("no regenerate won")
	}
	f.checkInvariants(t)
}

// A request that dies after Stripe made the link but before the store knew
// leaves its lease; once the lease runs out the next request finishes it with
// the same idempotency key, so no second link is made.
func TestCrashAfterStripeIsRolledForward(t *testing.T) {
	f := newFixture(t)
	var stripeDone atomic.Bool
	f.stripe.onCreate = func() { stripeDone.Store(true) }
	f.store.beforePut = func(*Invoice) {
		if stripeDone.Load() {
			panic("lambda died between Stripe and the store")
		}
	}
	func() {
		defer func() { _ = recover() }()
		_, _, _ = f.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	}()
	f.stripe.onCreate, f.store.beforePut = nil, nil
	if f.invoice(t).Lease == nil {
		t.Fatal("the claim should be stored")
	}
	// Within the lease: someone else is (apparently) at work.
	_, _, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeConflict || e.RetryAfter <= 0 {
		t.Fatalf("within the lease: %v", err)
	}
	f.advance(defaultLease + time.Second)
	l, created, err := f.svc.CreateLink(context.Background(), Staff("c1"), "i1", "")
	if err != nil || !created || l == nil {
		t.Fatalf("after the lease: %v %v %v", l, created, err)
	}
	if f.stripe.creates != 1 {
		t.Fatalf("%d links made at Stripe, want 1 (the retry must replay the first)", f.stripe.creates)
	}
	f.checkInvariants(t)
}

func TestStripeOutageKeepsTheChangeForTheNextRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	calls := 0
	f.stripe.failCreate = func(*NewLink) error {
		calls++
		if calls == 1 {
			return &Error{Code: CodePaymentProviderUnavailable, Message: "timeout"}
		}
		return nil
	}
	if _, _, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", ""); ErrorCode(err) != CodePaymentProviderUnavailable {
		t.Fatalf("first: %v", err)
	}
	inv := f.invoice(t)
	if inv.Lease == nil || !inv.Lease.Until.IsZero() {
		t.Fatalf("the change should stay with its lease run out: %+v", inv.Lease)
	}
	if _, created, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", ""); err != nil || !created {
		t.Fatalf("retry: %v %v", created, err)
	}
	f.checkInvariants(t)
}

func TestRegenerateWhenTheOldLinkCannotBeDeactivated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old, _, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", "")
	if err != nil {
		t.Fatal(err)
	}
	f.stripe.failEnd = func(id string) error {
		if id == old.ID {
			return &Error{Code: CodePaymentProviderError, Message: "refused"}
		}
		return nil
	}
	if _, err := f.svc.RegenerateLink(ctx, Staff("c1"), "i1", ""); ErrorCode(err) != CodePaymentProviderError {
		t.Fatalf("regenerate: %v", err)
	}
	inv := f.invoice(t)
	if a := inv.ActiveLink(); a == nil || a.ID != old.ID {
		t.Fatalf("the old link should stay the active one: %+v", inv.Links)
	}
	if last := inv.Links[len(inv.Links)-1]; last.Status != LinkRemoved || last.Reason != ReasonReplacementFailed {
		t.Fatalf("the new link should be ended and recorded: %+v", last)
	}
	f.checkInvariants(t)
}

func TestEmailHoldsTheInvoiceWhileSending(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	link, _, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", "")
	if err != nil {
		t.Fatal(err)
	}
	// While the e-mail is being sent, a remove must wait.
	var removeErr error
	f.mail = &fakeMailer{}
	f.svc.mailer = mailerFunc(func(ctx context.Context, e OutgoingEmail) (string, error) {
		removeErr = f.svc.RemoveLink(ctx, Staff("c1"), "i1", "")
		return "m-1", nil
	})
	sent, l, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", &EmailInput{IncludePaymentLink: true})
	if err != nil || l.ID != link.ID || sent.LinkGeneration != link.Generation {
		t.Fatalf("send: %v %v %v", sent, l, err)
	}
	if ErrorCode(removeErr) != CodeConflict {
		t.Fatalf("remove during send: %v, want conflict", removeErr)
	}
	if err := f.svc.RemoveLink(ctx, Staff("c1"), "i1", ""); err != nil {
		t.Fatalf("remove after send: %v", err)
	}
	f.checkInvariants(t)
}

type mailerFunc func(context.Context, OutgoingEmail) (string, error)

func (m mailerFunc) Send(ctx context.Context, e OutgoingEmail) (string, error) { return m(ctx, e) }

func TestCommitSurvivesAConcurrentWriter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Another writer (an e-mail record, a webhook) bumps the version while
	// the link is being made: the commit re-reads and still records it.
	f.stripe.onCreate = func() {
		inv := f.invoice(t)
		inv.Version++
		inv.Emails = append(inv.Emails, SentEmail{MessageID: "other"})
		if err := f.store.PutInvoice(ctx, inv); err != nil {
			t.Error(err)
		}
	}
	l, created, err := f.svc.CreateLink(ctx, Staff("c1"), "i1", "")
	if err != nil || !created {
		t.Fatal(err)
	}
	inv := f.invoice(t)
	if inv.ActiveLink() == nil || inv.ActiveLink().ID != l.ID || len(inv.Emails) != 1 {
		t.Fatalf("after commit: %+v", inv)
	}
	f.checkInvariants(t)
}

// run is the scheduler's run at now and the workers' (runScheduled).
func (f *fixture) run(ctx context.Context, now time.Time) (RunReport, error) {
	return runScheduled(ctx, f.svc, f.queue, now)
}
