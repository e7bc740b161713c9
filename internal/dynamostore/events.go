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

// LoadEventState implements billing.Store: one BatchGetItem for the event's
// record, the payment's reference, and (when the company is known) the
// invoice, the company and the company's feed head.
func (s *Store) LoadEventState(ctx context.Context, k billing.EventKeys) (*billing.EventState, error) {
	keys := []map[string]types.AttributeValue{key(eventPK(k.EventID), eventSK)}
	if k.AccountOwner {
		keys = append(keys, key(accountPK(k.AccountID), accountSK))
	}
	if k.PaymentIntentID != "" {
		keys = append(keys, key(refPK(k.AccountID, k.PaymentIntentID), refSK))
	}
	if k.CompanyID != "" {
		keys = append(keys, key(companyPK(k.CompanyID), companySK), key(companyPK(k.CompanyID), feedHeadSK))
		if k.InvoiceID != "" {
			keys = append(keys, key(companyPK(k.CompanyID), invoiceSK(k.InvoiceID)))
		}
	}
	items, err := s.batchGet(ctx, "load event state", keys...)
	if err != nil {
		return nil, err
	}
	st := &billing.EventState{}
	if item := items[eventPK(k.EventID)+"|"+eventSK]; item != nil {
		var r eventRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		st.Seen = r.event()
	}
	if item := items[refPK(k.AccountID, k.PaymentIntentID)+"|"+refSK]; item != nil && k.PaymentIntentID != "" {
		var r refRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode payment reference: %w", err)
		}
		st.Ref = r.ref()
	}
	if item := items[accountPK(k.AccountID)+"|"+accountSK]; item != nil && k.AccountOwner {
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
	if item := items[companyPK(k.CompanyID)+"|"+companySK]; item != nil {
		var r companyRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode company: %w", err)
		}
		st.Company = r.company()
	}
	if item := items[companyPK(k.CompanyID)+"|"+feedHeadSK]; item != nil {
		var r feedHeadRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, fmt.Errorf("decode feed head: %w", err)
		}
		st.FeedHead = r.Seq
	}
	if item := items[companyPK(k.CompanyID)+"|"+invoiceSK(k.InvoiceID)]; item != nil && k.InvoiceID != "" {
		if st.Invoice, err = decodeInvoice(k.CompanyID, item); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// CommitEvent implements billing.Store with one TransactWriteItems.
// The feed head's condition makes concurrent commits for one company take
// turns, so entries become visible in sequence order: a reader paging
// through the feed never skips one that commits later with a lower number.
// When only the head moved (another event of the company committed first),
// the entries are renumbered and the write tried again here: what they say
// does not depend on their number.
func (s *Store) CommitEvent(ctx context.Context, c *billing.EventCommit) error {
	var lost error // the last commit's failure, when the head moved under it
	for range feedHeadPolicy.Attempts(ctx) {
		items, headIndex, err := s.commitItems(c)
		if err != nil {
			return err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		again, err := s.commitFailure(c, err, headIndex)
		if !again {
			return err
		}
		lost = err
		if c.FeedHead, err = s.feedHead(ctx, c.Event.CompanyID); err != nil {
			return err
		}
	}
	return lost
}

// feedHeadPolicy: a commit that lost only the race for the tenant's feed
// head (another event of the company committed first) is renumbered and
// written again.
var feedHeadPolicy = retry.Policy{MaxAttempts: 21, Base: 2 * time.Millisecond, Max: 50 * time.Millisecond, Reserve: time.Second}

// commitItems builds the transaction; headIndex is the feed head's place in
// it (-1 without feed entries).
func (s *Store) commitItems(c *billing.EventCommit) ([]types.TransactWriteItem, int, error) {
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
		return nil, -1, err
	}
	if inv := c.Invoice; inv != nil {
		if err := put(toInvoiceRecord(inv), "version = :previous", map[string]types.AttributeValue{":previous": num(inv.Version - 1)}); err != nil {
			return nil, -1, err
		}
	}
	if co := c.Company; co != nil {
		if err := put(toCompanyRecord(co), "version = :previous", map[string]types.AttributeValue{":previous": num(co.Version - 1)}); err != nil {
			return nil, -1, err
		}
	}
	if ref := c.Ref; ref != nil {
		cond, values := "attribute_not_exists(pk)", map[string]types.AttributeValue(nil)
		if ref.Version > 1 {
			cond, values = "version = :previous", map[string]types.AttributeValue{":previous": num(ref.Version - 1)}
		}
		if err := put(toRefRecord(ref, c.Event.ReceivedAt), cond, values); err != nil {
			return nil, -1, err
		}
	}
	headIndex := -1
	if len(c.Feed) > 0 {
		company := c.Event.CompanyID
		cond := "seq = :head"
		values := map[string]types.AttributeValue{":next": num(c.FeedHead + int64(len(c.Feed)))}
		if c.FeedHead == 0 {
			cond = "attribute_not_exists(pk)"
		} else {
			values[":head"] = num(c.FeedHead)
		}
		headIndex = len(items)
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(companyPK(company), feedHeadSK),
			UpdateExpression: aws.String("SET seq = :next"), ConditionExpression: &cond, ExpressionAttributeValues: values,
		}})
		for i := range c.Feed {
			c.Feed[i].Seq = c.FeedHead + int64(i) + 1
			if err := put(toFeedRecord(company, &c.Feed[i]), "", nil); err != nil {
				return nil, -1, err
			}
		}
	}
	return items, headIndex, nil
}

