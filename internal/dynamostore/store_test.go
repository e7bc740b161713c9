package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/idempotency"
)

// The store against DynamoDB Local: what it writes reads back the same, its
// writes are as conditional as billing.Store says, and its transactions
// hold under concurrency.

var (
	db    *dynamodb.Client
	table = "store-test"
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		tools, err := localservers.FindTools()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx := context.Background()
		server, err := localservers.StartDynamoDB(ctx, tools)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer server.Stop()
		db = dynamodb.New(dynamodb.Options{
			Region: "ca-central-1", BaseEndpoint: aws.String(server.URL),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		})
		if err := localservers.CreateTable(ctx, db, table); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

func newStore() *Store { return New(db, table) }

func id(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// fullInvoice is a realistic invoice, with most of its history, for the
// store's tests (roundtrip_test.go covers every field, found by reflection).
func fullInvoice(company string) *billing.Invoice {
	return &billing.Invoice{
		CompanyID: company, ID: id("inv-"), Number: "F-1", Currency: "cad", Total: 12500, BalanceDue: 5000,
		IssuedOn: "2026-11-20", DueOn: "2026-12-20",
		Patient: billing.Patient{Name: "Émilie Côté", Email: "emilie@example.com", Language: billing.French},
		Lines:   []billing.Line{{Description: "Consultation", Amount: 10000}, {Description: "Rapport", Amount: 2500}},
		Links: []billing.Link{{Generation: 1, ID: "plink_1", URL: "https://buy.stripe.com/1", PriceID: "price_1", AccountID: "acct_1",
			Amount: 12500, Currency: "cad", Language: billing.French, Status: billing.LinkCompleted, Reason: "",
			CreatedAt: t0, EndedAt: t0.Add(time.Minute), RequestKey: "k1", EndRequestKey: "k2"}},
		Emails: []billing.SentEmail{{MessageID: "m1", To: "emilie@example.com", Language: billing.French, SentAt: t0, LinkGeneration: 1, RequestKey: "k3",
			Kind: billing.EmailReminder, Key: "reminder-after-1", PDF: true, EarlierAttempts: []string{"a0"},
			Delivery: billing.EmailDelivery{Status: billing.EmailBounced, At: t0.Add(time.Minute), BounceType: billing.BouncePermanent, BounceSubType: "General"}}},
		Outbox: []billing.Outbound{{Key: "receipt-pi_1", Kind: billing.EmailReceipt, PaymentIntentID: "pi_1", CreatedAt: t0, Attempt: "a2",
			AttemptAt: t0.Add(time.Second), PastAttempts: []string{"a1"}, To: "emilie@example.com", Language: billing.French, LinkGeneration: 1, PDF: true, Tries: 2}},
		Reminders: billing.ReminderState{Paused: true, Plan: []billing.ReminderStep{{Key: "after-1", At: t0.Add(24 * time.Hour)}}, Done: []string{"before-3"}},
		Payments: []billing.Payment{{
			PaymentIntentID: "pi_1", SessionID: "cs_1", ChargeID: "ch_1", LinkID: "plink_1", LinkGeneration: 1,
			Amount: 12500, Currency: "cad", ChargedAmount: 9100, ChargedCurrency: "usd", State: billing.PaymentSucceeded,
			Review: "", ViaInactiveLink: true, RecordedAt: t0, PaidAt: t0, RefundedAt: t0.Add(time.Hour),
			Refunds:       []billing.Refund{{ID: "re_1", Amount: 100, Status: billing.RefundFailed, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}},
			ChargeRefunds: &billing.Snapshot{Amount: 100, At: t0},
			Disputes:      []billing.Dispute{{ID: "dp_1", Amount: 50, Status: "needs_response", UpdatedAt: t0}},
		}, {
			PaymentIntentID: "pi_r1", ChargeID: "ch_r1", Amount: 100, Currency: "cad", State: billing.PaymentSucceeded, RecordedAt: t0,
			Channel: billing.ChannelInPerson, Method: &billing.PaymentMethod{Type: billing.MethodInteracPresent, Brand: "interac", Last4: "1933"},
		}},
		ReaderAttempts: []billing.ReaderAttempt{{ID: "rpa_1", Number: 1, ReaderID: "tmr_1", AccountID: "acct_1", PaymentIntentID: "pi_r1",
			Amount: 100, Currency: "cad", Status: billing.ReaderDeclined, Reason: "card_declined", Tries: 2, RequestKey: "k6",
			Until: t0.Add(time.Minute), Owed: "capture", Method: &billing.PaymentMethod{Type: billing.MethodCardPresent, Brand: "visa", Last4: "4242"},
			CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}},
		ReaderRefunds: []billing.ReaderRefund{{ID: "rfa_1", Number: 1, ReaderID: "tmr_1", AccountID: "acct_1", PaymentIntentID: "pi_r1",
			Amount: 60, Currency: "cad", Status: billing.ReaderSucceeded, Reason: "", Tries: 1, RequestKey: "k7", Until: t0.Add(time.Minute),
			RefundID: "re_2", CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Second)}},
		Overpaid: 7,
		Lease: &billing.Lease{Token: "tok", Until: t0.Add(time.Minute), Change: &billing.LinkChange{
			Make: &billing.NewLink{CompanyID: company, Generation: 2, AccountID: "acct_1", Amount: 5000, Currency: "cad",
				Language: billing.English, Page: billing.PageText{ProductName: "Invoice F-1", InactiveMessage: "x", ConfirmationMessage: "y"}, RequestKey: "k4"},
			End: &billing.LinkEnd{Generation: 1, Status: billing.LinkReplaced, Reason: "", RequestKey: "k5"},
		}},
		LastGeneration: 2, Version: 1, CreatedAt: t0, UpdatedAt: t0,
	}
}

func TestInvoiceReadsBackAsWritten(t *testing.T) {
	s, ctx := newStore(), context.Background()
	inv := fullInvoice(id("co-"))
	inv.Lease.Change.Make.InvoiceID = inv.ID
	if err := s.PutInvoice(ctx, inv); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInvoice(ctx, inv.CompanyID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, inv) {
		t.Fatalf("read back\n%+v\nwritten\n%+v", got, inv)
	}
}

func TestInvoiceWritesAreConditional(t *testing.T) {
	s, ctx := newStore(), context.Background()
	inv := fullInvoice(id("co-"))
	if err := s.PutInvoice(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInvoice(ctx, inv); !errors.Is(err, billing.ErrVersionConflict) {
		t.Fatalf("a second version 1: %v", err)
	}
	next := *inv
	next.Version = 2
	if err := s.PutInvoice(ctx, &next); err != nil {
		t.Fatal(err)
	}
	stale := *inv
	stale.Version = 2
	if err := s.PutInvoice(ctx, &stale); !errors.Is(err, billing.ErrVersionConflict) {
		t.Fatalf("a stale write: %v", err)
	}
	if _, err := s.GetInvoice(ctx, inv.CompanyID, "missing"); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("a missing invoice: %v", err)
	}
	// Another company's partition holds nothing of it.
	if _, err := s.GetInvoice(ctx, "other", inv.ID); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("read from another company: %v", err)
	}
}

