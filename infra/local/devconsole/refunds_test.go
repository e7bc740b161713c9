package devconsole

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// TestLocalStripeRefundRoutes: the console's local Stripe routes as the
// issue gives them: a refund held, its status changed (held too), the
// held events delivered in the order named (twice if named twice), and a
// payment in another currency (Adaptive Pricing).
func TestLocalStripeRefundRoutes(t *testing.T) {
	var mu sync.Mutex
	var got []string // the event types the webhook received, in order
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Type string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		got = append(got, ev.Type)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"received":true,"outcome":"applied"}`)
	}))
	defer hook.Close()
	state, _ := localstripe.Open("")
	observeLink(state, "plink_1", "12500")
	h := New(Config{Stripe: &localstripe.Simulator{State: state, WebhookURL: hook.URL, Secret: "whsec_x"}, Company: "clinic-1"})
	post := func(path, body string, want int) map[string]any {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Host = "localhost" // the console answers its own host only
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != want {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return out
	}

	paid := post("/_local/stripe/pay", `{"invoice":"F-1","outcome":"paid","presentmentCurrency":"idr","presentmentAmount":928000000000}`, 200)
	pay := paid["payment"].(map[string]any)
	if pay["presentmentCurrency"] != "idr" || pay["presentmentAmount"].(float64) != 928_000_000_000 {
		t.Fatalf("pay: %v", paid)
	}
	pi := pay["paymentIntent"].(string)
	held := post("/_local/stripe/payments/"+pi+"/refund", `{"amount":464000000000,"hold":true}`, 200)
	refund := held["refund"].(map[string]any)
	if refund["status"] != "succeeded" || refund["amount"].(float64) != 464_000_000_000 || refund["id"] == "" ||
		len(held["deliveries"].([]any)) != 0 || held["held"].([]any)[0].(map[string]any)["type"] != "charge.refunded" {
		t.Fatalf("held refund: %v", held)
	}
	total := held["held"].([]any)[0].(map[string]any)["id"].(string)
	failed := post("/_local/stripe/refunds/"+refund["id"].(string)+"/status", `{"status":"failed","hold":true}`, 200)
	update := failed["held"].([]any)[0].(map[string]any)["id"].(string)
	if failed["refund"].(map[string]any)["status"] != "failed" {
		t.Fatalf("status: %v", failed)
	}
	post("/_local/stripe/refunds/"+refund["id"].(string)+"/status", `{"status":"succeeded"}`, 409)
	post("/_local/stripe/refunds/re_nope/status", `{"status":"failed"}`, 404)
	post("/_local/stripe/refunds/"+refund["id"].(string)+"/status", `{"status":"lost"}`, 409)

	mu.Lock()
	got = nil
	mu.Unlock()
	out := post("/_local/stripe/events/deliver", `{"events":["`+update+`","`+total+`","`+update+`"]}`, 200)
	if ds := out["deliveries"].([]any); len(ds) != 3 || ds[0].(map[string]any)["outcome"] != "applied" {
		t.Fatalf("deliver: %v", out)
	}
	mu.Lock()
	if strings.Join(got, " ") != "charge.refund.updated charge.refunded charge.refund.updated" {
		t.Fatalf("delivered %v", got)
	}
	mu.Unlock()
	post("/_local/stripe/events/deliver", `{"events":["evt_nope"]}`, 404)
	post("/_local/stripe/events/deliver", `{"events":[]}`, 400)
}

// observeLink plays the service's calls to Stripe for one link.
func observeLink(s *localstripe.State, linkID, amount string) {
	acct := http.Header{"Stripe-Account": {"acct_1Clinic"}}
	s.Observe(http.MethodPost, "/v1/prices", acct, url.Values{"unit_amount": {amount}, "currency": {"cad"}, "product_data[name]": {"Facture F-1"}},
		200, []byte(`{"id":"price_1","object":"price"}`))
	s.Observe(http.MethodPost, "/v1/payment_links", acct, url.Values{"line_items[0][price]": {"price_1"},
		"restrictions[completed_sessions][limit]": {"1"}, "metadata[billing_company_id]": {"clinic-1"}, "metadata[invoice_id]": {"F-1"}},
		200, []byte(`{"id":"`+linkID+`","object":"payment_link","url":"http://localhost/pay/`+linkID+`"}`))
}
