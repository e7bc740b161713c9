package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/internal/billing"
)

// LoadEventState implements billing.Store: one BatchGetItem for the event's
// record, the payment's reference, and (when the company is known) the
// invoice and the company.
func (s *Store) LoadEventState(ctx context.Context, k billing.EventKeys) (*billing.EventState, error) {
	items, err := s.batchGet(ctx, "load event state", eventStateKeys(k)...)
	if err != nil {
		return nil, err
	}
	st := &billing.EventState{}
	if item := items.get(eventPK(k.EventID), eventSK); item != nil {
		var r eventRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		st.Seen = r.event()
	}
	if item := items.get(refPK(k.AccountID, k.PaymentIntentID), refSK); item != nil && k.PaymentIntentID != "" {
		var r refRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode payment reference: %w", err)
		}
		st.Ref = r.ref()
	}
	if item := items.get(accountPK(k.AccountID), accountSK); item != nil && k.AccountOwner {
		var r accountClaimRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode account claim: %w", err)
		}
		if st.Company, err = s.GetCompany(ctx, r.CompanyID); errors.Is(err, billing.ErrNotFound) {
			st.Company = nil
		} else if err != nil {
			return nil, err
		}
	}
	if k.CompanyID == "" {
		return st, nil
	}
	if item := items.get(companyPK(k.CompanyID), companySK); item != nil {
		var r companyRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode company: %w", err)
		}
		st.Company = r.company()
	}
	if item := items.get(companyPK(k.CompanyID), invoiceSK(k.InvoiceID)); item != nil && k.InvoiceID != "" {
		if st.Invoice, err = decodeInvoice(k.CompanyID, item); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// eventStateKeys are the keys of the items LoadEventState reads.
func eventStateKeys(k billing.EventKeys) []map[string]types.AttributeValue {
	keys := []map[string]types.AttributeValue{key(eventPK(k.EventID), eventSK)}
	if k.AccountOwner {
		keys = append(keys, key(accountPK(k.AccountID), accountSK))
	}
	if k.PaymentIntentID != "" {
		keys = append(keys, key(refPK(k.AccountID, k.PaymentIntentID), refSK))
	}
	if k.CompanyID != "" {
		keys = append(keys, key(companyPK(k.CompanyID), companySK))
		if k.InvoiceID != "" {
			keys = append(keys, key(companyPK(k.CompanyID), invoiceSK(k.InvoiceID)))
		}
	}
	return keys
}

// CommitEvent implements billing.Store with one TransactWriteItems. The
// feed entries are written pending, on no item shared by the tenant's
// commits; the next read of the feed numbers them (feed.go).
func (s *Store) CommitEvent(ctx context.Context, c *billing.EventCommit) error {
	items, err := s.commitItems(c)
	if err != nil {
		return err
	}
	if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return commitFailure(c, err)
	}
	return nil
}

// commitItems builds the transaction.
func (s *Store) commitItems(c *billing.EventCommit) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	put := func(v any, cond string, values map[string]types.AttributeValue) error {
		item, err := attributevalue.MarshalMap(v)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		p := &types.Put{TableName: &s.table, Item: item}
		if cond != "" {
			p.ConditionExpression = &cond
			p.ExpressionAttributeValues = values
		}
		items = append(items, types.TransactWriteItem{Put: p})
		return nil
	}
	num := func(n int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
	}

	// 0: the event record, which must be new: a second delivery stops here.
	if err := put(toEventRecord(&c.Event), "attribute_not_exists(pk)", nil); err != nil {
		return nil, err
	}
	if inv := c.Invoice; inv != nil {
		if err := put(toInvoiceRecord(inv), "version = :previous", map[string]types.AttributeValue{":previous": num(inv.Version - 1)}); err != nil {
			return nil, err
		}
	}
	if co := c.Company; co != nil {
		if err := put(toCompanyRecord(co), "version = :previous", map[string]types.AttributeValue{":previous": num(co.Version - 1)}); err != nil {
			return nil, err
		}
	}
	if ref := c.Ref; ref != nil {
		cond, values := "attribute_not_exists(pk)", map[string]types.AttributeValue(nil)
		if ref.Version > 1 {
			cond, values = "version = :previous", map[string]types.AttributeValue{":previous": num(ref.Version - 1)}
		}
		if err := put(toRefRecord(ref, c.Event.ReceivedAt), cond, values); err != nil {
			return nil, err
		}
	}
	for i := range c.Feed {
		r := pendingFeedRecord{feedRecord: toFeedRecord(c.Event.CompanyID, &c.Feed[i])}
		if c.Invoice != nil {
			// The invoice's version orders its entries (feed.go).
			r.InvoiceVersion = c.Invoice.Version
		}
		r.SK = feedPendingSK(r.InvoiceID, r.InvoiceVersion, c.Event.ID, i)
		if err := put(r, "attribute_not_exists(pk)", nil); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// commitFailure classifies a failed commit: a duplicate event, or a
// conflict (a version read is no longer the stored one, or a transaction in
// flight on the same items) the domain decides again from what is stored.
func commitFailure(c *billing.EventCommit, err error) error {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		var conflict *types.TransactionConflictException
		if errors.As(err, &conflict) {
			return fmt.Errorf("commit event %s: %w", c.Event.ID, billing.ErrVersionConflict)
		}
		return dbError("commit event", err)
	}
	conflict := false
	for i, r := range tce.CancellationReasons {
		switch code := aws.ToString(r.Code); {
		case code == "" || code == "None":
		case i == 0 && code == "ConditionalCheckFailed":
			return fmt.Errorf("event %s: %w", c.Event.ID, billing.ErrDuplicateEvent)
		case code == "ConditionalCheckFailed" || code == "TransactionConflict":
			conflict = true
		default:
			return dbError("commit event", err)
		}
	}
	if conflict {
		return fmt.Errorf("commit event %s: %w", c.Event.ID, billing.ErrVersionConflict)
	}
	return dbError("commit event", err)
}
