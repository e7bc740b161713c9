package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

func TestInvoicePutAndGet(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")

	t.Run("create, read, update", func(t *testing.T) {
		id := "inv-" + randomHex(4)
		r := call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-2026-0042", 12500, 12500, "fr")).want(t, 201)
		if r.str("id") != id || r.str("number") != "F-2026-0042" || r.num("total") != 12500 || r.num("balanceDue") != 12500 ||
			r.str("currency") != "cad" || r.str("status") != "open" || r.JSON["paymentLink"] != nil ||
			r.str("patient", "email") != "marie@example.com" || r.str("dueOn") != "2026-12-20" {
			t.Fatalf("created view: %s", r.Raw)
		}
		if len(r.list("links")) != 0 || len(r.list("emails")) != 0 || len(r.list("lines")) != 1 {
			t.Fatalf("lists: %s", r.Raw)
		}
		got := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if string(got.Raw) != string(r.Raw) {
			t.Fatalf("GET %s\nPUT %s", got.Raw, r.Raw)
		}
		// The same body again: 200, nothing changes.
		same := call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-2026-0042", 12500, 12500, "fr")).want(t, 200)
		if same.str("updatedAt") != r.str("updatedAt") {
			t.Fatalf("an identical PUT rewrote the invoice")
		}
		body := invoiceBody("F-2026-0042", 20000, 5000, "en")
		body["lines"] = []any{map[string]any{"description": "Consultation", "amount": 12500}, map[string]any{"description": "Rapport", "amount": 7500}}
		delete(body, "dueOn")
		up := call(t, "PUT", "/invoices/"+id, tn.Staff, body).want(t, 200)
		if up.num("total") != 20000 || up.num("balanceDue") != 5000 || len(up.list("lines")) != 2 || up.JSON["dueOn"] != nil ||
			up.str("patient", "language") != "en" || up.str("createdAt") != r.str("createdAt") {
			t.Fatalf("updated view: %s", up.Raw)
		}
		zero := invoiceBody("F-2026-0042", 12500, 0, "fr")
		if call(t, "PUT", "/invoices/"+id, tn.Staff, zero).want(t, 200).str("status") != "paid" {
			t.Fatal("an invoice with nothing due should show paid")
		}
	})

	t.Run("not found", func(t *testing.T) {
		call(t, "GET", "/invoices/inv-missing", tn.Staff, nil).wantError(t, 404, "not_found")
	})

	t.Run("invalid input changes nothing", func(t *testing.T) {
		id := newInvoice(t, tn)
		before := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		tests := []struct {
			name  string
			edit  func(b map[string]any)
			field string
		}{
			{"missing number", func(b map[string]any) { delete(b, "number") }, "number"},
			{"number too long", func(b map[string]any) { b["number"] = strings.Repeat("9", 65) }, "number"},
			{"upper-case currency", func(b map[string]any) { b["currency"] = "CAD" }, "currency"},
			{"unknown currency", func(b map[string]any) { b["currency"] = "xyz" }, "currency"},
			{"zero total", func(b map[string]any) { b["total"], b["balanceDue"] = 0, 0 }, "total"},
			{"total too large", func(b map[string]any) { b["total"] = 100_000_000 }, "total"},
			{"fractional total", func(b map[string]any) { b["total"] = 125.5 }, "total"},
			{"total as a string", func(b map[string]any) { b["total"] = "12500" }, "total"},
			{"missing balance", func(b map[string]any) { delete(b, "balanceDue") }, "balanceDue"},
			{"negative balance", func(b map[string]any) { b["balanceDue"] = -1 }, "balanceDue"},
			{"balance above total", func(b map[string]any) { b["balanceDue"] = 12501 }, "balanceDue"},
			{"bad issue date", func(b map[string]any) { b["issuedOn"] = "2026-13-01" }, "issuedOn"},
			{"date with a time", func(b map[string]any) { b["issuedOn"] = "2026-11-20T10:00:00Z" }, "issuedOn"},
			{"due before issue", func(b map[string]any) { b["dueOn"] = "2026-11-19" }, "dueOn"},
			{"no patient", func(b map[string]any) { delete(b, "patient") }, "patient"},
			{"patient email", func(b map[string]any) { b["patient"].(map[string]any)["email"] = "marie@" }, "patient.email"},
			{"patient language", func(b map[string]any) { b["patient"].(map[string]any)["language"] = "es" }, "patient.language"},
			{"patient name with CR LF", func(b map[string]any) { b["patient"].(map[string]any)["name"] = "Marie\r\nBcc: x" }, "patient.name"},
			{"no lines", func(b map[string]any) { b["lines"] = []any{} }, "lines"},
			{"lines do not add up", func(b map[string]any) {
				b["lines"] = []any{map[string]any{"description": "Consultation", "amount": 12000}}
			}, "lines"},
			{"line amount zero", func(b map[string]any) {
				b["lines"] = []any{map[string]any{"description": "A", "amount": 0}, map[string]any{"description": "B", "amount": 12500}}
			}, "lines[0].amount"},
			{"line without description", func(b map[string]any) { b["lines"] = []any{map[string]any{"amount": 12500}} }, "lines[0].description"},
			{"too many lines", func(b map[string]any) {
				lines := []any{}
				for range 101 {
					lines = append(lines, map[string]any{"description": "x", "amount": 1})
				}
				b["lines"], b["total"], b["balanceDue"] = lines, 101, 101
			}, "lines"},
			{"unknown field", func(b map[string]any) { b["discount"] = 10 }, "discount"},
			{"unknown nested field", func(b map[string]any) { b["patient"].(map[string]any)["ramq"] = "TREM12345678" }, "patient.ramq"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := invoiceBody("F-2026-0099", 12500, 12500, "fr")
				tc.edit(b)
				r := call(t, "PUT", "/invoices/"+id, tn.Staff, b).wantError(t, 400, "invalid_request")
				if f := r.str("error", "field"); f != tc.field {
					t.Fatalf("field %q, want %q (%s)", f, tc.field, r.Raw)
				}
			})
		}
		t.Run("bad invoice id", func(t *testing.T) {
			for _, bad := range []string{strings.Repeat("a", 65), "inv.1", "inv%20x"} {
				call(t, "PUT", "/invoices/"+bad, tn.Staff, invoiceBody("F-1", 100, 100, "fr")).wantError(t, 400, "invalid_request")
			}
		})
		t.Run("body over 64 KiB", func(t *testing.T) {
			b := invoiceBody("F-2026-0099", 12500, 12500, "fr")
			b["patient"].(map[string]any)["name"] = strings.Repeat("é", 40_000)
			call(t, "PUT", "/invoices/"+id, tn.Staff, b).wantError(t, 413, "payload_too_large")
		})
		after := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if string(after.Raw) != string(before.Raw) {
			t.Fatalf("a bad request changed the invoice:\n%s\n%s", before.Raw, after.Raw)
		}
	})
}

