package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// linksMade counts the Payment Links created at Stripe for an invoice.
func linksMade(account, invoiceID string) int {
	n := 0
	for _, c := range stripeCalls(account) {
		if c.Method == "POST" && c.Path == "/v1/payment_links" && c.Form.Get("metadata[invoice_id]") == invoiceID && c.Status == 200 {
			n++
		}
	}
	return n
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")

	t.Run("a retry replays the first answer without doing the work again", func(t *testing.T) {
		id := newInvoice(t, tn)
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
		key := "regen-" + randomHex(8)
		first := call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tn.Staff, nil, "Idempotency-Key", key).want(t, 201)
		again := call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tn.Staff, nil, "Idempotency-Key", key).want(t, 201)
		if string(again.Raw) != string(first.Raw) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay:\n%s\n%s", first.Raw, again.Raw)
		}
		if n := linksMade(tn.Account, id); n != 2 { // the create, and one regenerate
			t.Fatalf("%d links made at Stripe, want 2", n)
		}
		// Without the key, regenerate makes a new link every time.
		other := call(t, "POST", "/invoices/"+id+"/payment-link/regenerate", tn.Staff, nil).want(t, 201)
		if other.str("id") == first.str("id") {
			t.Fatal("regenerate without a key should make a new link")
		}
	})

	t.Run("the same key for another request is refused", func(t *testing.T) {
		id := newInvoice(t, tn)
		key := "put-" + randomHex(8)
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-1", 12500, 12500, "fr"), "Idempotency-Key", key).want(t, 200)
		call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-1", 12500, 5000, "fr"), "Idempotency-Key", key).wantError(t, 422, "idempotency_key_reused")
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).wantError(t, 422, "idempotency_key_reused")
		if v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200); v.num("balanceDue") != 12500 || v.JSON["paymentLink"] != nil {
			t.Fatalf("a refused request changed the invoice: %s", v.Raw)
		}
	})

	t.Run("the key belongs to the tenant", func(t *testing.T) {
		other := newTenant(t, "fr")
		key := "shared-" + randomHex(8)
		a, b := newInvoice(t, tn), newInvoice(t, other)
		call(t, "POST", "/invoices/"+a+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).want(t, 201)
		// The same string from another company is another key.
		call(t, "POST", "/invoices/"+b+"/payment-link", other.Staff, nil, "Idempotency-Key", key).want(t, 201)
	})

	t.Run("a request while the first is running", func(t *testing.T) {
		id := newInvoice(t, tn)
		key := "slow-" + randomHex(8)
		// The first request is held at Stripe until the second has its answer.
		atStripe, release := make(chan struct{}), make(chan struct{})
		env.stripe.Inject(faultproxy.Rule{
			Match: func(r *faultproxy.Request) bool {
				return r.Header.Get("Stripe-Account") == tn.Account && strings.Contains(r.Header.Get("Idempotency-Key"), "/"+id+"/")
			},
			Times: 1, Reached: atStripe, Hold: release,
		})
		var first *response
		var wg sync.WaitGroup
		wg.Go(func() {
			first = call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key)
		})
		select {
		case <-atStripe:
		case <-time.After(2 * time.Minute): // a hang, not a slow machine
			close(release)
			t.Fatal("the first request never reached Stripe")
		}
		second := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).wantError(t, 409, "request_in_progress")
		close(release)
		// The first request is held at Stripe for as long as the test
		// likes; a retry is still worth making within seconds, not at the
		// end of the first invocation's 30 s.
		if n := retryAfterOf(t, second); n > int(billing.TypicalHold/time.Second) {
			t.Fatalf("Retry-After %d: the first request usually ends sooner", n)
		}
		wg.Wait()
		first.want(t, 201)
		third := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).want(t, 201)
		if string(third.Raw) != string(first.Raw) {
			t.Fatal("after the first finished, its answer should be replayed")
		}
	})

	t.Run("a failed first attempt frees the key", func(t *testing.T) {
		id := newInvoice(t, tn)
		key := "fail-" + randomHex(8)
		env.stripe.Inject(faultproxy.Rule{
			Match: func(r *faultproxy.Request) bool {
				return strings.Contains(r.Header.Get("Idempotency-Key"), "/"+id+"/") && r.Path == "/v1/prices"
			},
			Times: 1, Status: http.StatusInternalServerError, Body: `{"error":{"type":"api_error","message":"boom"}}`,
		})
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).wantError(t, 503, "payment_provider_unavailable")
		r := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", key).want(t, 201)
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a 5xx must not be replayed")
		}
	})

	// The PUT routes keep the key's contract too: a 503 frees the key, the
	// retry runs, a repeat is replayed.
	t.Run("a failed PUT frees the key", func(t *testing.T) {
		linked := newInvoice(t, tn)
		call(t, "POST", "/invoices/"+linked+"/payment-link", tn.Staff, nil).want(t, 201)
		rows := []struct {
			name, path, tok string
			body            any
			stripePath      string
		}{
			{"billing company", "/billing-companies/" + tn.ID, platformToken(t), map[string]any{
				"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
			}, "/v1/accounts/" + tn.Account},
			{"invoice with a new balance", "/invoices/" + linked, tn.Staff, invoiceBody("F-"+linked, 12500, 6000, "fr"), "/v1/payment_links/"},
		}
		for _, row := range rows {
			key := "put-fail-" + randomHex(8)
			rule := env.stripe.Inject(faultproxy.Rule{
				Match: func(r *faultproxy.Request) bool {
					return r.Header.Get("Stripe-Account") == tn.Account && strings.HasPrefix(r.Path, row.stripePath) ||
						r.Path == row.stripePath
				},
				Status: http.StatusInternalServerError, Body: `{"error":{"type":"api_error","message":"boom"}}`, Header: jsonHeader,
			})
			call(t, "PUT", row.path, row.tok, row.body, "Idempotency-Key", key).wantError(t, 503, "payment_provider_unavailable")
			env.stripe.Remove(rule)
			first := call(t, "PUT", row.path, row.tok, row.body, "Idempotency-Key", key).want(t, 200)
			again := call(t, "PUT", row.path, row.tok, row.body, "Idempotency-Key", key).want(t, 200)
			if first.Header.Get("Idempotent-Replayed") != "" || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Raw) != string(first.Raw) {
				t.Fatalf("%s: retry %s %s, repeat %s %s", row.name, first.Header.Get("Idempotent-Replayed"), first.Raw, again.Header.Get("Idempotent-Replayed"), again.Raw)
			}
		}
	})

	t.Run("an e-mail is sent once per key", func(t *testing.T) {
		id := newInvoice(t, tn)
		to := "once-" + randomHex(6) + "@example.com"
		key := "mail-" + randomHex(8)
		body := map[string]any{"includePaymentLink": true, "to": to}
		first := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, body, "Idempotency-Key", key).want(t, 202)
		again := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, body, "Idempotency-Key", key).want(t, 202)
		if again.str("messageId") != first.str("messageId") || sesSendsTo(to) != 1 {
			t.Fatalf("sent %d e-mails for one key", sesSendsTo(to))
		}
	})

	t.Run("bad keys", func(t *testing.T) {
		id := newInvoice(t, tn)
		for _, bad := range []string{strings.Repeat("k", 256), "with space", "é"} {
			call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", bad).wantError(t, 400, "invalid_request")
		}
		call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil, "Idempotency-Key", strings.Repeat("k", 255)).want(t, 201)
	})
}
