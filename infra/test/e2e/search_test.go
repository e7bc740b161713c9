package e2e

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// GET /invoices?q= through the API: number and name prefixes whatever the
// case and accents, paged like the list, renames re-indexed, another
// clinic's invoices never found, and no scan.
func TestSearchInvoices(t *testing.T) {
	t.Parallel()
	tn, other := newTenant(t, "fr"), newTenant(t, "fr")
	put := func(tn *tenant, id, number, name string, status int) {
		body := invoiceBody(number, 1000, 1000, "fr")
		body["patient"].(map[string]any)["name"] = name
		call(t, "PUT", "/invoices/"+id, tn.Staff, body).want(t, status)
	}
	suffix := randomHex(3)
	a, b, c := "srch-a-"+suffix, "srch-b-"+suffix, "srch-c-"+suffix
	put(tn, a, "S-2026-001", "Hélène Tremblay", 201)
	put(tn, b, "S-2026-002", "Helen Hellman", 201)
	put(tn, c, "T-9", "Zoé Côté", 201)
	put(other, "srch-x-"+suffix, "S-2026-001", "Hélène Tremblay", 201)

	search := func(tn *tenant, query string) []string {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			r := call(t, "GET", "/invoices?limit=1&q="+url.QueryEscape(query)+"&after="+after, tn.Staff, nil).want(t, 200)
			for _, inv := range r.list("invoices") {
				got = append(got, inv["id"].(string))
			}
			after = r.str("nextCursor")
			if r.JSON["hasMore"] != true || pages > 10 {
				return got
			}
		}
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"hel", []string{b, a}},
		{"Helene", []string{a}},
		{"trem", []string{a}},
		{"HÉL trem", []string{a}},
		{"s-2026", []string{a, b}},
		{"cote", []string{c}},
		{"nobody", nil},
	} {
		if got := search(tn, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("q %q: %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := search(other, "hel"); len(got) != 1 || got[0] != "srch-x-"+suffix {
		t.Errorf("the other clinic finds %v", got)
	}
	// The answer has the list's shape, and combines with status.
	r := call(t, "GET", "/invoices?q=trem", tn.Staff, nil).want(t, 200)
	if inv := r.list("invoices"); len(inv) != 1 || inv[0]["number"] != "S-2026-001" || inv[0]["status"] != "open" {
		t.Errorf("search answer: %s", r.Raw)
	}
	if r := call(t, "GET", "/invoices?q=trem&status=paid", tn.Staff, nil).want(t, 200); len(r.list("invoices")) != 0 {
		t.Errorf("q with status=paid: %s", r.Raw)
	}
	// A rename re-indexes: the old name no longer finds it.
	put(tn, a, "S-2026-001", "Hélène Bouchard", 200)
	if got := search(tn, "trem"); got != nil {
		t.Errorf("old name still finds %v", got)
	}
	if got := search(tn, "bouch"); !slices.Equal(got, []string{a}) {
		t.Errorf("new name finds %v", got)
	}
	for _, bad := range []string{"q=", "q=" + strings.Repeat("a", 65), "q=a%00b", "q=a%09b"} {
		e := call(t, "GET", "/invoices?"+bad, tn.Staff, nil).wantError(t, 400, "invalid_request")
		if e.str("error", "field") != "q" {
			t.Errorf("%s: %s", bad, e.Raw)
		}
	}
	// A list cursor is no search cursor.
	list := call(t, "GET", "/invoices?limit=1", tn.Staff, nil).want(t, 200)
	call(t, "GET", "/invoices?q=hel&after="+list.str("nextCursor"), tn.Staff, nil).wantError(t, 400, "invalid_request")
	if scans := env.dynamo.Requests(func(q *faultproxy.Request) bool {
		return q.Header.Get("X-Amz-Target") == "DynamoDB_20120810.Scan"
	}); len(scans) != 0 {
		t.Fatalf("%d scans", len(scans))
	}
}
