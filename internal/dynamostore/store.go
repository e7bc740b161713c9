// Package dynamostore keeps billing companies and invoices in one DynamoDB
// table (single-table design: every key, index and access pattern is in
// keys.go), implementing billing.Store.
//
// The records (the *_records.go files) are the stored schema. They are
// kept apart from the domain types so that renaming a Go field never
// silently renames an attribute in a live table.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/retry"
)

// API is the part of the DynamoDB client the store uses; tests and the fault
// harness wrap the real client's transport, not this interface.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Store implements billing.Store.
type Store struct {
	db    API
	table string
}

// New returns a Store on the named table.
func New(db API, table string) *Store { return &Store{db: db, table: table} }

// Reachable reads the table's description: the table exists, in this
// region, and the function's role may reach it. The pre-traffic probe
// (wiring.Start) asks it of each new version; it reads no item.
func (s *Store) Reachable(ctx context.Context) error {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", s.table, err)
	}
	if out.Table == nil || out.Table.TableStatus != types.TableStatusActive {
		return fmt.Errorf("table %s is not active", s.table)
	}
	return nil
}

// Idempotency returns the Idempotency-Key records kept in the same table.
func (s *Store) Idempotency() *Idempotency { return NewIdempotency(s.db, s.table) }

var _ billing.Store = (*Store)(nil)

// GetCompany implements billing.Store.
func (s *Store) GetCompany(ctx context.Context, companyID string) (*billing.Company, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(companyPK(companyID), companySK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, dbError("get company", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("company %s: %w", companyID, billing.ErrNotFound)
	}
	var r companyRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return nil, fmt.Errorf("decode company: %w", err)
	}
	return r.company(), nil
}

// SaveCompany implements billing.Store with one TransactWriteItems: the
// company (conditional on its version), the claim on its Stripe account
// (which must be free or already its own) and, when the account changed,
// the release of the previous account's claim.
func (s *Store) SaveCompany(ctx context.Context, c *billing.Company, previousAccount string) (*billing.Company, error) {
	item, err := attributevalue.MarshalMap(toCompanyRecord(c))
	if err != nil {
		return nil, fmt.Errorf("encode company: %w", err)
	}
	put := &types.Put{TableName: &s.table, Item: item}
	versionCondition(c.Version, &put.ConditionExpression, &put.ExpressionAttributeValues)
	items := []types.TransactWriteItem{{Put: put}}
	mine := map[string]types.AttributeValue{":me": &types.AttributeValueMemberS{Value: c.ID}}
	claimIndex := -1
	if c.StripeAccountID != "" {
		claim, err := attributevalue.MarshalMap(accountClaimRecord{
			PK: accountPK(c.StripeAccountID), SK: accountSK, AccountID: c.StripeAccountID, CompanyID: c.ID,
		})
		if err != nil {
			return nil, fmt.Errorf("encode account claim: %w", err)
		}
		claimIndex = len(items)
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: claim,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR companyId = :me"),
			ExpressionAttributeValues: mine,
		}})
	}
	if previousAccount != "" && previousAccount != c.StripeAccountID {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key(accountPK(previousAccount), accountSK),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR companyId = :me"),
			ExpressionAttributeValues: mine,
		}})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				continue
			}
			if i == claimIndex {
				return nil, fmt.Errorf("account %s: %w", c.StripeAccountID, billing.ErrAccountInUse)
			}
			return nil, fmt.Errorf("company %s version %d: %w", c.ID, c.Version, billing.ErrVersionConflict)
		}
	}
	if err != nil {
		return nil, dbError("save company", err)
	}
	saved := *c
	return &saved, nil
}

// versionCondition makes a Put conditional on the stored version being
// version-1 (on no item for version 1).
func versionCondition(version int64, cond **string, values *map[string]types.AttributeValue) {
	if version <= 1 {
		*cond = aws.String("attribute_not_exists(pk)")
		return
	}
	*cond = aws.String("version = :previous")
	*values = map[string]types.AttributeValue{":previous": &types.AttributeValueMemberN{Value: strconv.FormatInt(version-1, 10)}}
}

// AccountOwner implements billing.Store.
func (s *Store) AccountOwner(ctx context.Context, accountID string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(accountPK(accountID), accountSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", dbError("get account claim", err)
	}
	if out.Item == nil {
		return "", nil
	}
	var r accountClaimRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", fmt.Errorf("decode account claim: %w", err)
	}
	return r.CompanyID, nil
}

