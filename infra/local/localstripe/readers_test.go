package localstripe

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// TestReaders: a simulated reader is registered once per Idempotency-Key,
// read and deleted on its own account only; another code is refused as
// Stripe refuses an unknown one.
func TestReaders(t *testing.T) {
	s, _ := Open("")
	mine, theirs := http.Header{"Stripe-Account": {"acct_1Clinic"}}, http.Header{"Stripe-Account": {"acct_1Other"}}
	keyed := mine.Clone()
	keyed.Set("Idempotency-Key", "k1")
	form := url.Values{"registration_code": {SimulatedRegistrationCode}, "label": {"Front desk"}, "location": {"tml_1"}}
	register := func(h http.Header, f url.Values) (int, map[string]any) {
		status, body, ok := s.AnswerRequest(http.MethodPost, "/v1/terminal/readers", h, nil, f)
		var obj map[string]any
		if !ok || json.Unmarshal(body, &obj) != nil {
			t.Fatalf("%d %s", status, body)
		}
		return status, obj
	}
	_, first := register(keyed, form)
	_, again := register(keyed, form)
	_, other := register(mine, form)
	if first["id"] != again["id"] || first["id"] == other["id"] || first["label"] != "Front desk" || first["status"] != "online" {
		t.Fatalf("%v %v %v", first, again, other)
	}
	id, _ := first["id"].(string)
	steps := []struct {
		name   string
		method string
		h      http.Header
		want   int
	}{
		{"read on another account", http.MethodGet, theirs, 404},
		{"delete on another account", http.MethodDelete, theirs, 404},
		{"read", http.MethodGet, mine, 200},
		{"delete", http.MethodDelete, mine, 200},
		{"read deleted", http.MethodGet, mine, 404},
	}
	for _, st := range steps {
		if status, body, _ := s.AnswerRequest(st.method, "/v1/terminal/readers/"+id, st.h, nil, nil); status != st.want {
			t.Fatalf("%s: %d %s", st.name, status, body)
		}
	}
	if status, obj := register(mine, url.Values{"registration_code": {"apple-grape-orange"}}); status != 400 || obj["error"] == nil {
		t.Fatalf("an unknown code: %d %v", status, obj)
	}
	if n := len(s.Readers("acct_1Clinic")); n != 1 {
		t.Fatalf("%d readers left", n)
	}
}
