package dynamostore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// searchIDs pages through a search of company with limit, returning the
// ids in order.
func searchIDs(t *testing.T, s *Store, company string, f billing.InvoiceFilter, limit int) []string {
	t.Helper()
	var ids []string
	position := ""
	for range 50 {
		page, err := s.ListInvoices(context.Background(), company, f, position, limit)
		if err != nil {
			t.Fatalf("search %q: %v", f.Query, err)
		}
		for _, inv := range page.Invoices {
			ids = append(ids, inv.ID)
		}
		if !page.More {
			return ids
		}
		position = page.Position
	}
	t.Fatalf("search %q: no last page", f.Query)
	return nil
}

func searchInvoice(company, id, number, patient string, version int64) *billing.Invoice {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return &billing.Invoice{
		CompanyID: company, ID: id, Number: number, Currency: "cad", Total: 1000, BalanceDue: 1000,
		IssuedOn: "2026-12-01", Patient: billing.Patient{Name: patient, Email: "p@example.com"},
		Lines: []billing.Line{{Description: "Consultation", Amount: 1000}}, Version: version, CreatedAt: now, UpdatedAt: now,
	}
}

func TestSearchInvoices(t *testing.T) {
	s := New(db, table)
	ctx := context.Background()
	co, other := id("search-"), id("search-other-")
	for _, inv := range []*billing.Invoice{
		searchInvoice(co, "a", "F-2026-001", "Hélène Tremblay", 1),
		searchInvoice(co, "b", "F-2026-002", "Helen Hellman", 1),
		searchInvoice(co, "c", "F-2026-010", "Jean-Pierre Côté", 1),
		searchInvoice(co, "d", "G-7", "Zoé Gagnon", 1),
		searchInvoice(other, "x", "F-2026-001", "Hélène Tremblay", 1),
	} {
		if err := s.PutInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"hel", []string{"b", "a"}}, // b once though both its words match
		{"Helene", []string{"a"}},
		{"HÉLÈNE", []string{"a"}},
		{"trem", []string{"a"}},
		{"hel trem", []string{"a"}},
		{"f-2026-00", []string{"a", "b"}},
		{"f-2026", []string{"a", "b", "c"}},
		{"cote", []string{"c"}},
		{"pierre", []string{"c"}},
		{"jean-p", []string{"c"}},
		{"zz", nil},
	} {
		for _, limit := range []int{1, 2, 25} {
			got := searchIDs(t, s, co, billing.InvoiceFilter{Query: tc.q}, limit)
			if !slices.Equal(got, tc.want) {
				t.Errorf("q %q limit %d: got %v, want %v", tc.q, limit, got, tc.want)
			}
		}
	}
	// Another clinic's invoice, same name and number, is never found.
	if got := searchIDs(t, s, other, billing.InvoiceFilter{Query: "hel"}, 10); !slices.Equal(got, []string{"x"}) {
		t.Errorf("other tenant: %v", got)
	}
	// Renaming removes the old keys and adds the new ones.
	renamed := searchInvoice(co, "a", "H-1", "Hélène Bouchard", 2)
	if err := s.PutInvoice(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"trem": nil, "bouch": {"a"}, "f-2026-001": nil, "h-1": {"a"}} {
		if got := searchIDs(t, s, co, billing.InvoiceFilter{Query: q}, 10); !slices.Equal(got, want) {
			t.Errorf("after rename, q %q: got %v, want %v", q, got, want)
		}
	}
	// A stale write is refused and indexes nothing.
	if err := s.PutInvoice(ctx, searchInvoice(co, "a", "Z-9", "Stale Name", 2)); !errors.Is(err, billing.ErrVersionConflict) {
		t.Errorf("stale rename: %v", err)
	}
	if got := searchIDs(t, s, co, billing.InvoiceFilter{Query: "stale"}, 10); got != nil {
		t.Errorf("stale rename indexed: %v", got)
	}
	// Filters combine with the search.
	if got := searchIDs(t, s, co, billing.InvoiceFilter{Query: "hel", Status: billing.StatusPaid}, 10); got != nil {
		t.Errorf("q with status paid: %v", got)
	}
}