func TestReleaseLease(t *testing.T) {
	s, ctx := newStore(), context.Background()
	inv := fullInvoice(id("co-"))
	if err := s.PutInvoice(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, inv.CompanyID, inv.ID, "not-mine"); !errors.Is(err, billing.ErrVersionConflict) {
		t.Fatalf("released with another token: %v", err)
	}
	if err := s.ReleaseLease(ctx, inv.CompanyID, inv.ID, "tok"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetInvoice(ctx, inv.CompanyID, inv.ID)
	if !got.Lease.Until.IsZero() || got.Lease.Change == nil || got.Version != 2 {
		t.Fatalf("after release: %+v version %d", got.Lease, got.Version)
	}
}

func TestAnAccountBelongsToOneCompany(t *testing.T) {
	s, ctx := newStore(), context.Background()
	a, b, acct, other := id("co-"), id("co-"), id("acct_1"), id("acct_2")
	save := func(company, account, previous string, version int64) error {
		_, err := s.SaveCompany(ctx, &billing.Company{ID: company, Name: "C", ReplyToEmail: "c@example.com",
			DefaultLanguage: billing.French, StripeAccountID: account, Version: version, CreatedAt: t0, UpdatedAt: t0}, previous)
		return err
	}
	if err := save(a, acct, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := save(b, acct, "", 1); !errors.Is(err, billing.ErrAccountInUse) {
		t.Fatalf("a second company: %v", err)
	}
	if owner, _ := s.AccountOwner(ctx, acct); owner != a {
		t.Fatalf("owner %q", owner)
	}
	// b's record was not written by the failed transaction.
	if _, err := s.GetCompany(ctx, b); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("b: %v", err)
	}
	if err := save(a, acct, "", 1); !errors.Is(err, billing.ErrVersionConflict) {
		t.Fatalf("a stale company write: %v", err)
	}
	// a moves to another account: the first one is free again.
	if err := save(a, other, acct, 2); err != nil {
		t.Fatal(err)
	}
	if err := save(b, acct, "", 1); err != nil {
		t.Fatalf("a freed account: %v", err)
	}
}

// TestADuplicateEventIsRefusedWhole: a second delivery of an event writes
// nothing, its feed entries included.
func TestADuplicateEventIsRefusedWhole(t *testing.T) {
	s, ctx := newStore(), context.Background()
	company := id("co-")
	c := func() *billing.EventCommit {
		return &billing.EventCommit{
			Event: billing.EventRecord{ID: "evt_" + company, Type: billing.EventChargeRefunded, CompanyID: company, Outcome: billing.OutcomeApplied, ReceivedAt: t0},
			Feed:  []billing.FeedEntry{{InvoiceID: "inv", Kind: billing.KindRefund, Amount: 1, NetChange: -1}, {InvoiceID: "inv", Kind: billing.KindRefund, Amount: 2, NetChange: -2}},
		}
	}
	if err := s.CommitEvent(ctx, c()); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitEvent(ctx, c()); !errors.Is(err, billing.ErrDuplicateEvent) {
		t.Fatalf("a duplicate: %v", err)
	}
	entries, more, err := s.ListFeed(ctx, company, 0, 100)
	if err != nil || more || len(entries) != 2 || entries[0].Amount != 1 || entries[1].Seq != 2 {
		t.Fatalf("%+v, more %v, %v", entries, more, err)
	}
}

func TestPendingReferencesExpire(t *testing.T) {
	s, ctx := newStore(), context.Background()
	acct, pi := id("acct_"), id("pi_")
	ref := &billing.PaymentRef{AccountID: acct, PaymentIntentID: pi, Pending: &billing.Payment{State: billing.PaymentSucceeded}, Version: 1}
	if err := s.CommitEvent(ctx, &billing.EventCommit{Event: billing.EventRecord{ID: id("evt_"), ReceivedAt: t0}, Ref: ref}); err != nil {
		t.Fatal(err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(refPK(acct, pi), refSK)})
	if err != nil || out.Item["expiresAt"] == nil {
		t.Fatalf("a reference waiting for its payment has no TTL: %v", err)
	}
	// Once the payment is seen, the reference stays.
	matched := *ref
	matched.CompanyID, matched.InvoiceID, matched.Pending, matched.Version = "co", "inv", nil, 2
	if err := s.CommitEvent(ctx, &billing.EventCommit{Event: billing.EventRecord{ID: id("evt_"), ReceivedAt: t0}, Ref: &matched}); err != nil {
		t.Fatal(err)
	}
	out, _ = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(refPK(acct, pi), refSK)})
	if out.Item["expiresAt"] != nil {
		t.Fatal("a matched reference expires")
	}
}

