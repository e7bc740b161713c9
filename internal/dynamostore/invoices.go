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
	in, filtered := s.invoiceListQuery(companyID, f, position)
	page := &billing.StoredInvoicePage{}
	pageSize := func(read int) int {
		if filtered {
			return min(100, maxInvoicesRead-read)
		}
		// One more than the page, to know whether more follow.
		return min(limit+1-len(page.Invoices), maxInvoicesRead-read)
	}
	stopped, err := s.readPages(ctx, "list invoices", in, pageSize, func(items []map[string]types.AttributeValue) (bool, error) {
		return addSummaries(items, page, limit)
	})
	if err != nil {
		return nil, err
	}
	if stopped != nil {
		// Read enough for one page: the next one starts where this
		// reading stopped, even if it found fewer than limit.
		if sk, ok := stopped["invoiceOrder"].(*types.AttributeValueMemberS); ok {
			page.Position = sk.Value
		}
		page.More = true
	}
	return page, nil
}

// invoiceListQuery is the list's Query of the InvoicesByCreation index,
// after position, and whether it filters (so pages may come back short).
func (s *Store) invoiceListQuery(companyID string, f billing.InvoiceFilter, position string) (*dynamodb.QueryInput, bool) {
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
	return in, len(filters) > 0
}

// addSummaries adds the invoices of items to page, and reports whether
// the page is full (More set: another one followed).
func addSummaries(items []map[string]types.AttributeValue, page *billing.StoredInvoicePage, limit int) (bool, error) {
	for _, item := range items {
		var r invoiceRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("decode invoice: %w", err)
		}
		if len(page.Invoices) == limit {
			page.More = true
			return true, nil
		}
		page.Invoices = append(page.Invoices, r.summary())
		page.Position = r.InvoiceOrder
	}
	return false, nil
}

// readPages runs the Query page after page, each of pageSize(items read so
// far) items, handing each page's items to take until take says it has
// enough or the Query ends; it returns the key it stopped at when
// maxInvoicesRead items were read first (nil otherwise).
func (s *Store) readPages(ctx context.Context, op string, in *dynamodb.QueryInput, pageSize func(read int) int,
	take func([]map[string]types.AttributeValue) (bool, error),
) (map[string]types.AttributeValue, error) {
	for read := 0; ; {
		in.Limit = aws.Int32(int32(pageSize(read)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, dbError(op, err)
		}
		read += int(out.ScannedCount)
		if enough, err := take(out.Items); err != nil || enough {
			return nil, err
		}
		if out.LastEvaluatedKey == nil {
			return nil, nil
		}
		if read >= maxInvoicesRead {
			return out.LastEvaluatedKey, nil
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
	pageSize := func(read int) int { return min(100, maxInvoicesRead-read) }
	stopped, err := s.readPages(ctx, "search invoices", in, pageSize, func(items []map[string]types.AttributeValue) (bool, error) {
		return s.addSearchHits(ctx, companyID, f, terms, term, items, page, limit)
	})
	if err != nil {
		return nil, err
	}
	if _, sk := keyOf(stopped); sk != "" {
		page.Position = sk
	}
	page.More = page.More || stopped != nil
	return page, nil
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
