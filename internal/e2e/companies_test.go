package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/upstreamproxy"
)

func TestBillingCompany(t *testing.T) {
	t.Parallel()

	t.Run("connected account is read at Stripe", func(t *testing.T) {
		tn := bareTenant(t)
		r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, map[string]any{
			"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example",
			"defaultLanguage": "fr", "stripeAccountId": tn.Account,
		}).want(t, 200)
		if r.str("id") != tn.ID || r.str("stripeAccountId") != tn.Account || r.str("name") != "Clinique Saint-Louis" ||
			r.str("replyToEmail") != "facturation@clinique.example" || r.str("defaultLanguage") != "fr" {
			t.Fatalf("record: %s", r.Raw)
		}
		// stripe-mock's account fixture has charges disabled.
		if r.JSON["chargesEnabled"] != false || r.str("country") == "" || r.str("defaultCurrency") == "" {
			t.Fatalf("Stripe fields missing: %s", r.Raw)
		}
		if !strings.Contains(string(r.Raw), `"charges_not_enabled"`) {
			t.Fatalf("no charges_not_enabled warning: %s", r.Raw)
		}
		reads := env.stripe.Requests(func(q *upstreamproxy.Request) bool {
			return q.Method == "GET" && q.Path == "/v1/accounts/"+tn.Account
		})
		if len(reads) != 1 {
			t.Fatalf("%d reads of the account at Stripe, want 1", len(reads))
		}
		got := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if got.str("stripeAccountId") != tn.Account || got.str("createdAt") != r.str("createdAt") {
			t.Fatalf("GET differs from PUT: %s vs %s", got.Raw, r.Raw)
		}
	})

	t.Run("without an account", func(t *testing.T) {
		tn := bareTenant(t)
		for _, body := range []string{
			`{"name":"Clinique A","replyToEmail":"a@clinique.example","defaultLanguage":"en"}`,
			`{"name":"Clinique A","replyToEmail":"a@clinique.example","defaultLanguage":"en","stripeAccountId":null}`,
		} {
			r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, body).want(t, 200)
			if v, ok := r.JSON["stripeAccountId"]; !ok || v != nil {
				t.Fatalf("stripeAccountId should be null: %s", r.Raw)
			}
			if !strings.Contains(string(r.Raw), `"stripe_account_not_connected"`) {
				t.Fatalf("no warning: %s", r.Raw)
			}
		}
	})

	t.Run("disconnecting keeps createdAt", func(t *testing.T) {
		tn := newTenant(t, "fr")
		before := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		after := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"Clinique B","replyToEmail":"b@clinique.example","defaultLanguage":"fr"}`).want(t, 200)
		if after.JSON["stripeAccountId"] != nil || after.str("createdAt") != before.str("createdAt") || after.str("name") != "Clinique B" {
			t.Fatalf("before %s after %s", before.Raw, after.Raw)
		}
	})

	t.Run("invalid input changes nothing", func(t *testing.T) {
		tn := newTenant(t, "fr")
		valid := map[string]any{"name": "Clinique", "replyToEmail": "a@clinique.example", "defaultLanguage": "fr", "stripeAccountId": "acct_123"}
		tests := []struct {
			name  string
			set   string
			value any
			field string
		}{
			{"bad email", "replyToEmail", "not-an-email", "replyToEmail"},
			{"email with a display name", "replyToEmail", "Clinique <a@clinique.example>", "replyToEmail"},
			{"email with a line break", "replyToEmail", "a@clinique.example\r\nBcc: x@evil.example", "replyToEmail"},
			{"language", "defaultLanguage", "de", "defaultLanguage"},
			{"no language", "defaultLanguage", nil, "defaultLanguage"},
			{"account id prefix", "stripeAccountId", "acc_123", "stripeAccountId"},
			{"account id characters", "stripeAccountId", "acct_12-3", "stripeAccountId"},
			{"empty account id", "stripeAccountId", "", "stripeAccountId"},
			{"no name", "name", "", "name"},
			{"name with a line break", "name", "Clinique\nBcc: x", "name"},
			{"unknown field", "color", "blue", "color"},
			{"wrong type", "name", 42, "name"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]any{}
				for k, v := range valid {
					body[k] = v
				}
				if tc.value == nil {
					delete(body, tc.set)
				} else {
					body[tc.set] = tc.value
				}
				r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, body).wantError(t, 400, "invalid_request")
				if f := r.str("error", "field"); f != tc.field {
					t.Fatalf("field %q, want %q", f, tc.field)
				}
			})
		}
		for _, raw := range []string{"", "{", "[]", `{"name":"a"} {}`, "null x"} {
			call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, raw).wantError(t, 400, "invalid_request")
		}
		r := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if r.str("name") != "Clinique Saint-Louis" || r.str("stripeAccountId") != tn.Account {
			t.Fatalf("record changed: %s", r.Raw)
		}
	})

	t.Run("Stripe cannot read the account", func(t *testing.T) {
		tn := newTenant(t, "fr")
		bad := "acct_1Unreadable" + strings.ToUpper(randomHex(3))
		env.stripe.Inject(upstreamproxy.Rule{
			Match:  func(r *upstreamproxy.Request) bool { return r.Path == "/v1/accounts/"+bad },
			Status: http.StatusForbidden,
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_forbidden1"}},
			Body:   `{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The provided key does not have access to account '` + bad + `' (or that account does not exist)."}}`,
		})
		r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, map[string]any{
			"name": "Clinique", "replyToEmail": "a@clinique.example", "defaultLanguage": "fr", "stripeAccountId": bad,
		}).wantError(t, 422, "stripe_account_unavailable")
		if !strings.Contains(r.str("error", "message"), "req_forbidden1") {
			t.Fatalf("Stripe's request id missing: %s", r.Raw)
		}
		got := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if got.str("stripeAccountId") != tn.Account {
			t.Fatalf("record changed: %s", got.Raw)
		}
	})

	t.Run("not found", func(t *testing.T) {
		tn := bareTenant(t)
		call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).wantError(t, 404, "not_found")
	})

	t.Run("another company's record", func(t *testing.T) {
		a, b := newTenant(t, "fr"), newTenant(t, "en")
		call(t, "GET", "/billing-companies/"+a.ID, b.Admin, nil).wantError(t, 404, "not_found")
		call(t, "PUT", "/billing-companies/"+a.ID, b.Admin, `{"name":"Mine now","replyToEmail":"x@evil.example","defaultLanguage":"en"}`).wantError(t, 404, "not_found")
		r := call(t, "GET", "/billing-companies/"+a.ID, a.Admin, nil).want(t, 200)
		if r.str("name") != "Clinique Saint-Louis" {
			t.Fatalf("A's record changed: %s", r.Raw)
		}
	})
}
