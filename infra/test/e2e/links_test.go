package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// TestLinkLifecycle walks the staff's path: add a link, add it again, generate
// a new one, remove it, e-mail with a link, and read the history.
func TestLinkLifecycle(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	id := newInvoice(t, tn)
	base := "/invoices/" + id + "/payment-link"

	first := call(t, "POST", base, tn.Staff, nil).want(t, 201)
	if !strings.HasPrefix(first.str("id"), "plink_") || !strings.HasPrefix(first.str("url"), "https://") ||
		first.num("amount") != 12500 || first.str("currency") != "cad" || first.str("status") != "active" ||
		first.str("createdAt") == "" || first.JSON["endedAt"] != nil {
		t.Fatalf("new link: %s", first.Raw)
	}
	calls := stripeCalls(tn.Account)
	if countCalls(calls, "POST", "/v1/prices") != 1 || countCalls(calls, "POST", "/v1/payment_links") != 1 {
		t.Fatalf("want one Price and one Payment Link, got %d calls", len(calls))
	}
	checkLinkRequest(t, tn, id)

	again := call(t, "POST", base, tn.Staff, nil).want(t, 200)
	if again.str("id") != first.str("id") || again.str("url") != first.str("url") {
		t.Fatalf("second create made another link: %s", again.Raw)
	}
	if n := countCalls(stripeCalls(tn.Account), "POST", "/v1/payment_links"); n != 1 {
		t.Fatalf("second create called Stripe: %d payment-link calls", n)
	}

	second := call(t, "POST", base+"/regenerate", tn.Staff, nil).want(t, 201)
	if second.str("id") == first.str("id") || second.str("url") == first.str("url") || second.str("status") != "active" {
		t.Fatalf("regenerate: %s", second.Raw)
	}
	wantDeactivated(t, tn.Account, first.str("id"))

	call(t, "DELETE", base, tn.Staff, nil).want(t, 204)
	wantDeactivated(t, tn.Account, second.str("id"))
	call(t, "DELETE", base, tn.Staff, nil).wantError(t, 409, "no_active_link")

	mail := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"includePaymentLink": true}).want(t, 202)
	third := mail.JSON["paymentLink"].(map[string]any)
	if third["id"] == second.str("id") || third["id"] == first.str("id") || third["status"] != "active" {
		t.Fatalf("e-mail should carry a new link: %s", mail.Raw)
	}

	view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
	links := view.list("links")
	if len(links) != 3 {
		t.Fatalf("history: %s", view.Raw)
	}
	for i, want := range []struct{ id, status string }{
		{first.str("id"), "replaced"}, {second.str("id"), "removed"}, {third["id"].(string), "active"},
	} {
		if links[i]["id"] != want.id || links[i]["status"] != want.status {
			t.Fatalf("history[%d] = %v, want %s %s", i, links[i], want.id, want.status)
		}
		if (want.status == "active") != (links[i]["endedAt"] == nil) {
			t.Fatalf("history[%d] endedAt: %v", i, links[i])
		}
	}
	if view.str("paymentLink", "id") != third["id"] {
		t.Fatalf("paymentLink is not the active link: %s", view.Raw)
	}
	emails := view.list("emails")
	if len(emails) != 1 || emails[0]["messageId"] != mail.str("messageId") || emails[0]["paymentLinkId"] != third["id"] {
		t.Fatalf("emails: %s", view.Raw)
	}

	// Every call on the tenant's behalf was made on its connected account,
	// and every POST carried an idempotency key; no key was used twice.
	keys := map[string]bool{}
	for _, c := range stripeCalls(tn.Account) {
		if c.Method != "POST" {
			continue
		}
		k := c.Header.Get("Idempotency-Key")
		if k == "" || !strings.Contains(k, tn.ID) || !strings.Contains(k, id) {
			t.Fatalf("POST %s without a derived idempotency key: %q", c.Path, k)
		}
		if keys[k] {
			t.Fatalf("idempotency key %q used for two requests", k)
		}
		keys[k] = true
	}
	if len(keys) != 2+2+1+1+2 { // price+link, price+link+deactivate, deactivate, price+link
		t.Fatalf("%d POSTs to Stripe, want 8", len(keys))
	}
}

