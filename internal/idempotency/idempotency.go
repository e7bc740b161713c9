// Package idempotency holds the records of requests made with an
// Idempotency-Key, as AWS Lambda Powertools' idempotency utility keeps them:
// the HTTP layer (httpapi) writes and reads them, the store (dynamostore)
// keeps them.
package idempotency

import (
	"context"
	"time"
)

// Retention is how long a request made with an Idempotency-Key is
// remembered.
const Retention = 24 * time.Hour

// Status is where a request made with an Idempotency-Key stands.
type Status string

// Request statuses, as in Powertools' idempotency records.
const (
	InProgress Status = "INPROGRESS"
	Completed  Status = "COMPLETED"
)

// Request is the record of a request made with an Idempotency-Key,
// scoped to the tenant.
type Request struct {
	Scope string
	Key   string
	// Hash is of the method, the path and the body: the same key for
	// another request is refused.
	Hash   string
	Status Status
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
	// Headers are the first answer's headers (ETag, Location…): a client
	// acts on them as on the body. Records written before they were kept
	// have only ContentType.
	Headers map[string]string
}

// Store keeps Request records.
type Store interface {
	// StartRequest writes rec (in progress) unless a live record holds the
	// key; then it returns that record instead and writes nothing.
	StartRequest(ctx context.Context, rec *Request, now time.Time) (*Request, error)
	// CompleteRequest stores the answer to replay.
	CompleteRequest(ctx context.Context, rec *Request) error
	// ReleaseRequest frees the key after an answer worth retrying.
	ReleaseRequest(ctx context.Context, scope, key string) error
}
