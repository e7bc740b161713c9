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
)

// A clinic's Terminal readers are items in its own partition (keys.go):
// a reader is only ever read under the caller's clinic, and one Query lists
// a clinic's readers.

// maxReaderItems bounds the readers' Query: billing.MaxReaders, with room
// for a few registered at the same moment.
const maxReaderItems = 2 * billing.MaxReaders

var _ billing.ReaderStore = (*Store)(nil)

type readerRecord struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	CompanyID  string    `dynamodbav:"companyId"`
	ID         string    `dynamodbav:"id"`
	Label      string    `dynamodbav:"label"`
	DeviceType string    `dynamodbav:"deviceType"`
	Status     string    `dynamodbav:"status"`
	LocationID string    `dynamodbav:"locationId,omitempty"`
	InvoiceID  string    `dynamodbav:"invoiceId,omitempty"`
	Version    int64     `dynamodbav:"version"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt"`
}

func toReaderRecord(r *billing.Reader) readerRecord {
	return readerRecord{PK: companyPK(r.CompanyID), SK: readerSK(r.ID), CompanyID: r.CompanyID, ID: r.ID, Label: r.Label,
		DeviceType: r.DeviceType, Status: r.Status, LocationID: r.LocationID, InvoiceID: r.InvoiceID,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (r *readerRecord) reader() billing.Reader {
	return billing.Reader{CompanyID: r.CompanyID, ID: r.ID, Label: r.Label, DeviceType: r.DeviceType, Status: r.Status,
		LocationID: r.LocationID, InvoiceID: r.InvoiceID, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// GetReader implements billing.ReaderStore.
func (s *Store) GetReader(ctx context.Context, companyID, readerID string) (*billing.Reader, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(companyPK(companyID), readerSK(readerID)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, dbError("get reader", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("reader %s: %w", readerID, billing.ErrNotFound)
	}
	var rec readerRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return nil, fmt.Errorf("decode reader: %w", err)
	}
	r := rec.reader()
	return &r, nil
}

// ListReaders implements billing.ReaderStore: one consistent Query of the
// clinic's partition.
func (s *Store) ListReaders(ctx context.Context, companyID string) ([]billing.Reader, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":     &types.AttributeValueMemberS{Value: companyPK(companyID)},
			":prefix": &types.AttributeValueMemberS{Value: readerPrefix},
		},
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(maxReaderItems),
	})
	if err != nil {
		return nil, dbError("list readers", err)
	}
	var recs []readerRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, fmt.Errorf("decode readers: %w", err)
	}
	readers := make([]billing.Reader, 0, len(recs))
	for i := range recs {
		readers = append(readers, recs[i].reader())
	}
	return readers, nil
}

// SaveReader implements billing.ReaderStore. A new reader is put in one
// transaction with its clinic's count (reader_count.go).
func (s *Store) SaveReader(ctx context.Context, r *billing.Reader) error {
	item, err := attributevalue.MarshalMap(toReaderRecord(r))
	if err != nil {
		return fmt.Errorf("encode reader: %w", err)
	}
	if r.Version <= 1 {
		return s.addReader(ctx, r, item)
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
	versionCondition(r.Version, &in.ConditionExpression, &in.ExpressionAttributeValues)
	_, err = s.db.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("reader %s version %d: %w", r.ID, r.Version, billing.ErrVersionConflict)
	}
	if err != nil {
		return dbError("save reader", err)
	}
	return nil
}

// DeleteReader implements billing.ReaderStore: the reader and its count
// go in one transaction.
func (s *Store) DeleteReader(ctx context.Context, companyID, readerID string, version int64) error {
	del := &types.Delete{
		TableName: &s.table, Key: key(companyPK(companyID), readerSK(readerID)),
		ConditionExpression: aws.String("version = :version"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":version": &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)},
		},
	}
	for range countPolicy.Attempts(ctx) {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: del}, {Update: countChange(s.table, companyID, -1)},
		}})
		switch countFailure(err) {
		case countOK:
			return nil
		case countConflict:
			continue
		case countItemRefused:
			return fmt.Errorf("reader %s version %d: %w", readerID, version, billing.ErrVersionConflict)
		case countRefused:
			// No count yet (readers registered before it was kept): the
			// next registration counts them.
			return s.deleteUncounted(ctx, del)
		default:
			return dbError("delete reader", err)
		}
	}
	return countBusy("delete reader")
}

// deleteUncounted deletes a reader of a clinic whose readers are not
// counted yet.
func (s *Store) deleteUncounted(ctx context.Context, del *types.Delete) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: del.TableName, Key: del.Key,
		ConditionExpression: del.ConditionExpression, ExpressionAttributeValues: del.ExpressionAttributeValues})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("reader: %w", billing.ErrVersionConflict)
	}
	if err != nil {
		return dbError("delete reader", err)
	}
	return nil
}