// checkLinkRequest asserts what the Payment Link and its Price asked Stripe.
func checkLinkRequest(t *testing.T, tn *tenant, invoiceID string) {
	t.Helper()
	var price, link *faultproxy.Request
	for _, c := range stripeCalls(tn.Account) {
		switch {
		case c.Method == "POST" && c.Path == "/v1/prices":
			price = c
		case c.Method == "POST" && c.Path == "/v1/payment_links":
			link = c
		}
	}
	if price == nil || link == nil {
		t.Fatal("no price or no payment link request")
	}
	p := price.Form
	if p.Get("unit_amount") != "12500" || p.Get("currency") != "cad" || p.Get("product_data[name]") != "Facture F-2026-0042" {
		t.Fatalf("price request: %v", p)
	}
	l := link.Form
	checks := map[string]string{
		"line_items[0][quantity]":                           "1",
		"restrictions[completed_sessions][limit]":           "1",
		"metadata[billing_company_id]":                      tn.ID,
		"metadata[invoice_id]":                              invoiceID,
		"metadata[link_generation]":                         "1",
		"payment_intent_data[metadata][invoice_id]":         invoiceID,
		"payment_intent_data[metadata][billing_company_id]": tn.ID,
		"payment_intent_data[metadata][link_generation]":    "1",
	}
	for k, want := range checks {
		if got := l.Get(k); got != want {
			t.Errorf("payment link %s = %q, want %q", k, got, want)
		}
	}
	if l.Get("line_items[0][adjustable_quantity][enabled]") != "" || l.Get("line_items[0][price]") == "" {
		t.Errorf("line item: %v", l)
	}
	if msg := l.Get("inactive_message"); !strings.Contains(msg, "n'est plus actif") {
		t.Errorf("inactive message not in French: %q", msg)
	}
	// Nothing about the patient or the care goes to Stripe.
	for _, r := range []*faultproxy.Request{price, link} {
		body := string(r.Body)
		for _, secret := range []string{"Marie", "Tremblay", "marie%40example.com", "Consultation"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s sent %q to Stripe", r.Path, secret)
			}
		}
	}
}

// wantDeactivated asserts that Stripe was asked to deactivate the link.
func wantDeactivated(t *testing.T, account, linkID string) {
	t.Helper()
	for _, c := range stripeCalls(account) {
		if c.Method == "POST" && c.Path == "/v1/payment_links/"+linkID && c.Form.Get("active") == "false" && c.Status == 200 {
			return
		}
	}
	t.Fatalf("link %s was not deactivated at Stripe", linkID)
}

