package devconsole

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// The console hands its admin token, and moves money, only for a request
// naming the console as Host (DNS rebinding names another) from its own
// page or a tool that names no origin.
func TestConsoleAnswersItsOwnHostAndOriginOnly(t *testing.T) {
	state, _ := localstripe.Open("")
	tokens := 0
	cfg := Config{Company: "clinic-demo", Stripe: &localstripe.Simulator{State: state},
		Hosts: []string{"localhost:3001", "127.0.0.1:3001", "[::1]:3001"},
		Token: func(string) (string, time.Time, error) { tokens++; return "tok", time.Now().Add(time.Hour), nil }}
	h := New(cfg)
	tests := []struct {
		name, method, path, host string
		header                   map[string]string
		status                   int
	}{
		{"the console's page", "GET", "/_local/session", "localhost:3001", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"curl", "GET", "/_local/session", "127.0.0.1:3001", nil, 200},
		{"IPv6 loopback", "GET", "/_local/session", "[::1]:3001", nil, 200},
		{"a typed address", "GET", "/_local/session", "localhost:3001", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"its own page posting", "POST", "/_local/stripe/pay", "localhost:3001", map[string]string{"Origin": "http://localhost:3001", "Sec-Fetch-Site": "same-origin"}, 400},
		{"a rebound name", "GET", "/_local/session", "evil.example:3001", nil, 403},
		{"a rebound name, the page", "GET", "/", "evil.example:3001", nil, 403},
		{"a rebound name, a payment page", "GET", "/pay/plink_1", "evil.example:3001", nil, 403},
		{"another port", "GET", "/_local/session", "localhost:8080", nil, 403},
		{"no port", "GET", "/_local/session", "localhost", nil, 403},
		{"a LAN address", "GET", "/_local/session", "192.168.1.5:3001", nil, 403},
		{"another site's page", "GET", "/_local/session", "localhost:3001", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"another port's page", "GET", "/_local/session", "localhost:3001", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:8080"}, 403},
		{"an Origin alone", "GET", "/_local/session", "localhost:3001", map[string]string{"Origin": "http://127.0.0.1:3001"}, 403},
		{"another site posting", "POST", "/_local/stripe/pay", "localhost:3001", map[string]string{"Origin": "https://evil.example"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tokens
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"invoice":""}`))
			r.Host = tc.host
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("%d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 403 {
				var out struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Error.Code != "forbidden" || tokens != before {
					t.Fatalf("refusal %s (%v), tokens issued %d", w.Body, err, tokens-before)
				}
			}
		})
	}
}