// commitFailure classifies a failed commit: a duplicate event, a conflict
// the domain must re-decide, or a conflict on the feed head alone (or a
// transaction in flight on the same items) that is worth retrying as is.
func (s *Store) commitFailure(c *billing.EventCommit, err error, headIndex int) (retry bool, _ error) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		var conflict *types.TransactionConflictException
		if errors.As(err, &conflict) {
			return true, fmt.Errorf("commit event %s: %w", c.Event.ID, billing.ErrVersionConflict)
		}
		return false, dbError("commit event", err)
	}
	onlyHead, inFlight := false, false
	for i, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		switch {
		case code == "" || code == "None":
		case i == 0 && code == "ConditionalCheckFailed":
			return false, fmt.Errorf("event %s: %w", c.Event.ID, billing.ErrDuplicateEvent)
		case i == headIndex && code == "ConditionalCheckFailed":
			onlyHead = true
		case code == "TransactionConflict":
			inFlight = true
		case code == "ConditionalCheckFailed":
			return false, fmt.Errorf("commit event %s: %w", c.Event.ID, billing.ErrVersionConflict)
		default:
			return false, dbError("commit event", err)
		}
	}
	if onlyHead || inFlight {
		return true, fmt.Errorf("commit event %s: %w", c.Event.ID, billing.ErrVersionConflict)
	}
	return false, dbError("commit event", err)
}

// feedHead reads a company's last feed sequence number.
func (s *Store) feedHead(ctx context.Context, companyID string) (int64, error) {
	if companyID == "" {
		return 0, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(companyPK(companyID), feedHeadSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, dbError("read feed head", err)
	}
	var r feedHeadRecord
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
			return 0, fmt.Errorf("decode feed head: %w", err)
		}
	}
	return r.Seq, nil
}

// ListFeed implements billing.Store with one strongly consistent Query.
func (s *Store) ListFeed(ctx context.Context, companyID string, after int64, limit int) ([]billing.FeedEntry, bool, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: companyPK(companyID)},
			":from": &types.AttributeValueMemberS{Value: feedSK(after + 1)},
			":to":   &types.AttributeValueMemberS{Value: feedPrefix + "9999999999999999999"},
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(int32(limit + 1)),
	})
	if err != nil {
		return nil, false, dbError("list feed", err)
	}
	more := len(out.Items) > limit
	if more {
		out.Items = out.Items[:limit]
	}
	entries := make([]billing.FeedEntry, 0, len(out.Items))
	for _, item := range out.Items {
		var r feedRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, false, fmt.Errorf("decode feed entry: %w", err)
		}
		entries = append(entries, r.entry())
	}
	return entries, more, nil
}
