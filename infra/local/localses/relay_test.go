package localses

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRelayDeliversEachEventOnce: flushes running at once, while e-mails are
// still being sent, deliver every event once, in order per e-mail.
func TestRelayDeliversEachEventOnce(t *testing.T) {
	var delivered atomic.Int64
	seen := sync.Map{}
	var mu sync.Mutex
	order := map[string][]string{} // message id → detail-types, as delivered
	r := &Relay{Account: "000000000000", Region: "ca-central-1", ConfigurationSet: "local",
		Deliver: func(_ context.Context, payload []byte) error {
			if _, dup := seen.LoadOrStore(string(payload), true); dup {
				t.Errorf("delivered twice")
			}
			var ev struct {
				DetailType string `json:"detail-type"`
				Detail     struct {
					Mail struct{ MessageID string } `json:"mail"`
				} `json:"detail"`
			}
			if err := json.Unmarshal(payload, &ev); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order[ev.Detail.Mail.MessageID] = append(order[ev.Detail.Mail.MessageID], ev.DetailType)
			mu.Unlock()
			delivered.Add(1)
			return nil
		}}
	raw := "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nX-Clinicpay-Mail: c/i/k/a\r\n\r\nbody"
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			answer, _ := xml.Marshal(struct {
				XMLName xml.Name `xml:"SendRawEmailResponse"`
				ID      string   `xml:"SendRawEmailResult>MessageId"`
			}{ID: "msg-" + string(rune('A'+i%26)) + string(rune('a'+i/26))})
			form := url.Values{"Action": {"SendRawEmail"}, "Source": {"a@example.com"}, "Destinations.member.1": {"b@example.com"},
				"RawMessage.Data": {base64.StdEncoding.EncodeToString([]byte(raw))}}
			r.SentRaw(form, 200, answer)
			if err := r.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := delivered.Load(); n != 100 || r.Pending() != 0 { // send and delivery for each of 50 e-mails
		t.Fatalf("%d delivered, %d pending", n, r.Pending())
	}
	if len(order) != 50 {
		t.Fatalf("events of %d e-mails, want 50", len(order))
	}
	for id, types := range order {
		if !slices.Equal(types, []string{"Email Sent", "Email Delivered"}) {
			t.Errorf("%s: %v, want sent then delivered", id, types)
		}
	}
}
