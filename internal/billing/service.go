package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/clinicpay/payments/internal/retry"
)

// Service carries out the use cases. It is safe for concurrent use.
type Service struct {
	store     Store
	payments  PaymentProvider
	mailer    Mailer
	documents Documents
	now       func() time.Time
	newToken  func() string
	metrics   Metrics
	livemode  bool
	queue     WorkQueue
	terminal  Terminal
	readers   ReaderStore
}

// Deps are the adapters a Service uses. A function that never sends e-mail
// may leave Mailer nil, and one that never calls Stripe Payments.
type Deps struct {
	Store    Store
	Payments PaymentProvider
	Mailer   Mailer
	// Documents makes the invoice's PDF; nil attaches none (a function that
	// sends no invoice or reminder leaves the PDF code out of its binary).
	Documents Documents
	// Now defaults to time.Now.
	Now func() time.Time
	// Metrics counts business events; nil counts nothing.
	Metrics Metrics
	// Livemode is the stack's Stripe mode (live in production, test
	// elsewhere): webhook events of the other mode are ignored.
	Livemode bool
	// Queue takes the scheduler's work (the planner and the workers);
	// nil for the functions that queue none.
	Queue WorkQueue
	// Terminal is Stripe Terminal and Readers the store of the clinics'
	// readers; nil for the functions that handle no reader.
	Terminal Terminal
	Readers  ReaderStore
}

// NewService builds a Service.
func NewService(d Deps) *Service {
	s := &Service{store: d.Store, payments: d.Payments, mailer: d.Mailer, documents: d.Documents, now: d.Now, newToken: randomToken, metrics: d.Metrics, livemode: d.Livemode, queue: d.Queue,
		terminal: d.Terminal, readers: d.Readers}
	if s.now == nil {
		s.now = time.Now
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	return s
}

// The retry policies of the use cases (internal/retry: jittered waits,
// bounded by the context's deadline).
var (
	// contention: a use case reads, decides and writes conditionally; when
	// the write loses to a concurrent one, it reads and decides again. Past
	// these attempts the client gets 409 conflict, with Retry-After.
	contention = retry.Policy{MaxAttempts: 4, Base: 2 * time.Millisecond, Max: 50 * time.Millisecond, Reserve: time.Second}
	// commitPolicy: recording what Stripe did, against writers that don't
	// hold the invoice (webhooks, e-mail records). The work is done at
	// Stripe, so it is worth insisting.
	commitPolicy = retry.Policy{MaxAttempts: 12, Base: 5 * time.Millisecond, Max: 100 * time.Millisecond, Reserve: time.Second}
	// eventPolicy: applying a webhook event against other events and
	// requests on the same invoice or feed; after it, Stripe redelivers.
	eventPolicy = retry.Policy{MaxAttempts: 30, Base: 5 * time.Millisecond, Max: 100 * time.Millisecond, Reserve: time.Second}
)

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b)
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// errRetry tells a use case that a conditional write lost: read again and
// decide again.
var errRetry = errors.New("retry with fresh state")

func conflictError() *Error {
	return &Error{Code: CodeConflict, Message: "the invoice was changed by another request at the same time; retry in 1 second", RetryAfter: time.Second}
}

func notFound(what string) *Error {
	return Errorf(CodeNotFound, "%s not found", what)
}

// storeError turns an unexpected store failure into an *Error, keeping
// the cause for the logs.
func storeError(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, errRetry) || errors.Is(err, ErrVersionConflict) {
		return conflictError() // lost a race every time we tried: the client may retry
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// loadInvoice reads an invoice with its company; a missing invoice is 404.
func (s *Service) loadInvoice(ctx context.Context, companyID, invoiceID string) (*Invoice, *Company, error) {
	inv, c, err := s.store.GetInvoiceAndCompany(ctx, companyID, invoiceID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, notFound("invoice")
	}
	if err != nil {
		return nil, nil, storeError("read invoice", err)
	}
	return inv, c, nil
}
