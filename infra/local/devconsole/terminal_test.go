package devconsole

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// TestLocalTerminalRoutes: the console's reader routes as the issue gives
// them: a test card presented with Stripe's test helper's form decides the
// payment waiting on the reader (the reader answered as Stripe's helper
// does, with the events delivered); a reader goes offline and back; the
// tester's mistakes and another site's requests are refused.
func TestLocalTerminalRoutes(t *testing.T) {
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Type string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		got = append(got, ev.Type)
		_, _ = io.WriteString(w, `{"received":true,"outcome":"applied"}`)
	}))
	defer hook.Close()
	state, _ := localstripe.Open("")
	sim := &localstripe.Simulator{State: state, WebhookURL: hook.URL, Secret: "whsec_x"}
	h := New(Config{Stripe: sim, Company: "clinic-1"})
	// The service's calls, as the Stripe proxy hands them to the local
	// Stripe: a reader registered, a PaymentIntent sent to it.
	call := func(path string, form url.Values) map[string]any {
		t.Helper()
		status, body, ok := sim.Answer(http.MethodPost, path, http.Header{"Stripe-Account": {"acct_1Clinic"}}, nil, form)
		var out map[string]any
		if err := json.Unmarshal(body, &out); !ok || status != 200 || err != nil {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		return out
	}
	reader := call("/v1/terminal/readers", url.Values{"registration_code": {"simulated-wpe"}, "label": {"Accueil"}})["id"].(string)
	pi := call("/v1/payment_intents", url.Values{"amount": {"5000"}, "currency": {"cad"}, "payment_method_types[0]": {"card_present"},
		"capture_method": {"manual"}})["id"].(string)
	call("/v1/terminal/readers/"+reader+"/process_payment_intent", url.Values{"payment_intent": {pi}})

	do := func(method, path, ctype, body, origin string, want int) map[string]any {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Host = "localhost:3001"
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		if w.Code != want {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		return out
	}
	const form = "application/x-www-form-urlencoded"
	present := "/_local/terminal/readers/" + reader + "/present_payment_method"
	do(http.MethodPost, present, form, "type=card_present&card_present[number]=4242424242424242", "https://evil.example", 403)
	do(http.MethodPost, present, "application/json", `{"type":"card_present"}`, "", 415)
	do(http.MethodPost, present, form, "type=card_present&card_present[number]=4111111111111112", "", 400)
	do(http.MethodPost, present, form, "type=cash", "", 400)
	do(http.MethodPost, "/_local/terminal/readers/tmr_nope/present_payment_method", form, "", "", 404)

	out := do(http.MethodPost, present, form, url.Values{"type": {"card_present"}, "card_present[number]": {"4000000000000002"}}.Encode(), "", 200)
	action := out["action"].(map[string]any)
	if out["object"] != "terminal.reader" || action["status"] != "failed" || action["failure_code"] != "card_declined" ||
		len(out["deliveries"].([]any)) != 2 || strings.Join(got, ",") != "terminal.reader.action_failed,payment_intent.payment_failed" {
		t.Fatalf("decline: %+v, sent %v", out, got)
	}
	do(http.MethodPost, present, form, "", "", 409) // nothing waits for a card now

	status := "/_local/terminal/readers/" + reader + "/status"
	do(http.MethodPost, status, "application/json", `{"status":"asleep"}`, "", 400)
	if out := do(http.MethodPost, status, "application/json", `{"status":"offline"}`, "", 200); out["status"] != "offline" {
		t.Fatalf("%+v", out)
	}
	code, _, _ := sim.Answer(http.MethodPost, "/v1/terminal/readers/"+reader+"/process_payment_intent", http.Header{"Stripe-Account": {"acct_1Clinic"}}, nil, url.Values{"payment_intent": {pi}})
	if code != 400 {
		t.Fatalf("an offline reader took a payment: %d", code)
	}
	do(http.MethodPost, status, "application/json", `{"status":"online"}`, "", 200)
	call("/v1/terminal/readers/"+reader+"/process_payment_intent", url.Values{"payment_intent": {pi}})
	if out := do(http.MethodPost, "/_local/terminal/readers/"+reader+"/cancel", "", "", "", 200); out["action"].(map[string]any)["failure_code"] != "customer_canceled" {
		t.Fatalf("patient cancel: %+v", out)
	}
	list := do(http.MethodGet, "/_local/terminal/readers", "", "", "", 200)["readers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["account"] != "acct_1Clinic" {
		t.Fatalf("%+v", list)
	}
}

// TestTerminalDocNamesTheRoutes: every /_local/terminal route
// docs/terminal.md names is one the console serves (an unknown reader is
// its own JSON 404, not the mux's).
func TestTerminalDocNamesTheRoutes(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/terminal.md")
	if err != nil {
		t.Fatal(err)
	}
	state, _ := localstripe.Open("")
	h := New(Config{Stripe: &localstripe.Simulator{State: state}})
	paths := regexp.MustCompile(`/_local/terminal/[A-Za-z0-9_{}…/]+`).FindAllString(string(doc), -1)
	if len(paths) < 4 {
		t.Fatalf("the doc names %v", paths)
	}
	for _, p := range paths {
		p = regexp.MustCompile(`tmr_…|\{readerId\}`).ReplaceAllString(strings.TrimSuffix(p, "/"), "tmr_doc")
		method, body := http.MethodPost, `{"status":"online"}`
		if p == "/_local/terminal/readers" {
			method = http.MethodGet
		}
		r := httptest.NewRequest(method, p, strings.NewReader(body))
		r.Host = "localhost:3001"
		if strings.HasSuffix(p, "/status") {
			r.Header.Set("Content-Type", "application/json")
		} else {
			r.Body, r.ContentLength = http.NoBody, 0
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s", method, p, w.Code, w.Body)
		}
	}
}
