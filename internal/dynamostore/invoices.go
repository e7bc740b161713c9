package dynamostore

import (
	"context"
	"fmt"
	"slices"
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
	if f.Query != "" {
		return s.searchInvoices(ctx, companyID, f, position, limit)
	}
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

// searchInvoices serves a list with a query: it Queries the search items
// of the query's longest word (begins_with on the company's partition, so
// never a scan nor another tenant's), keeps an invoice once (at its first
// key the word prefixes) when every word matches, reads those invoices and
// applies the list's filters. The position is the last search item's key.
func (s *Store) searchInvoices(ctx context.Context, companyID string, f billing.InvoiceFilter, position string, limit int) (*billing.StoredInvoicePage, error) {
	terms, err := billing.SearchTerms(f.Query)
	if err != nil {
		return nil, err
	}
	term := slices.MaxFunc(terms, func(a, b string) int { return len(a) - len(b) })
	prefix := searchPrefix + term
	if position != "" && !strings.HasPrefix(position, prefix) {
		return nil, billing.Invalid("after", "after must be a cursor returned by this API for the same q")
	}
	pk := companyPK(companyID)
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":prefix": &types.AttributeValueMemberS{Value: prefix},
		},
		ConsistentRead: aws.Bool(true),
	}
	if position != "" {
		in.ExclusiveStartKey = key(pk, position)
	}
	page := &billing.StoredInvoicePage{}
	for read := 0; ; {
		in.Limit = aws.Int32(int32(min(100, maxInvoicesRead-read)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, dbError("search invoices", err)
		}
		read += int(out.ScannedCount)
		if full, err := s.addSearchHits(ctx, companyID, f, terms, term, out.Items, page, limit); err != nil || full {
			return page, err
		}
		if out.LastEvaluatedKey == nil {
			return page, nil
		}
		if read >= maxInvoicesRead {
			if _, sk := keyOf(out.LastEvaluatedKey); sk != "" {
				page.Position = sk
			}
			page.More = true
			return page, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// addSearchHits adds to page the invoices of items that match, in order,
// and reports whether the page is full (More set: another one matched).
func (s *Store) addSearchHits(ctx context.Context, companyID string, f billing.InvoiceFilter, terms []string, term string, items []map[string]types.AttributeValue, page *billing.StoredInvoicePage, limit int) (bool, error) {
	var hits []searchRecord
	var keys []map[string]types.AttributeValue
	for _, item := range items {
		var h searchRecord
		if err := attributevalue.UnmarshalMap(item, &h); err != nil {
			return false, fmt.Errorf("decode search item: %w", err)
		}
		words := strings.Fields(h.Keys)
		first := slices.IndexFunc(words, func(w string) bool { return strings.HasPrefix(w, term) })
		if first < 0 || searchSK(words[first], h.InvoiceID) != h.SK || !billing.MatchesSearch(terms, words) {
			continue
		}
		hits = append(hits, h)
		keys = append(keys, key(companyPK(companyID), invoiceSK(h.InvoiceID)))
	}
	if len(hits) == 0 {
		return false, nil
	}
	found, err := s.batchGet(ctx, "search invoices", keys...)
	if err != nil {
		return false, err
	}
	for i, h := range hits {
		item := found.get(companyPK(companyID), invoiceSK(h.InvoiceID))
		if item == nil {
			continue
		}
		var r invoiceRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("decode invoice: %w", err)
		}
		if (f.Status != "" && r.Status != f.Status) || (f.HasActiveLink != nil && r.HasActiveLink != *f.HasActiveLink) {
			continue
		}
		if len(page.Invoices) == limit {
			page.More = true
			return true, nil
		}
		page.Invoices = append(page.Invoices, r.summary())
		page.Position = hits[i].SK
	}
	return false, nil
}