func TestIdempotencyRecords(t *testing.T) {
	s, ctx := newStore().Idempotency(), context.Background()
	now := time.Now()
	rec := &idempotency.Request{Scope: id("co-"), Key: "k", Hash: "h", InProgressUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	if existing, err := s.StartRequest(ctx, rec, now); err != nil || existing != nil {
		t.Fatalf("first: %v %v", existing, err)
	}
	existing, err := s.StartRequest(ctx, rec, now)
	if err != nil || existing == nil || existing.Status != idempotency.InProgress {
		t.Fatalf("second while the first runs: %+v %v", existing, err)
	}
	rec.Response = &idempotency.StoredResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"a":1}`),
		Headers: map[string]string{"ETag": `"v2"`, "Location": "/invoices/i1"}}
	if err := s.CompleteRequest(ctx, rec); err != nil {
		t.Fatal(err)
	}
	existing, _ = s.StartRequest(ctx, rec, now)
	if existing == nil || existing.Status != idempotency.Completed || existing.Response.Status != 201 || string(existing.Response.Body) != `{"a":1}` ||
		existing.Response.Headers["ETag"] != `"v2"` || existing.Response.Headers["Location"] != "/invoices/i1" {
		t.Fatalf("after completion: %+v", existing)
	}
	// A completed answer stays; an attempt that answered 5xx frees its key.
	if err := s.ReleaseRequest(ctx, rec.Scope, rec.Key); err != nil {
		t.Fatal(err)
	}
	if existing, _ := s.StartRequest(ctx, rec, now); existing == nil || existing.Status != idempotency.Completed {
		t.Fatalf("a completed answer was released: %+v", existing)
	}
	failed := &idempotency.Request{Scope: rec.Scope, Key: "k3", Hash: "h", InProgressUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	_, _ = s.StartRequest(ctx, failed, now)
	if err := s.ReleaseRequest(ctx, failed.Scope, failed.Key); err != nil {
		t.Fatal(err)
	}
	if existing, err := s.StartRequest(ctx, failed, now); err != nil || existing != nil {
		t.Fatalf("after release: %v %v", existing, err)
	}
	// A record whose attempt died (past its invocation's end) gives way.
	dead := &idempotency.Request{Scope: rec.Scope, Key: "k2", Hash: "h", InProgressUntil: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)}
	_, _ = s.StartRequest(ctx, dead, now)
	if existing, err := s.StartRequest(ctx, dead, now); err != nil || existing != nil {
		t.Fatalf("a dead attempt's record: %+v %v", existing, err)
	}
}

// headAlwaysMoves is DynamoDB with another writer always committing first:
// every transaction is canceled by a condition.
type headAlwaysMoves struct{ API }

func (h headAlwaysMoves) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i].Code = aws.String("None")
	}
	reasons[1].Code = aws.String("ConditionalCheckFailed") // the item right after the event record
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

// TestACommitThatKeepsLosingSaysSo: a commit canceled by a condition other
// than the event record's reports a conflict (the service decides again),
// never success.
func TestACommitThatKeepsLosingSaysSo(t *testing.T) {
	s := New(headAlwaysMoves{db}, table)
	company := id("co-")
	c := &billing.EventCommit{
		Event: billing.EventRecord{ID: id("evt_"), CompanyID: company, Outcome: billing.OutcomeApplied, ReceivedAt: t0},
		Feed:  []billing.FeedEntry{{InvoiceID: "inv", Kind: billing.KindRefund, Amount: 1, NetChange: -1}},
	}
	if err := s.CommitEvent(context.Background(), c); !errors.Is(err, billing.ErrVersionConflict) {
		t.Fatalf("%v, want a version conflict", err)
	}
}

// dueAll collects every page DueWork hands over.
func dueAll(ctx context.Context, s *Store, now time.Time, company string) ([]billing.WorkItem, error) {
	var mu sync.Mutex
	var all []billing.WorkItem
	err := s.DueWork(ctx, now, company, func(items []billing.WorkItem) error {
		mu.Lock()
		defer mu.Unlock()
		all = append(all, items...)
		return nil
	})
	return all, err
}

// TestDueWork: the scheduler's index holds an invoice from the write that
// gives it work until the write that leaves it none, at the time of that
// work; a company's own run sees its items only.
func TestDueWork(t *testing.T) {
	s, ctx := newStore(), context.Background()
	a, b := id("co-"), id("co-")
	due := t0.Add(24 * time.Hour)
	mk := func(company string) *billing.Invoice {
		inv := &billing.Invoice{CompanyID: company, ID: id("inv-"), Number: "F", Currency: "cad", Total: 100, BalanceDue: 100,
			IssuedOn: "2026-11-20", DueOn: "2026-12-20", Patient: billing.Patient{Name: "P", Email: "p@example.com"},
			Reminders: billing.ReminderState{Plan: []billing.ReminderStep{{Key: "after-1", At: due}}}, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.PutInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	ia, ib := mk(a), mk(b)
	has := func(items []billing.WorkItem, inv *billing.Invoice) bool {
		return slices.Contains(items, billing.WorkItem{CompanyID: inv.CompanyID, InvoiceID: inv.ID})
	}
	if items, err := dueAll(ctx, s, due.Add(-time.Second), a); err != nil || has(items, ia) {
		t.Fatalf("before its time: %v %v", items, err)
	}
	items, err := dueAll(ctx, s, due, a)
	if err != nil || !has(items, ia) || has(items, ib) {
		t.Fatalf("company %s at its time: %v %v", a, items, err)
	}
	if items, err := dueAll(ctx, s, due, ""); err != nil || !has(items, ia) || !has(items, ib) {
		t.Fatalf("every company: %v %v", items, err)
	}
	// Paid: nothing left to do, out of the index.
	ia.BalanceDue, ia.Version = 0, 2
	if err := s.PutInvoice(ctx, ia); err != nil {
		t.Fatal(err)
	}
	if items, err := dueAll(ctx, s, due, a); err != nil || has(items, ia) {
		t.Fatalf("after payment: %v %v", items, err)
	}
}
