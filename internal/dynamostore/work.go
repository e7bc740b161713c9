package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/internal/billing"
)

// duePageSize is the items one Query of the WorkDue index returns (the
// index projects the keys only, so a page is small).
const duePageSize = 250

// DueWork implements billing.Store: a Query per shard of the sparse WorkDue
// index (only items with work carry its keys), the shards in parallel, each
// paginated to its end, for the items whose workAt is at or before now; for
// one company, its items only (a filter on the partition key). Each page
// goes to page as it is read.
func (s *Store) DueWork(ctx context.Context, now time.Time, company string, page func([]billing.WorkItem) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, workShards)
	var wg sync.WaitGroup
	for shard := range workShards {
		wg.Go(func() {
			if errs[shard] = s.dueInShard(ctx, shard, now, company, page); errs[shard] != nil {
				cancel() // one shard's failure stops the others
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// dueInShard reads one shard of the due work, page by page.
func (s *Store) dueInShard(ctx context.Context, shard int, now time.Time, company string, page func([]billing.WorkItem) error) error {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(workDue),
		KeyConditionExpression: aws.String("workShard = :shard AND workAt <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard": &types.AttributeValueMemberS{Value: workShardKey(uint32(shard))},
			":now":   &types.AttributeValueMemberS{Value: workAtKey(now)},
		},
		Limit: aws.Int32(duePageSize),
	}
	if company != "" {
		in.FilterExpression = aws.String("pk = :pk")
		in.ExpressionAttributeValues[":pk"] = &types.AttributeValueMemberS{Value: companyPK(company)}
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query due work: %w", err)
		}
		if items := workItems(out.Items); len(items) > 0 {
			if err := page(items); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// workItems reads the index's items: an invoice's, or a company's record
// (its invoices to be planned again).
func workItems(items []map[string]types.AttributeValue) []billing.WorkItem {
	out := make([]billing.WorkItem, 0, len(items))
	for _, it := range items {
		pk, sk := keyOf(it)
		company, ok := parseCompanyPK(pk)
		if !ok {
			continue
		}
		w := billing.WorkItem{CompanyID: company}
		if id, ok := parseInvoiceSK(sk); ok {
			w.InvoiceID = id
		} else if sk != companySK {
			continue
		}
		out = append(out, w)
	}
	return out
}