func TestLinkErrors(t *testing.T) {
	t.Parallel()

	t.Run("nothing due", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := "inv-" + randomHex(4)
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-1", 12500, 0, "fr")).want(t, 201)
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 409, "nothing_due")
		call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tn.Staff, nil).wantError(t, 409, "nothing_due")
		if len(stripeCalls(tn.Account)) != 0 {
			t.Fatal("Stripe was called")
		}
	})

	t.Run("no billing-company record", func(t *testing.T) {
		tn := bareTenant(t)
		id := newInvoice(t, tn)
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 409, "stripe_account_not_connected")
	})

	t.Run("no account on the record", func(t *testing.T) {
		tn := bareTenant(t)
		call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, `{"name":"C","replyToEmail":"c@clinique.example","defaultLanguage":"fr"}`).want(t, 200)
		id := newInvoice(t, tn)
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 409, "stripe_account_not_connected")
		call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tn.Staff, nil).wantError(t, 409, "stripe_account_not_connected")
	})

	t.Run("unknown invoice", func(t *testing.T) {
		tn := newTenant(t, "fr")
		call(t, "POST", "/invoices/inv-nope/payment-link", tn.Staff, nil).wantError(t, 404, "not_found")
		call(t, "POST", "/invoices/inv-nope/payment-link/regenerate", tn.Staff, nil).wantError(t, 404, "not_found")
		call(t, "DELETE", "/invoices/inv-nope/payment-link", tn.Staff, nil).wantError(t, 404, "not_found")
	})

	t.Run("Stripe refuses", func(t *testing.T) {
		tn := newTenant(t, "fr")
		id := newInvoice(t, tn)
		env.stripe.Inject(faultproxy.Rule{
			Match: func(r *faultproxy.Request) bool {
				return r.Header.Get("Stripe-Account") == tn.Account && r.Path == "/v1/prices"
			},
			Times:  1,
			Status: http.StatusBadRequest,
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_refused42"}},
			Body:   `{"error":{"type":"invalid_request_error","code":"parameter_invalid","message":"Currency cad is not supported for this account."}}`,
		})
		r := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 502, "payment_provider_error")
		msg := r.str("error", "message")
		if !strings.Contains(msg, "Currency cad is not supported") || r.str("error", "stripeRequestId") != "req_refused42" {
			t.Fatalf("Stripe's message and request id should be passed on: %s", r.Raw)
		}
		view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if view.JSON["paymentLink"] != nil || len(view.list("links")) != 0 {
			t.Fatalf("a refused link was recorded: %s", view.Raw)
		}
		// The invoice is free again: the next attempt works.
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	})

	t.Run("Stripe unavailable", func(t *testing.T) {
		tn := newTenant(t, "en")
		id := newInvoice(t, tn)
		env.stripe.Inject(faultproxy.Rule{
			Match: func(r *faultproxy.Request) bool {
				return r.Header.Get("Stripe-Account") == tn.Account && r.Path == "/v1/payment_links"
			},
			Times:  1,
			Status: http.StatusTooManyRequests,
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_slowdown"}},
			Body:   `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
		})
		r := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).wantError(t, 503, "payment_provider_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		view := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if view.JSON["paymentLink"] != nil {
			t.Fatalf("link recorded after a failure: %s", view.Raw)
		}
		// The retry finishes the same attempt: Stripe replays the Price
		// (same idempotency key) and only the link is made.
		link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
		if countCalls(stripeCalls(tn.Account), "POST", "/v1/payment_links") != 2 {
			t.Fatal("the retry should have asked for the link again")
		}
		prices := env.stripe.Requests(func(r *faultproxy.Request) bool {
			return r.Header.Get("Stripe-Account") == tn.Account && r.Path == "/v1/prices"
		})
		if len(prices) != 2 || prices[0].Header.Get("Idempotency-Key") != prices[1].Header.Get("Idempotency-Key") {
			t.Fatalf("the retry should reuse the Price's idempotency key")
		}
		view = call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
		if view.str("paymentLink", "id") != link.str("id") || len(view.list("links")) != 1 {
			t.Fatalf("after retry: %s", view.Raw)
		}
	})
}

// TestAmountChangeDeactivatesLink: a link must always ask for the full
// amount due.
func TestAmountChangeDeactivatesLink(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	id := newInvoice(t, tn)
	link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)

	// A change that leaves the amount due alone keeps the link.
	b := invoiceBody("F-2026-0042-A", 12500, 12500, "fr")
	call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 200)
	if v := call(t, "GET", "/invoices/"+id, tn.Staff, nil); v.str("paymentLink", "id") != link.str("id") {
		t.Fatalf("link lost on a non-money change: %s", v.Raw)
	}

	// A partial payment at the desk lowers the balance: the link goes.
	up := call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-2026-0042-A", 12500, 5000, "fr")).want(t, 200)
	if up.JSON["paymentLink"] != nil || up.num("balanceDue") != 5000 {
		t.Fatalf("after the change: %s", up.Raw)
	}
	hist := up.list("links")
	if len(hist) != 1 || hist[0]["status"] != "removed" || hist[0]["reason"] != "amount_changed" || hist[0]["endedAt"] == nil {
		t.Fatalf("history: %s", up.Raw)
	}
	wantDeactivated(t, tn.Account, link.str("id"))

	// A new link asks for the new balance.
	next := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	if next.num("amount") != 5000 {
		t.Fatalf("new link: %s", next.Raw)
	}

	// The currency changes too: the link goes.
	b = invoiceBody("F-2026-0042-A", 12500, 5000, "fr")
	b["currency"] = "usd"
	up = call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 200)
	if up.JSON["paymentLink"] != nil {
		t.Fatalf("link kept after a currency change: %s", up.Raw)
	}
	wantDeactivated(t, tn.Account, next.str("id"))

	// If Stripe can't deactivate the link, the amounts don't change.
	third := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	env.stripe.Inject(faultproxy.Rule{
		Match:  func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_links/"+third.str("id") },
		Times:  1,
		Status: http.StatusServiceUnavailable,
		Body:   `{"error":{"type":"api_error","message":"unavailable"}}`,
	})
	b["balanceDue"] = 1000
	call(t, "PUT", "/invoices/"+id, tn.Staff, b).wantError(t, 503, "payment_provider_unavailable")
	v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
	if v.num("balanceDue") != 5000 {
		t.Fatalf("amounts changed although the link is still active: %s", v.Raw)
	}
	up = call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 200)
	if up.num("balanceDue") != 1000 || up.JSON["paymentLink"] != nil {
		t.Fatalf("retry: %s", up.Raw)
	}
}
