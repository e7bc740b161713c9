package e2e

import (
	"testing"
)

// TestTenantIsolation: company B's staff can't read, link, e-mail or remove
// company A's invoice; every attempt is a 404 and changes nothing.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	a, b := newTenant(t, "fr"), newTenant(t, "fr")
	id := newInvoice(t, a)
	patient := "patient-" + a.ID + "@example.com"
	body := invoiceBody("F-2026-0042", 12500, 12500, "fr")
	body["patient"].(map[string]any)["email"] = patient
	call(t, "PUT", "/invoices/"+id, a.Staff, body).want(t, 200)
	call(t, "POST", "/invoices/"+id+"/payment-link", a.Staff, nil).want(t, 201)
	before := call(t, "GET", "/invoices/"+id, a.Staff, nil).want(t, 200)
	stripeBefore := len(stripeCalls(a.Account))
	mailBefore := sesSendsTo(patient)

	for _, tok := range []string{b.Staff, b.Admin} {
		call(t, "GET", "/invoices/"+id, tok, nil).wantError(t, 404, "not_found")
		call(t, "POST", "/invoices/"+id+"/payment-link", tok, nil).wantError(t, 404, "not_found")
		call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tok, nil).wantError(t, 404, "not_found")
		call(t, "DELETE", "/invoices/"+id+"/payment-link", tok, nil).wantError(t, 404, "not_found")
		call(t, "POST", "/invoices/"+id+"/emails", tok, map[string]any{"includePaymentLink": true}).wantError(t, 404, "not_found")
	}
	// B writing the same invoice id makes B's own invoice, not A's.
	call(t, "PUT", "/invoices/"+id, b.Staff, invoiceBody("B-1", 999, 999, "fr")).want(t, 201)
	if got := call(t, "GET", "/invoices/"+id, b.Staff, nil).want(t, 200); got.str("number") != "B-1" || got.JSON["paymentLink"] != nil {
		t.Fatalf("B sees: %s", got.Raw)
	}

	after := call(t, "GET", "/invoices/"+id, a.Staff, nil).want(t, 200)
	if string(after.Raw) != string(before.Raw) {
		t.Fatalf("A's invoice changed:\n%s\n%s", before.Raw, after.Raw)
	}
	if n := len(stripeCalls(a.Account)); n != stripeBefore {
		t.Fatalf("B's requests made %d Stripe calls on A's account", n-stripeBefore)
	}
	if n := sesSendsTo(patient); n != mailBefore {
		t.Fatalf("B's requests sent %d e-mails to A's patient", n-mailBefore)
	}
}
