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
	"github.com/clinicpay/payments/internal/retry"
)

// A clinic's readers are counted in an item of its partition (READERS,
// keys.go), changed in the same transaction as each reader put or
// deleted, on condition that it stays under billing.MaxReaders: however
// many registrations run at once, one clinic never holds more. The count
// is an item of its own rather than an attribute of the company, because
// SaveCompany puts the whole company item on its version: a count there
// would make every registration a company write, and an admin's PUT
// racing it a conflict.

type readerCountRecord struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Count int    `dynamodbav:"readers"`
}

// countPolicy: registrations and deletes of one clinic's readers racing
// on its count.
var countPolicy = retry.Policy{MaxAttempts: 20, Base: 2 * time.Millisecond, Max: 50 * time.Millisecond, Reserve: time.Second}

// countChange adds delta to a clinic's count: under MaxReaders for a new
// reader, above zero for a deleted one.
func countChange(table, companyID string, delta int) *types.Update {
	cond, bound := "readers < :bound", billing.MaxReaders
	if delta < 0 {
		cond, bound = "readers > :bound", 0
	}
	return &types.Update{
		TableName: &table, Key: key(companyPK(companyID), readerCountSK),
		UpdateExpression: aws.String("ADD readers :delta"), ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":delta": &types.AttributeValueMemberN{Value: strconv.Itoa(delta)},
			":bound": &types.AttributeValueMemberN{Value: strconv.Itoa(bound)},
		},
	}
}

// What a transaction of a reader (first) and its count (second) met.
type countOutcome int

const (
	countOK          countOutcome = iota
	countConflict                 // another transaction on the same items: try again
	countItemRefused              // the reader's condition failed
	countRefused                  // the count's condition failed (none yet, or at its bound)
	countError
)

func countFailure(err error) countOutcome {
	var canceled *types.TransactionCanceledException
	var conflict *types.TransactionConflictException
	switch {
	case err == nil:
		return countOK
	case errors.As(err, &conflict):
		return countConflict
	case !errors.As(err, &canceled):
		return countError
	}
	out := countOK
	for i, r := range canceled.CancellationReasons {
		switch code := aws.ToString(r.Code); {
		case code == "" || code == "None":
		case code == "TransactionConflict":
			out = max(out, countConflict)
		case code == "ConditionalCheckFailed" && i == 0:
			return countItemRefused // the reader's answer comes first
		case code == "ConditionalCheckFailed":
			out = max(out, countRefused)
		default:
			return countError
		}
	}
	if out == countOK {
		return countError
	}
	return out
}

// addReader puts a new reader and counts it, in one transaction; a clinic
// whose readers were never counted is counted first.
func (s *Store) addReader(ctx context.Context, r *billing.Reader, item map[string]types.AttributeValue) error {
	put := &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	for range countPolicy.Attempts(ctx) {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: put}, {Update: countChange(s.table, r.CompanyID, 1)},
		}})
		switch countFailure(err) {
		case countOK:
			return nil
		case countConflict:
			continue
		case countItemRefused:
			return fmt.Errorf("reader %s version %d: %w", r.ID, r.Version, billing.ErrVersionConflict)
		case countRefused:
			// At the bound, or not counted when the transaction read it
			// (by now this request or another may have counted).
			n, err := s.countReaders(ctx, r.CompanyID)
			if err != nil {
				return err
			}
			if n >= billing.MaxReaders {
				return fmt.Errorf("company %s: %w", r.CompanyID, billing.ErrReaderLimit)
			}
		default:
			return dbError("save reader", err)
		}
	}
	return countBusy("save reader")
}

// countReaders is the clinic's count of readers; when there is none yet
// (readers stored before it was kept, or none at all), it counts them
// (one consistent Query) and writes the count, unless another request
// did first.
func (s *Store) countReaders(ctx context.Context, companyID string) (int, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(companyPK(companyID), readerCountSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, dbError("read reader count", err)
	}
	if out.Item != nil {
		var rec readerCountRecord
		if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
			return 0, fmt.Errorf("decode reader count: %w", err)
		}
		return rec.Count, nil
	}
	readers, err := s.ListReaders(ctx, companyID)
	if err != nil {
		return 0, err
	}
	item, err := attributevalue.MarshalMap(readerCountRecord{PK: companyPK(companyID), SK: readerCountSK, Count: len(readers)})
	if err != nil {
		return 0, fmt.Errorf("encode reader count: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return 0, dbError("count readers", err)
	}
	return len(readers), nil
}

// countBusy: the clinic's count was fought over for every attempt.
func countBusy(op string) error {
	return &billing.Error{Code: billing.CodeUnavailable, Message: "the database is busy; retry", RetryAfter: time.Second,
		Err: fmt.Errorf("%s: the reader count stayed contended", op)}
}
