package billing

import (
	"context"
	"time"
)

// IdempotencyRetention is how long a request made with an Idempotency-Key is
// remembered.
const IdempotencyRetention = 24 * time.Hour

// RequestStatus is where a request made with an Idempotency-Key stands.
type RequestStatus string

// Request statuses, as in Powertools' idempotency records.
const (
	RequestInProgress RequestStatus = "INPROGRESS"
	RequestCompleted  RequestStatus = "COMPLETED"
)

// IdempotentRequest is the record of a request made with an Idempotency-Key,
// scoped to the tenant.
type IdempotentRequest struct {
	Scope string
	Key   string
	// Hash is of the method, the path and the body: the same key for
	// another request is refused.
	Hash   string
	Status RequestStatus
	// InProgressUntil is the end of the first attempt's invocation: a
	// record still in progress after it belongs to an attempt that died.
	InProgressUntil time.Time
	// ExpiresAt ends the record (DynamoDB's TTL removes it, late; the
	// conditions compare it too).
	ExpiresAt time.Time
	Response  *StoredResponse
}

// StoredResponse is the first answer, replayed to later attempts.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotencyStore keeps IdempotentRequest records.
type IdempotencyStore interface {
	// StartRequest writes rec (in progress) unless a live record holds the
	// key; then it returns that record instead and writes nothing.
	StartRequest(ctx context.Context, rec *IdempotentRequest, now time.Time) (*IdempotentRequest, error)
	// CompleteRequest stores the answer to replay.
	CompleteRequest(ctx context.Context, rec *IdempotentRequest) error
	// ReleaseRequest frees the key after an answer worth retrying.
	ReleaseRequest(ctx context.Context, scope, key string) error
}