// GetInvoice implements billing.Store.
func (s *Store) GetInvoice(ctx context.Context, companyID, invoiceID string) (*billing.Invoice, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(companyPK(companyID), invoiceSK(invoiceID)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, dbError("get invoice", err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("invoice %s: %w", invoiceID, billing.ErrNotFound)
	}
	return decodeInvoice(companyID, out.Item)
}

func decodeInvoice(companyID string, item map[string]types.AttributeValue) (*billing.Invoice, error) {
	var r invoiceRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return nil, fmt.Errorf("decode invoice: %w", err)
	}
	return r.invoice(companyID), nil
}

// unprocessedPolicy: BatchGetItem may leave keys unprocessed under
// throttling; the SDK's retryer has backed off already, this waits a little
// more before asking for the rest.
var unprocessedPolicy = retry.Policy{MaxAttempts: 5, Base: 25 * time.Millisecond, Max: 400 * time.Millisecond, Reserve: time.Second}

// batchGet reads items by key with consistent reads in one round trip (more
// if DynamoDB leaves keys unprocessed under throttling), indexed by pk+sk.
func (s *Store) batchGet(ctx context.Context, op string, keys ...map[string]types.AttributeValue) (itemsByKey, error) {
	found := itemsByKey{}
	for range unprocessedPolicy.Attempts(ctx) {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}},
		})
		if err != nil {
			return nil, dbError(op, err)
		}
		for _, item := range out.Responses[s.table] {
			found[itemKey(item)] = item
		}
		if keys = out.UnprocessedKeys[s.table].Keys; len(keys) == 0 {
			return found, nil
		}
	}
	return nil, &billing.Error{Code: billing.CodeUnavailable, Message: "the database is busy; retry", RetryAfter: time.Second}
}

// itemsByKey are the items a batch read found, by joinKey.
type itemsByKey map[string]map[string]types.AttributeValue

// get is the item of those keys, nil when none was found.
func (m itemsByKey) get(pk, sk string) map[string]types.AttributeValue { return m[joinKey(pk, sk)] }

// GetInvoiceAndCompany implements billing.Store with one BatchGetItem.
func (s *Store) GetInvoiceAndCompany(ctx context.Context, companyID, invoiceID string) (*billing.Invoice, *billing.Company, error) {
	items, err := s.batchGet(ctx, "get invoice and company",
		key(companyPK(companyID), invoiceSK(invoiceID)), key(companyPK(companyID), companySK))
	if err != nil {
		return nil, nil, err
	}
	var company *billing.Company
	if item := items.get(companyPK(companyID), companySK); item != nil {
		var r companyRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, nil, fmt.Errorf("decode company: %w", err)
		}
		company = r.company()
	}
	item := items.get(companyPK(companyID), invoiceSK(invoiceID))
	if item == nil {
		return nil, company, fmt.Errorf("invoice %s: %w", invoiceID, billing.ErrNotFound)
	}
	inv, err := decodeInvoice(companyID, item)
	return inv, company, err
}

// PutInvoice implements billing.Store: a PutItem conditional on the version
// and on the search keys being those already indexed; when they are not
// (a new invoice, a renamed patient or number), a transaction writes the
// invoice with its search items (see putInvoiceIndexed).
func (s *Store) PutInvoice(ctx context.Context, inv *billing.Invoice) error {
	rec := toInvoiceRecord(inv)
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("encode invoice: %w", err)
	}
	if inv.Version <= 1 {
		return s.putInvoiceIndexed(ctx, inv, item, rec.SearchKeys, "")
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
	versionCondition(inv.Version, &in.ConditionExpression, &in.ExpressionAttributeValues)
	*in.ConditionExpression += " AND " + searchKeysCondition(rec.SearchKeys, in.ExpressionAttributeValues)
	_, err = s.db.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return s.putInvoiceReindexed(ctx, inv, item, rec.SearchKeys)
	}
	if err != nil {
		return dbError("put invoice", err)
	}
	return nil
}

// putInvoiceReindexed follows a put refused on the version or the search
// keys: it reads the stored invoice (BatchGetItem, as every invoice writer
// may) to tell a stale write from changed keys, which only the invoice's
// PUT route makes and rewrites in a transaction. An invoice stored before
// search existed (no keys) is written as it was, unindexed, so that no
// other writer needs more than PutItem.
func (s *Store) putInvoiceReindexed(ctx context.Context, inv *billing.Invoice, item map[string]types.AttributeValue, keys string) error {
	pk, sk := companyPK(inv.CompanyID), invoiceSK(inv.ID)
	found, err := s.batchGet(ctx, "put invoice", key(pk, sk))
	if err != nil {
		return err
	}
	var stored invoiceRecord
	if found.get(pk, sk) == nil {
		return putInvoiceError(inv, &types.ConditionalCheckFailedException{})
	}
	if err := attributevalue.UnmarshalMap(found.get(pk, sk), &stored); err != nil {
		return fmt.Errorf("decode invoice: %w", err)
	}
	if stored.Version != inv.Version-1 {
		return putInvoiceError(inv, &types.ConditionalCheckFailedException{})
	}
	if stored.SearchKeys == "" {
		delete(item, "searchKeys")
		in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
		versionCondition(inv.Version, &in.ConditionExpression, &in.ExpressionAttributeValues)
		*in.ConditionExpression += " AND attribute_not_exists(searchKeys)"
		_, err := s.db.PutItem(ctx, in)
		return putInvoiceError(inv, err)
	}
	return s.putInvoiceIndexed(ctx, inv, item, keys, stored.SearchKeys)
}

