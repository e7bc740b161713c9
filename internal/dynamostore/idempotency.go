package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/idempotency"
)

// Idempotency keeps Idempotency-Key records in the table, in the tenant's
// partition (pk CO#<tenant>, sk IDEM#<key>), implementing
// idempotency.Store.
type Idempotency struct {
	db    API
	table string
}

// NewIdempotency returns the record keeper on the named table.
func NewIdempotency(db API, table string) *Idempotency { return &Idempotency{db: db, table: table} }

var _ idempotency.Store = (*Idempotency)(nil)

type idempotencyRecord struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	Hash            string `dynamodbav:"hash"`
	Status          string `dynamodbav:"status"`
	InProgressUntil int64  `dynamodbav:"inProgressUntil"` // Unix ms
	ExpiresAt       int64  `dynamodbav:"expiresAt"`       // Unix s, the table's TTL attribute
	ResponseStatus  int    `dynamodbav:"responseStatus,omitempty"`
	ContentType     string `dynamodbav:"contentType,omitempty"`
	Body            []byte `dynamodbav:"body,omitempty"`
	// Headers of the first answer (ETag, Location…), replayed with it.
	Headers map[string]string `dynamodbav:"headers,omitempty"`
}

// StartRequest implements idempotency.Store. The condition lets the
// write through when no record exists, when the record has expired (TTL
// deletes late, so its expiry is compared here too), or when it is in
// progress past its invocation's end (the attempt died).
func (s *Idempotency) StartRequest(ctx context.Context, rec *idempotency.Request, now time.Time) (*idempotency.Request, error) {
	for range 3 {
		existing, err := s.start(ctx, rec, now)
		if !errors.Is(err, errReleased) {
			return existing, err
		}
	}
	return nil, &billing.Error{Code: billing.CodeRequestInProgress, Message: "another request with this Idempotency-Key is in progress; retry", RetryAfter: time.Second}
}

// errReleased: the record that blocked the write was gone when read.
var errReleased = errors.New("idempotency record released meanwhile")

func (s *Idempotency) start(ctx context.Context, rec *idempotency.Request, now time.Time) (*idempotency.Request, error) {
	item, err := attributevalue.MarshalMap(idempotencyRecord{
		PK: companyPK(rec.Scope), SK: idempotencySK(rec.Key), Hash: rec.Hash, Status: string(idempotency.InProgress),
		InProgressUntil: rec.InProgressUntil.UnixMilli(), ExpiresAt: rec.ExpiresAt.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode idempotency record: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR expiresAt < :now OR (#status = :inprogress AND inProgressUntil < :nowms)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":        &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			":nowms":      &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			":inprogress": &types.AttributeValueMemberS{Value: string(idempotency.InProgress)},
		},
	})
	if err == nil {
		return nil, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, dbError("start idempotent request", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(companyPK(rec.Scope), idempotencySK(rec.Key)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, dbError("read idempotent request", err)
	}
	if out.Item == nil {
		return nil, errReleased
	}
	var r idempotencyRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	existing := &idempotency.Request{
		Scope: rec.Scope, Key: rec.Key, Hash: r.Hash, Status: idempotency.Status(r.Status),
		InProgressUntil: time.UnixMilli(r.InProgressUntil), ExpiresAt: time.Unix(r.ExpiresAt, 0),
	}
	if existing.Status == idempotency.Completed {
		existing.Response = &idempotency.StoredResponse{Status: r.ResponseStatus, ContentType: r.ContentType, Body: r.Body, Headers: r.Headers}
	}
	return existing, nil
}

// CompleteRequest implements idempotency.Store.
func (s *Idempotency) CompleteRequest(ctx context.Context, rec *idempotency.Request) error {
	r := idempotencyRecord{
		PK: companyPK(rec.Scope), SK: idempotencySK(rec.Key), Hash: rec.Hash, Status: string(idempotency.Completed),
		InProgressUntil: rec.InProgressUntil.UnixMilli(), ExpiresAt: rec.ExpiresAt.Unix(),
	}
	if rec.Response != nil {
		r.ResponseStatus, r.ContentType, r.Body, r.Headers = rec.Response.Status, rec.Response.ContentType, rec.Response.Body, rec.Response.Headers
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encode idempotency record: %w", err)
	}
	// Only the attempt's own record is completed: a record gone or taken
	// over by another attempt (after this one's invocation ended) is left.
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:      aws.String("#status = :inprogress AND #hash = :hash"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#hash": "hash"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inprogress": &types.AttributeValueMemberS{Value: string(idempotency.InProgress)},
			":hash":       &types.AttributeValueMemberS{Value: rec.Hash},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return dbError("complete idempotent request", err)
	}
	return nil
}

// ReleaseRequest implements idempotency.Store.
func (s *Idempotency) ReleaseRequest(ctx context.Context, scope, k string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(companyPK(scope), idempotencySK(k)),
		ConditionExpression:      aws.String("#status = :inprogress"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inprogress": &types.AttributeValueMemberS{Value: string(idempotency.InProgress)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return dbError("release idempotent request", err)
	}
	return nil
}
