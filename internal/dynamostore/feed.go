package dynamostore

import (
	"cmp"
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

// The tenant's feed: writers append, readers number.
//
// An event's commit writes its feed entries as *pending* items
// (FEED!<invoice>#<invoice version>#<event>#<i>) in the same transaction as
// the event's record and the invoice: no item is shared by the tenant's
// commits, so one clinic's burst commits as fast as many clinics' bursts.
// A read of the feed first *publishes* what is pending: one transaction
// moves the tenant's feed head (FEED, conditional on the value read) from h
// to h+n, puts the entries at FEED#h+1 … FEED#h+n (each new) and deletes
// their pending items (each still there); then it reads the numbered
// entries after its cursor. Only readers contend for the head, and one
// publication numbers a whole batch.
//
// The invariants, and why they hold:
//
//  1. Positions are 1, 2, 3, … without gap or repeat, each given once: the
//     head's condition serializes publications, and a pending item is
//     deleted (conditionally) by the one transaction that numbers it.
//  2. A reader never misses an entry nor sees one twice: it returns only a
//     gap-free run of positions after its cursor, so when it returns p it
//     has seen every position up to p, and an entry numbered later gets a
//     position above the head, above p. (A gap is a publication being
//     applied, which a read-committed Query may see in part: the next read
//     has it.)
//  3. An invoice's entries are numbered in the order of its versions: an
//     event's commit is conditional on the invoice version it read, so it
//     commits after the earlier event's transaction has completed; pending
//     items are read in key order (invoice, then version), so a publication
//     that takes an entry takes every earlier pending one of its invoice,
//     and numbers them first. Between invoices, the entries of one
//     publication follow their RecordedAt: a writer's clock, used only to
//     interleave independent invoices, never for correctness.
//  4. Nothing waits on a writer: a Lambda that dies after its commit has
//     nothing left to do, and a read publishes whatever is pending (up to
//     its page, saying hasMore while more is), so a read sees the entries
//     of every event committed before it began.
//
// publishBatch: one publication is one transaction of at most 100 items,
// two per entry and the head.
const publishBatch = 48

// publishPolicy: a publication that lost to another reader's (or to one
// in flight) reads again and publishes what is still pending.
var publishPolicy = retry.Policy{MaxAttempts: 30, Base: 2 * time.Millisecond, Max: 40 * time.Millisecond, Reserve: time.Second}

// errLostPublication: another publication moved the head or took an entry
// first.
var errLostPublication = errors.New("another publication came first")

// publishFeed numbers the tenant's pending entries, at least want of them
// when there are that many (each publication takes up to publishBatch),
// and says whether some are still pending.
func (s *Store) publishFeed(ctx context.Context, companyID string, want int) (more bool, _ error) {
	published := 0
	for range publishPolicy.Attempts(ctx) {
		head, pending, complete, err := s.pendingFeed(ctx, companyID)
		if err != nil {
			return false, err
		}
		if len(pending) == 0 {
			return false, nil
		}
		if published >= want {
			return true, nil
		}
		switch err := s.publish(ctx, companyID, head, pending); {
		case err == nil:
			published += len(pending)
			if complete {
				return false, nil
			}
		case errors.Is(err, errLostPublication):
		default:
			return false, err
		}
	}
	return true, nil // the next read goes on
}

// pendingFeed reads the tenant's feed head and the first pending entries in
// key order, in one strongly consistent Query; complete says there are no
// more.
func (s *Store) pendingFeed(ctx context.Context, companyID string) (int64, []pendingFeedRecord, bool, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :head AND :end"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: companyPK(companyID)},
			":head": &types.AttributeValueMemberS{Value: feedHeadSK},
			":end":  &types.AttributeValueMemberS{Value: feedPendingEnd},
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(publishBatch + 1),
	})
	if err != nil {
		return 0, nil, false, dbError("read pending feed", err)
	}
	var head int64
	pending := make([]pendingFeedRecord, 0, len(out.Items))
	for _, item := range out.Items {
		if _, sk := keyOf(item); sk == feedHeadSK {
			var r feedHeadRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return 0, nil, false, fmt.Errorf("decode feed head: %w", err)
			}
			head = r.Seq
			continue
		}
		var r pendingFeedRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return 0, nil, false, fmt.Errorf("decode pending feed entry: %w", err)
		}
		pending = append(pending, r)
	}
	return head, pending, out.LastEvaluatedKey == nil, nil
}