// searchKeysCondition is the condition that the stored invoice's search
// keys are keys (absent when empty).
func searchKeysCondition(keys string, values map[string]types.AttributeValue) string {
	if keys == "" {
		return "attribute_not_exists(searchKeys)"
	}
	values[":searchKeys"] = &types.AttributeValueMemberS{Value: keys}
	return "searchKeys = :searchKeys"
}

// putInvoiceIndexed writes the invoice, the search items of its keys and
// deletes those of the old keys it no longer has, in one transaction
// conditional on the version and the old keys.
func (s *Store) putInvoiceIndexed(ctx context.Context, inv *billing.Invoice, item map[string]types.AttributeValue, joined, old string) error {
	put := &types.Put{TableName: &s.table, Item: item}
	versionCondition(inv.Version, &put.ConditionExpression, &put.ExpressionAttributeValues)
	if inv.Version > 1 {
		*put.ConditionExpression += " AND " + searchKeysCondition(old, put.ExpressionAttributeValues)
	}
	items := []types.TransactWriteItem{{Put: put}}
	pk := companyPK(inv.CompanyID)
	keys := strings.Fields(joined)
	for _, k := range keys {
		search, err := attributevalue.MarshalMap(searchRecord{PK: pk, SK: searchSK(k, inv.ID), InvoiceID: inv.ID, Keys: joined})
		if err != nil {
			return fmt.Errorf("encode search item: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: search}})
	}
	for _, k := range strings.Fields(old) {
		if !slices.Contains(keys, k) {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pk, searchSK(k, inv.ID))}})
		}
	}
	if len(items) == 1 {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
			ConditionExpression: put.ConditionExpression, ExpressionAttributeValues: put.ExpressionAttributeValues})
		return putInvoiceError(inv, err)
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return putInvoiceError(inv, err)
}

func putInvoiceError(inv *billing.Invoice, err error) error {
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	if errors.As(err, &ccf) || errors.As(err, &tce) {
		return fmt.Errorf("invoice %s version %d: %w", inv.ID, inv.Version, billing.ErrVersionConflict)
	}
	if err != nil {
		return dbError("put invoice", err)
	}
	return nil
}

// ReleaseLease implements billing.Store: an UpdateItem conditional on the
// lease's token only, so writers that don't hold the invoice can't make it
// fail; it moves the version on like every other write.
func (s *Store) ReleaseLease(ctx context.Context, companyID, invoiceID, token string) error {
	past, err := attributevalue.Marshal(time.Time{})
	if err != nil {
		return fmt.Errorf("encode time: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(companyPK(companyID), invoiceSK(invoiceID)),
		UpdateExpression:         aws.String("SET #lease.#until = :past, version = version + :one"),
		ConditionExpression:      aws.String("#lease.#token = :token"),
		ExpressionAttributeNames: map[string]string{"#lease": "lease", "#until": "until", "#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":past": past, ":one": &types.AttributeValueMemberN{Value: "1"},
			":token": &types.AttributeValueMemberS{Value: token},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("release lease of %s: %w", invoiceID, billing.ErrVersionConflict)
	}
	if err != nil {
		return dbError("release lease", err)
	}
	return nil
}

// dbError turns DynamoDB's throttling (after the SDK's own retries) into a
// 503 the client may retry; anything else stays an internal error.
func dbError(op string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable", "TransactionConflictException":
			return &billing.Error{Code: billing.CodeUnavailable, Message: "the database is busy; retry", RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
		}
	}
	// No answer at all (timeouts, dropped connections, retries spent on
	// either): the client may retry.
	var sendErr *smithyhttp.RequestSendError
	var attempts *awsretry.MaxAttemptsError
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &sendErr) || errors.As(err, &attempts) || errors.As(err, &netErr) {
		return &billing.Error{Code: billing.CodeUnavailable, Message: "the database did not answer in time; retry", RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return &billing.Error{Code: billing.CodeUnavailable, Message: "the database is unavailable; retry", RetryAfter: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}
