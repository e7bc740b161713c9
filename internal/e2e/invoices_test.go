package e2e

import (
	"strings"
	"testing"
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