// publish numbers pending after head in one transaction.
func (s *Store) publish(ctx context.Context, companyID string, head int64, pending []pendingFeedRecord) error {
	if len(pending) == 0 {
		return nil
	}
	ordered := publicationOrder(pending)
	num := func(n int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
	}
	cond, values := "seq = :head", map[string]types.AttributeValue{":head": num(head), ":next": num(head + int64(len(ordered)))}
	if head == 0 {
		cond = "attribute_not_exists(pk)"
		delete(values, ":head")
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: key(companyPK(companyID), feedHeadSK),
		UpdateExpression: aws.String("SET seq = :next"), ConditionExpression: &cond, ExpressionAttributeValues: values,
	}}}
	for i, p := range ordered {
		r := p.feedRecord
		r.Seq = head + int64(i) + 1
		r.SK = feedSK(r.Seq)
		item, err := attributevalue.MarshalMap(r)
		if err != nil {
			return fmt.Errorf("encode feed entry: %w", err)
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(p.PK, p.SK), ConditionExpression: aws.String("attribute_exists(pk)")}})
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	var conflict *types.TransactionConflictException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &conflict):
		return errLostPublication
	case errors.As(err, &canceled):
		for _, r := range canceled.CancellationReasons {
			if c := aws.ToString(r.Code); c != "" && c != "None" && c != "ConditionalCheckFailed" && c != "TransactionConflict" {
				return dbError("publish feed", err)
			}
		}
		return errLostPublication
	default:
		return dbError("publish feed", err)
	}
}

// publicationOrder orders pending entries for their positions: each
// invoice's in key order (its versions, then the event's own order), the
// invoices interleaved by RecordedAt.
func publicationOrder(pending []pendingFeedRecord) []pendingFeedRecord {
	chains := map[string][]pendingFeedRecord{}
	var invoices []string
	for _, p := range pending { // already in key order
		if _, ok := chains[p.InvoiceID]; !ok {
			invoices = append(invoices, p.InvoiceID)
		}
		chains[p.InvoiceID] = append(chains[p.InvoiceID], p)
	}
	out := make([]pendingFeedRecord, 0, len(pending))
	for len(out) < len(pending) {
		var pick string
		for _, inv := range invoices {
			if len(chains[inv]) == 0 {
				continue
			}
			if pick == "" || earlier(chains[inv][0], chains[pick][0]) {
				pick = inv
			}
		}
		out = append(out, chains[pick][0])
		chains[pick] = chains[pick][1:]
	}
	return out
}

func earlier(a, b pendingFeedRecord) bool {
	if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
		return c < 0
	}
	return cmp.Less(a.SK, b.SK)
}

// ListFeed implements billing.Store: it publishes what is pending (enough
// for a page), then reads the entries after the cursor with one strongly
// consistent Query and returns them up to the first gap (a publication
// being applied).
func (s *Store) ListFeed(ctx context.Context, companyID string, after int64, limit int) ([]billing.FeedEntry, bool, error) {
	pending, err := s.publishFeed(ctx, companyID, limit)
	if err != nil {
		return nil, false, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: companyPK(companyID)},
			":from": &types.AttributeValueMemberS{Value: feedSK(after + 1)},
			":to":   &types.AttributeValueMemberS{Value: feedLastSK},
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(int32(limit + 1)),
	})
	if err != nil {
		return nil, false, dbError("list feed", err)
	}
	entries := make([]billing.FeedEntry, 0, len(out.Items))
	gap := false
	for _, item := range out.Items {
		var r feedRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return nil, false, fmt.Errorf("decode feed entry: %w", err)
		}
		if r.Seq != after+int64(len(entries))+1 {
			gap = true // the rest is being published: the next read has it
			break
		}
		entries = append(entries, r.entry())
	}
	more := pending || gap || len(entries) > limit
	if len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, more, nil
}