// TestListInvoices: GET /invoices pages a tenant's invoices newest first
// through the index, filters by status and active link, and shows nothing
// of another tenant's.
func TestListInvoices(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	var ids []string // oldest first
	for i := range 7 {
		id := fmt.Sprintf("inv-%d-%s", i, randomHex(3))
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, 1000, 1000, "fr")).want(t, 201)
		ids = append(ids, id)
	}
	// Two with an active link, one of them then paid (no active link).
	call(t, "POST", "/invoices/"+ids[1]+"/payment-link", tn.Staff, nil).want(t, 201)
	paid := linkedInvoice(t, tn, 1000)
	paid.pay(t)
	ids = append(ids, paid.invoiceID)

	list := func(query string) []string {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			r := call(t, "GET", "/invoices?limit=3&after="+after+query, tn.Staff, nil).want(t, 200)
			for _, inv := range r.list("invoices") {
				got = append(got, inv["id"].(string))
			}
			after = r.str("nextCursor")
			if r.JSON["hasMore"] != true || pages > 10 {
				return got
			}
		}
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	if got := list(""); !slices.Equal(got, newestFirst) {
		t.Fatalf("all, newest first: %v, want %v", got, newestFirst)
	}
	if got := list("&hasActiveLink=true"); !slices.Equal(got, []string{ids[1]}) {
		t.Fatalf("with an active link: %v", got)
	}
	if got := list("&status=paid"); !slices.Equal(got, []string{paid.invoiceID}) {
		t.Fatalf("paid: %v", got)
	}
	if got := list("&status=open&hasActiveLink=false"); len(got) != 6 || slices.Contains(got, ids[1]) {
		t.Fatalf("open without a link: %v", got)
	}
	r := call(t, "GET", "/invoices?limit=1", tn.Staff, nil).want(t, 200)
	first := r.list("invoices")[0]
	if first["id"] != paid.invoiceID || first["status"] != "paid" || first["hasActiveLink"] != false || first["etag"] == "" ||
		first["total"] != float64(1000) || first["balanceDue"] != float64(0) || first["netPaidOnline"] != float64(1000) {
		t.Fatalf("summary: %v", first)
	}
	for _, bad := range []string{"status=lost", "hasActiveLink=yes", "limit=0", "limit=101", "after=nope"} {
		call(t, "GET", "/invoices?"+bad, tn.Staff, nil).wantError(t, 400, "invalid_request")
	}
	// Another tenant: none of these, and a cursor of ours shows it nothing.
	other := newTenant(t, "fr")
	if r := call(t, "GET", "/invoices?after="+r.str("nextCursor"), other.Staff, nil).want(t, 200); len(r.list("invoices")) != 0 {
		t.Fatalf("another tenant sees %s", r.Raw)
	}
	// The list comes from the index, not a scan of the table.
	if scans := env.dynamo.Requests(func(q *faultproxy.Request) bool {
		return q.Header.Get("X-Amz-Target") == "DynamoDB_20120810.Scan"
	}); len(scans) != 0 {
		t.Fatalf("%d scans", len(scans))
	}
}
