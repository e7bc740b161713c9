package dynamostore

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/internal/billing"
)

// maxInvoicesRead bounds what one page of a filtered list reads: a filter
// that matches few invoices answers a short page (More true) rather than a
// slow one.
const maxInvoicesRead = 1000

// ListInvoices implements billing.Store: Queries on the company's partition
// of the InvoicesByCreation index, newest first, the filters applied by
// DynamoDB, until the page is full or maxInvoicesRead were read. The
// position is an invoiceOrder, always within the caller's own partition.
func (s *Store) ListInvoices(ctx context.Context, companyID string, f billing.InvoiceFilter, position string, limit int) (*billing.StoredInvoicePage, error) {
	cond := "pk = :pk"
	values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: companyPK(companyID)}}
	if position != "" {
		cond += " AND invoiceOrder < :after"
		values[":after"] = &types.AttributeValueMemberS{Value: position}
	}
	var filters []string
	names := map[string]string{}
	if f.Status != "" {
		filters = append(filters, "#status = :status")
		names["#status"] = "status"
		values[":status"] = &types.AttributeValueMemberS{Value: f.Status}
	}
	if f.HasActiveLink != nil {
		filters = append(filters, "hasActiveLink = :active")
		values[":active"] = &types.AttributeValueMemberBOOL{Value: *f.HasActiveLink}
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(invoicesByCreation),
		KeyConditionExpression: &cond, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(false),
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	page := &billing.StoredInvoicePage{}
	read := 0
	for {
		// One more than the page, to know whether more follow.
		in.Limit = aws.Int32(int32(min(limit+1-len(page.Invoices), maxInvoicesRead-read)))
		if len(filters) > 0 {
			in.Limit = aws.Int32(int32(min(100, maxInvoicesRead-read)))
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, dbError("list invoices", err)
		}
		read += int(out.ScannedCount)
		for _, item := range out.Items {
			var r invoiceRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return nil, fmt.Errorf("decode invoice: %w", err)
			}
			if len(page.Invoices) == limit {
				page.More = true
				return page, nil
			}
			page.Invoices = append(page.Invoices, r.summary())
			page.Position = r.InvoiceOrder
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		if read >= maxInvoicesRead {
			// Read enough for one page: the next one starts where this
			// reading stopped, even if it found fewer than limit.
			if sk, ok := out.LastEvaluatedKey["invoiceOrder"].(*types.AttributeValueMemberS); ok {
				page.Position = sk.Value
			}
			page.More = true
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
