package devconsole

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// TestMailboxKeepsWhatSESForgets: aws-ses-v2-local forgets its mail when it
// stops; the mailbox keeps every e-mail it has seen, newest first.
func TestMailboxKeepsWhatSESForgets(t *testing.T) {
	var store atomic.Value
	store.Store(`{"emails":[{"messageId":"m1","subject":"Facture F-1","destination":{"to":["a@example.com"]},"at":100},
		{"messageId":"m2","subject":"Facture F-2","destination":{"to":["b@example.com"]},"at":200}]}`)
	ses := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(store.Load().(string))) }))
	defer ses.Close()
	path := filepath.Join(t.TempDir(), "mailbox.json")
	m := &Mailbox{SESURL: ses.URL, Path: path}
	if err := m.Load(); err != nil {
		t.Fatal(err)
	}
	got, err := m.List(context.Background())
	if err != nil || len(got) != 2 || got[0].MessageID != "m2" {
		t.Fatalf("%v %+v", err, got)
	}
	// SES restarted: empty, then one new e-mail.
	store.Store(`{"emails":[{"messageId":"m3","subject":"Facture F-3","destination":{"to":["c@example.com"]},"at":300}]}`)
	again := &Mailbox{SESURL: ses.URL, Path: path}
	if err := again.Load(); err != nil {
		t.Fatal(err)
	}
	got, err = again.List(context.Background())
	if err != nil || len(got) != 3 || got[0].MessageID != "m3" || got[2].MessageID != "m1" {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := again.Get(context.Background(), "nope"); !errors.Is(err, ErrNoMail) {
		t.Fatalf("unknown mail: %v", err)
	}
}

// TestLocalEndpointsTakeJSONOnly: a form post from another site can't make
// a payment happen in a tester's make dev.
func TestLocalEndpointsTakeJSONOnly(t *testing.T) {
	state, _ := localstripe.Open("")
	h := New(Config{Stripe: &localstripe.Simulator{State: state}, Company: "clinic-demo"})
	for _, tc := range []struct {
		path, ctype, body string
		status            int
		code              string
	}{
		{"/_local/stripe/pay", "application/x-www-form-urlencoded", "invoice=F-1", 415, "unsupported_media_type"},
		{"/_local/stripe/pay", "text/plain", `{"invoice":"F-1"}`, 415, "unsupported_media_type"},
		{"/_local/stripe/pay", "application/json", `{"invoice":"F-1","outcome":"paid"}`, 404, "not_found"},
		{"/_local/stripe/pay", "application/json", `{"invoice":"F-1","outcome":"tip"}`, 400, "invalid_request"},
		{"/_local/stripe/pay", "application/json", `{"outcome":"paid"}`, 400, "invalid_request"},
		{"/_local/stripe/payments/pi_1/refund", "application/json", `{"amount":100}`, 404, "not_found"},
		{"/_local/stripe/payments/pi_1/settle", "application/json", `{"outcome":"maybe"}`, 400, "invalid_request"},
	} {
		r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
		r.Host = "localhost:3001" // httptest's example.com is not the console's
		r.Header.Set("Content-Type", tc.ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out struct{ Error struct{ Code string } }
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		if w.Code != tc.status || out.Error.Code != tc.code {
			t.Errorf("%+v: %d %s", tc, w.Code, w.Body)
		}
	}
}
