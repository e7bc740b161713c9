package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Limits that keep one invoice's history (stored with the invoice) small.
const (
	MaxLinksPerInvoice  = 100
	MaxEmailsPerInvoice = 100
)

// maxAttempts bounds the optimistic-concurrency loops: a request that loses
// this many conditional writes in a row answers 409 conflict.
const maxAttempts = 4

// defaultLease is how long a link change may hold an invoice when the
// context has no deadline (the local API); in Lambda the lease ends with the
// invocation's deadline, as in Powertools' idempotency records.
const defaultLease = 30 * time.Second

// Service carries out the use cases. It is safe for concurrent use.
type Service struct {
	store      Store
	payments   PaymentProvider
	mailer     Mailer
	now        func() time.Time
	newToken   func() string
	checkpoint func(ctx context.Context, step string)
	metrics    Metrics
}

// Steps a request passes, named so a test harness can stop a request there
// (Deps.Checkpoint) and show that a retry converges whatever the moment a
// Lambda dies.
const (
	StepClaimed       = "claimed"        // the plan is written; no Stripe call yet
	StepStripeDone    = "stripe_done"    // Stripe did the plan's steps; the store doesn't know
	StepEmailAccepted = "email_accepted" // SES took the e-mail; it is not recorded
	StepCommitted     = "committed"      // the store is updated; no answer sent yet
	StepEventRecorded = "event_recorded" // a webhook event is recorded; its follow-up not done
)

// Deps are the adapters a Service uses. A function that never sends e-mail
// may leave Mailer nil, and one that never calls Stripe Payments.
type Deps struct {
	Store    Store
	Payments PaymentProvider
	Mailer   Mailer
	// Now defaults to time.Now.
	Now func() time.Time
	// Checkpoint, when set, is called at each named step (Step*). Tests
	// use it to stop a request there; production leaves it nil.
	Checkpoint func(ctx context.Context, step string)
	// Metrics counts business events; nil counts nothing.
	Metrics Metrics
}

// NewService builds a Service.
func NewService(d Deps) *Service {
	s := &Service{store: d.Store, payments: d.Payments, mailer: d.Mailer, now: d.Now, newToken: randomToken, checkpoint: d.Checkpoint}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = d.Metrics
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	return s
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) reach(ctx context.Context, step string) {
	if s.checkpoint != nil {
		s.checkpoint(ctx, step)
	}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// errRetry tells a use case that a conditional write lost: read again and
// decide again.
var errRetry = errors.New("retry with fresh state")

func conflictError() *Error {
	return &Error{Code: CodeConflict, Message: "the invoice was changed by another request at the same time; retry", RetryAfter: time.Second}
}

func checkInvoiceID(id string) error {
	if !ValidID(id) {
		return Invalid("invoiceId", "invoiceId must be 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
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
