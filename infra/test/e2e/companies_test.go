package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

func TestBillingCompany(t *testing.T) {
	t.Parallel()

	t.Run("the platform connects an account, read at Stripe", func(t *testing.T) {
		tn := bareTenant(t)
		r := call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
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
		reads := env.stripe.Requests(func(q *faultproxy.Request) bool {
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

	t.Run("an admin's edit keeps the account; the platform disconnects it", func(t *testing.T) {
		tn := newTenant(t, "fr")
		before := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		after := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"Clinique B","replyToEmail":"b@clinique.example","defaultLanguage":"fr"}`).want(t, 200)
		if after.str("stripeAccountId") != tn.Account || after.str("createdAt") != before.str("createdAt") || after.str("name") != "Clinique B" {
			t.Fatalf("before %s after %s", before.Raw, after.Raw)
		}
		off := call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), `{"name":"Clinique B","replyToEmail":"b@clinique.example","defaultLanguage":"fr","stripeAccountId":null}`).want(t, 200)
		if off.JSON["stripeAccountId"] != nil || off.str("createdAt") != before.str("createdAt") {
			t.Fatalf("disconnected: %s", off.Raw)
		}
		// The account is free again: another company may have it.
		other := bareTenant(t)
		call(t, "PUT", "/billing-companies/"+other.ID, platformToken(t), map[string]any{
			"name": "Clinique C", "replyToEmail": "c@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
		}).want(t, 200)
	})

	t.Run("only the platform connects an account", func(t *testing.T) {
		a, b := newTenant(t, "fr"), newTenant(t, "fr")
		body := func(account any) map[string]any {
			return map[string]any{"name": "Clinique B", "replyToEmail": "b@clinique.example", "defaultLanguage": "fr", "stripeAccountId": account}
		}
		// Clinic B's admin tries to take clinic A's account (so B's
		// patients would pay into A's), or any other, or to disconnect.
		call(t, "PUT", "/billing-companies/"+b.ID, b.Admin, body(a.Account)).wantError(t, 403, "forbidden")
		call(t, "PUT", "/billing-companies/"+b.ID, b.Admin, body("acct_1Whatever")).wantError(t, 403, "forbidden")
		call(t, "PUT", "/billing-companies/"+b.ID, b.Admin, body(nil)).wantError(t, 403, "forbidden")
		// Sending its own account back is fine.
		call(t, "PUT", "/billing-companies/"+b.ID, b.Admin, body(b.Account)).want(t, 200)
		// The platform can't give A's account to B either, and the answer
		// says nothing of A.
		readsOfA := func() int {
			return len(env.stripe.Requests(func(q *faultproxy.Request) bool { return q.Path == "/v1/accounts/"+a.Account }))
		}
		before := readsOfA()
		r := call(t, "PUT", "/billing-companies/"+b.ID, platformToken(t), body(a.Account)).wantError(t, 409, "stripe_account_in_use")
		if strings.Contains(string(r.Raw), a.ID) || strings.Contains(string(r.Raw), "Saint-Louis") {
			t.Fatalf("the answer tells about the other company: %s", r.Raw)
		}
		if readsOfA() != before {
			t.Fatal("Stripe was asked about an account in use")
		}
		got := call(t, "GET", "/billing-companies/"+b.ID, b.Admin, nil).want(t, 200)
		if got.str("stripeAccountId") != b.Account {
			t.Fatalf("B changed: %s", got.Raw)
		}
		// B's links are still made on B's own account.
		l := linkedInvoice(t, b, 1000)
		if calls := stripeCalls(a.Account); countCalls(calls, "POST", "/v1/payment_links") != 0 {
			t.Fatalf("a link for B was made on A's account (%s)", l.linkID)
		}
	})

	t.Run("two platform requests race for one account", func(t *testing.T) {
		account := "acct_1Race" + strings.ToUpper(randomHex(4))
		ids := []*tenant{bareTenant(t), bareTenant(t), bareTenant(t), bareTenant(t)}
		codes := make([]int, len(ids))
		var wg sync.WaitGroup
		for i, tn := range ids {
			wg.Go(func() {
				codes[i] = call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
					"name": "Clinique", "replyToEmail": "a@clinique.example", "defaultLanguage": "fr", "stripeAccountId": account,
				}).Status
			})
		}
		wg.Wait()
		won := 0
		for _, c := range codes {
			if c == 200 {
				won++
			} else if c != 409 {
				t.Fatalf("status %d", c)
			}
		}
		if won != 1 {
			t.Fatalf("%d companies hold the account: %v", won, codes)
		}
	})

	t.Run("the platform reads and edits any company; others' tokens don't", func(t *testing.T) {
		tn := newTenant(t, "fr")
		call(t, "GET", "/billing-companies/"+tn.ID, platformToken(t), nil).want(t, 200)
		// A platform token names no tenant: it opens no invoice.
		call(t, "GET", "/invoices/anything", platformToken(t), nil).wantError(t, 403, "forbidden")
		call(t, "GET", "/payments", platformToken(t), nil).wantError(t, 403, "forbidden")
	})

	t.Run("onboarding from the app", func(t *testing.T) {
		tn := bareTenant(t)
		call(t, "POST", "/billing-companies/"+tn.ID+"/stripe-onboarding", tn.Admin, nil).wantError(t, 409, "billing_company_not_configured")
		call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"Clinique D","replyToEmail":"d@clinique.example","defaultLanguage":"fr"}`).want(t, 200)
		r := call(t, "POST", "/billing-companies/"+tn.ID+"/stripe-onboarding", tn.Admin, nil).want(t, 201)
		if r.str("url") == "" || r.str("expiresAt") == "" {
			t.Fatalf("onboarding: %s", r.Raw)
		}
		c := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		account := c.str("stripeAccountId")
		if account == "" {
			t.Fatalf("no account bound: %s", c.Raw)
		}
		// The account was created on the platform (no Stripe-Account
		// header) with the company in its metadata, and so was the link.
		creates := env.stripe.Requests(func(q *faultproxy.Request) bool {
			return q.Method == "POST" && q.Path == "/v1/accounts" && q.Form.Get("metadata[billing_company_id]") == tn.ID
		})
		links := env.stripe.Requests(func(q *faultproxy.Request) bool {
			return q.Method == "POST" && q.Path == "/v1/account_links" && q.Form.Get("account") == account
		})
		if len(creates) != 1 || len(links) != 1 || creates[0].Header.Get("Stripe-Account") != "" || links[0].Header.Get("Stripe-Account") != "" ||
			links[0].Form.Get("type") != "account_onboarding" || links[0].Form.Get("refresh_url") == "" || links[0].Form.Get("return_url") == "" {
			t.Fatalf("Stripe calls: %d creations, %d links", len(creates), len(links))
		}
		// Again: a fresh link to the same account.
		call(t, "POST", "/billing-companies/"+tn.ID+"/stripe-onboarding", tn.Admin, nil).want(t, 201)
		if again := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200); again.str("stripeAccountId") != account {
			t.Fatalf("a second account: %s", again.Raw)
		}
		// No one else can connect it.
		other := bareTenant(t)
		call(t, "PUT", "/billing-companies/"+other.ID, platformToken(t), map[string]any{
			"name": "Clinique E", "replyToEmail": "e@clinique.example", "defaultLanguage": "fr", "stripeAccountId": account,
		}).wantError(t, 409, "stripe_account_in_use")
		// Staff and other clinics' admins can't start it.
		call(t, "POST", "/billing-companies/"+tn.ID+"/stripe-onboarding", tn.Staff, nil).wantError(t, 403, "forbidden")
		call(t, "POST", "/billing-companies/"+tn.ID+"/stripe-onboarding", other.Admin, nil).wantError(t, 404, "not_found")
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

	t.Run("account events keep the status current", func(t *testing.T) {
		tn := newTenant(t, "fr")
		l := linkedInvoice(t, tn, 5000)
		acct := stripeFixture(t, "/v1/accounts/"+tn.Account)
		acct["id"], acct["charges_enabled"], acct["details_submitted"] = tn.Account, true, true
		acct["requirements"] = map[string]any{"currently_due": []any{}, "past_due": []any{}, "eventually_due": []any{}}
		r := deliver(t, stripeEvent("evt_"+randomHex(10), "account.updated", tn.Account, acct)).want(t, 200)
		wantApplied(t, r)
		c := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if c.JSON["chargesEnabled"] != true || c.JSON["detailsSubmitted"] != true || len(c.JSON["warnings"].([]any)) != 0 {
			t.Fatalf("after account.updated: %s", c.Raw)
		}
		// Another account's news changes nothing here.
		nobody := stripeFixture(t, "/v1/accounts/acct_1Nobody")
		nobody["id"] = "acct_1Nobody"
		if r := deliver(t, stripeEvent("evt_"+randomHex(10), "account.updated", "acct_1Nobody", nobody)).want(t, 200); r.str("outcome") != "ignored" {
			t.Fatalf("another account's event: %s", r.Raw)
		}
		app := map[string]any{"id": "ca_" + randomHex(8), "object": "application", "name": "ClinicPay"}
		wantApplied(t, deliver(t, stripeEvent("evt_"+randomHex(10), "account.application.deauthorized", tn.Account, app)).want(t, 200))
		c = call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if !strings.Contains(string(c.Raw), `"stripe_account_deauthorized"`) {
			t.Fatalf("after deauthorization: %s", c.Raw)
		}
		v := l.view(t)
		if v.str("paymentLinkBlocked", "code") != "stripe_account_not_connected" {
			t.Fatalf("the invoice does not say why: %s", v.Raw)
		}
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link/regenerate", tn.Staff, nil).wantError(t, 409, "stripe_account_not_connected")
		// The platform connects it again (Stripe can read it): links again.
		call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
			"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
		}).want(t, 200)
		call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link/regenerate", tn.Staff, nil).want(t, 201)
	})

	t.Run("bodies are read strictly", func(t *testing.T) {
		tn := newTenant(t, "fr")
		for _, tc := range []struct {
			name, body, contentType string
			status                  int
			code, field             string
		}{
			{"text/xml", `{"name":"X","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "text/xml", 415, "unsupported_media_type", ""},
			{"no content type", `{"name":"X","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "-", 415, "unsupported_media_type", ""},
			{"wrong-case key", `{"Name":"X","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "Name"},
			{"a key twice", `{"name":"X","name":"Y","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "name"},
			{"invalid UTF-8", "{\"name\":\"Clinique \xff\",\"replyToEmail\":\"x@clinique.example\",\"defaultLanguage\":\"fr\"}", "", 400, "invalid_request", "body"},
			{"a lone surrogate", `{"name":"Clinique \udc00","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "name"},
			{"a right-to-left override", `{"name":"Clinique \u202eeuqinilC","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "name"},
			{"a zero-width space", `{"name":"Clini\u200bque","replyToEmail":"x@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "name"},
			{"a non-ASCII local part", `{"name":"Clinique","replyToEmail":"émilie@clinique.example","defaultLanguage":"fr"}`, "", 400, "invalid_request", "replyToEmail"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				hdr := []string{}
				if tc.contentType != "" {
					hdr = []string{"Content-Type", strings.TrimPrefix(tc.contentType, "-")}
				}
				r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, []byte(tc.body), hdr...).wantError(t, tc.status, tc.code)
				if r.str("error", "field") != tc.field {
					t.Fatalf("field %q, want %q", r.str("error", "field"), tc.field)
				}
			})
		}
		// An internationalized domain is kept in punycode, as it is sent.
		r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"Clinique","replyToEmail":"facturation@clinique-é.ca","defaultLanguage":"fr"}`).want(t, 200)
		if r.str("replyToEmail") != "facturation@xn--clinique--j4a.ca" {
			t.Fatalf("reply-to %s", r.str("replyToEmail"))
		}
	})

	t.Run("Stripe cannot read the account", func(t *testing.T) {
		tn := newTenant(t, "fr")
		bad := "acct_1Unreadable" + strings.ToUpper(randomHex(3))
		env.stripe.Inject(faultproxy.Rule{
			Match:  func(r *faultproxy.Request) bool { return r.Path == "/v1/accounts/"+bad },
			Status: http.StatusForbidden,
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_forbidden1"}},
			Body:   `{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The provided key does not have access to account '` + bad + `' (or that account does not exist)."}}`,
		})
		r := call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
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
