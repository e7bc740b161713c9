package dynamostore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/internal/billing"
)

// DueWork implements billing.Store: a Query per shard of the sparse WorkDue
// index (only items with work carry its keys), each for the items whose
// workAt is at or before now, the earliest first; for one company, its
// items only (a filter on the partition key: the reads go on until limit
// of its items are found or the due work ends).
func (s *Store) DueWork(ctx context.Context, now time.Time, limit int, company string) ([]billing.WorkItem, error) {
	type due struct {
		at   string
		item billing.WorkItem
	}
	var all []due
	for shard := range workShards {
		var start map[string]types.AttributeValue
		found := 0
		for {
			in := &dynamodb.QueryInput{
				TableName: &s.table, IndexName: aws.String(workDue),
				KeyConditionExpression: aws.String("workShard = :shard AND workAt <= :now"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":shard": &types.AttributeValueMemberS{Value: fmt.Sprintf("W%d", shard)},
					":now":   &types.AttributeValueMemberS{Value: workAtKey(now)},
				},
				Limit: aws.Int32(int32(limit)), ExclusiveStartKey: start,
			}
			if company != "" {
				in.FilterExpression = aws.String("pk = :pk")
				in.ExpressionAttributeValues[":pk"] = &types.AttributeValueMemberS{Value: companyPK(company)}
			}
			out, err := s.db.Query(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("query due work: %w", err)
			}
			for _, it := range out.Items {
				pk, _ := it["pk"].(*types.AttributeValueMemberS)
				sk, _ := it["sk"].(*types.AttributeValueMemberS)
				at, _ := it["workAt"].(*types.AttributeValueMemberS)
				if pk == nil || sk == nil || at == nil || !strings.HasPrefix(pk.Value, "CO#") {
					continue
				}
				w := billing.WorkItem{CompanyID: strings.TrimPrefix(pk.Value, "CO#")}
				if id, ok := strings.CutPrefix(sk.Value, invoicePrefix); ok {
					w.InvoiceID = id
				} else if sk.Value != companySK {
					continue
				}
				all = append(all, due{at.Value, w})
			}
			start, found = out.LastEvaluatedKey, found+len(out.Items)
			if start == nil || found >= limit {
				break
			}
		}
	}
	// The earliest work first, across shards.
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	out := make([]billing.WorkItem, 0, min(len(all), limit))
	for _, d := range all[:min(len(all), limit)] {
		out = append(out, d.item)
	}
	return out, nil
}
