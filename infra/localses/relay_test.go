package localses

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRelayDeliversEachEventOnce: flushes running at once, while e-mails are
// still being sent, deliver every event once, in order per e-mail.
func TestRelayDeliversEachEventOnce(t *testing.T) {
	var delivered atomic.Int64
	seen := sync.Map{}
	r := &Relay{Account: "000000000000", Region: "ca-central-1", ConfigurationSet: "local",
		Deliver: func(_ context.Context, payload []byte) error {
			if _, dup := seen.LoadOrStore(string(payload), true); dup {
				t.Errorf("delivered twice")
			}
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
}
