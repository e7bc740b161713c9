package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/internal/billing"
)

// The contract beyond its schemas: what openapi.yaml states of patterns,
// malformed headers, bodies and cursors is what the server does, read from
// the file itself so that the two cannot drift apart.

// contractDoc is openapi.yaml, parsed.
func contractDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// A path id off the pattern the file gives it answers 400 invalid_request
// naming the parameter, on every route that has one; an id on the pattern
// is taken (404 for one that does not exist, never 400).
func TestPathIDsFollowTheirPattern(t *testing.T) {
	tn := newTenant(t, "fr")
	doc := contractDoc(t)
	bodies := map[string]any{
		"PUT /invoices/{invoiceId}":                 invoiceBody("F-1", 100, 100, "fr"),
		"POST /invoices/{invoiceId}/emails":         map[string]any{"includePaymentLink": false},
		"PUT /invoices/{invoiceId}/reminders":       map[string]any{"paused": true},
		"POST /invoices/{invoiceId}/reader-payment": map[string]any{"readerId": "tmr_1"},
		"POST /invoices/{invoiceId}/reader-refund":  map[string]any{"readerId": "tmr_1", "paymentIntentId": "pi_1", "amount": 100},
		"PUT /billing-companies/{companyId}": map[string]any{
			"name": "Clinique", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr",
		},
	}
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value == nil || p.Value.In != "path" {
					continue
				}
				schema := p.Value.Schema.Value
				if schema.Pattern == "" {
					t.Errorf("%s %s: path parameter %s states no pattern", method, path, p.Value.Name)
					continue
				}
				re := regexp.MustCompile(schema.Pattern)
				tok := tn.Staff
				if strings.HasPrefix(path, "/billing-companies/") {
					tok = platformToken(t)
				}
				if strings.HasPrefix(path, "/readers/") {
					tok = tn.Admin // deleting a reader is its clinic's admin's
				}
				for _, bad := range []string{strings.Repeat("a", 65), "a.b", "f%C3%A9", "a%20b"} {
					if re.MatchString(bad) {
						t.Fatalf("%q should break %s", bad, schema.Pattern)
					}
					r := call(t, method, strings.Replace(path, "{"+p.Value.Name+"}", bad, 1), tok, bodies[method+" "+path])
					r.wantError(t, 400, "invalid_request")
					if f := r.str("error", "field"); f != p.Value.Name {
						t.Errorf("%s %s with %s=%q: field %q, want %q", method, path, p.Value.Name, bad, f, p.Value.Name)
					}
				}
				good := "x_" + strings.Repeat("Z9-", 20)
				if !re.MatchString(good) {
					t.Fatalf("%q should match %s", good, schema.Pattern)
				}
				if r := call(t, method, strings.Replace(path, "{"+p.Value.Name+"}", good, 1), tok, bodies[method+" "+path]); r.Status == 400 {
					t.Errorf("%s %s with %s=%q on the pattern: %s", method, path, p.Value.Name, good, r.Raw)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d routes with a path id checked", checked)
	}
}

// Malformed input answers 400 naming what is wrong, never a status that
// means something else: a weak, unquoted or * If-Match is no version that
// changed (412), a body on a route that takes none is not ignored, and a
// missing active link is a state of the invoice (409), not a missing
// invoice (404).
func TestMalformedInputIsNamed(t *testing.T) {
	tn := newTenant(t, "fr")
	id := newInvoice(t, tn)
	put := invoiceBody("F-2026-0042", 12500, 12000, "fr")
	for _, tag := range []string{`W/"v1"`, `v1`, `*`, `"v1`, `"v1", W/"v2"`} {
		r := call(t, "PUT", "/invoices/"+id, tn.Staff, put, "If-Match", tag).wantError(t, 400, "invalid_request")
		if r.str("error", "field") != "If-Match" {
			t.Errorf("If-Match %s: %s", tag, r.Raw)
		}
	}
	call(t, "PUT", "/invoices/"+id, tn.Staff, put, "If-Match", `"v99"`).wantError(t, 412, "precondition_failed")
	call(t, "PUT", "/invoices/"+id, tn.Staff, put, "If-Match", `"v1"`).want(t, 200)

	before := len(stripeCalls(tn.Account))
	for _, r := range []struct{ method, path, tok string }{
		{"POST", "/invoices/" + id + "/payment-link", tn.Staff},
		{"POST", "/invoices/" + id + "/payment-link/regenerate", tn.Staff},
		{"DELETE", "/invoices/" + id + "/payment-link", tn.Staff},
		{"POST", "/billing-companies/" + tn.ID + "/stripe-onboarding", tn.Admin},
	} {
		for _, body := range []string{`{}`, `{"amount":100}`} {
			got := call(t, r.method, r.path, r.tok, body).wantError(t, 400, "invalid_request")
			if got.str("error", "field") != "body" || !strings.Contains(got.str("error", "message"), "no request body") {
				t.Errorf("%s %s with %s: %s", r.method, r.path, body, got.Raw)
			}
		}
	}
	if n := len(stripeCalls(tn.Account)) - before; n != 0 {
		t.Fatalf("a refused request reached Stripe %d times", n)
	}
	call(t, "DELETE", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 409, "no_active_link")
}

// One cursor rule for the list and the feed (openapi.yaml's description):
// nextCursor is always there; on an empty page it is the after given, so
// "" only before anything was read, and after= empty reads from the start.
func TestOneCursorRule(t *testing.T) {
	tn := newTenant(t, "fr")
	for _, route := range []string{"/invoices", "/payments"} {
		first := call(t, "GET", route+"?limit=1", tn.Staff, nil).want(t, 200)
		if first.str("nextCursor") != "" || first.JSON["hasMore"] != false {
			t.Fatalf("%s of a new clinic: %s", route, first.Raw)
		}
		empty := call(t, "GET", route+"?after=&limit=1", tn.Staff, nil).want(t, 200)
		if string(empty.Raw) != string(first.Raw) {
			t.Fatalf("%s?after= differs from no after: %s vs %s", route, empty.Raw, first.Raw)
		}
	}
	newInvoice(t, tn)
	page := call(t, "GET", "/invoices?limit=1", tn.Staff, nil).want(t, 200)
	next := page.str("nextCursor")
	if next == "" || len(page.list("invoices")) != 1 {
		t.Fatalf("a page with an invoice: %s", page.Raw)
	}
	end := call(t, "GET", "/invoices?limit=1&after="+next, tn.Staff, nil).want(t, 200)
	if end.str("nextCursor") != next || end.JSON["hasMore"] != false || len(end.list("invoices")) != 0 {
		t.Fatalf("the page after the last invoice: %s", end.Raw)
	}
	feedAfter := billing.EncodeCursor(1 << 40)
	feed := call(t, "GET", "/payments?after="+feedAfter, tn.Staff, nil).want(t, 200)
	if feed.str("nextCursor") != feedAfter || feed.JSON["hasMore"] != false {
		t.Fatalf("an empty page of the feed: %s", feed.Raw)
	}
}

// retryAfterOf reads an answer's Retry-After and checks its message says
// the same number of seconds.
func retryAfterOf(t *testing.T, r *response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if msg := r.str("error", "message"); !strings.Contains(msg, "retry in "+strconv.Itoa(n)+" second") {
		t.Errorf("Retry-After %d under the message %q", n, msg)
	}
	return n
}
