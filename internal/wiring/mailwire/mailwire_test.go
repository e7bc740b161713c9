package mailwire

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/wiring"
)

const (
	throttled = `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>r</RequestId></ErrorResponse>`
	accepted  = `<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendRawEmailResult><MessageId>m-1</MessageId></SendRawEmailResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></SendRawEmailResponse>`
)

// TestSendIsNotRetriedOnceItMayHaveLeft shows the SES client as the
// functions build it: SES has no idempotency key, so an attempt that may
// have reached SES (the answer lost, or cut by the attempt's timeout) is
// not made again by the SDK; one SES answered with an error is.
func TestSendIsNotRetriedOnceItMayHaveLeft(t *testing.T) {
	t.Parallel()
	rows := []struct {
		name     string
		serve    func(w http.ResponseWriter, call int32, stop <-chan struct{})
		calls    int32
		sent     bool
		notSent  bool // the error says nothing left (billing.ErrNotSent)
		withSlow bool
	}{
		{"SES took it, the answer was lost", func(w http.ResponseWriter, _ int32, _ <-chan struct{}) { hangUp(w) }, 1, false, false, false},
		{"SES slower than the attempt's timeout", func(_ http.ResponseWriter, _ int32, stop <-chan struct{}) { <-stop }, 1, false, false, true},
		{"SES throttles, then takes it", func(w http.ResponseWriter, call int32, _ <-chan struct{}) {
			if call == 1 {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(throttled))
				return
			}
			_, _ = w.Write([]byte(accepted))
		}, 2, true, false, false},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			if row.withSlow && testing.Short() {
				t.Skip("waits for the attempt's timeout")
			}
			var calls atomic.Int32
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				row.serve(w, calls.Add(1), stop)
			}))
			defer srv.Close()
			defer close(stop)
			id, err := send(t, srv.URL)
			if got := calls.Load(); got != row.calls {
				t.Fatalf("SES was asked %d times, want %d (err %v)", got, row.calls, err)
			}
			if row.sent != (err == nil && id != "") {
				t.Fatalf("sent %q, err %v; want sent %v", id, err, row.sent)
			}
			if err != nil && errors.Is(err, billing.ErrNotSent) != row.notSent {
				t.Fatalf("err %v: ErrNotSent %v, want %v", err, !row.notSent, row.notSent)
			}
		})
	}
}

// hangUp closes the connection without an answer, after the request came.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func send(t *testing.T, url string) (string, error) {
	t.Helper()
	settings := map[string]string{
		"AWS_REGION": "ca-central-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_SES": url, wiring.EnvSenderEmail: "billing@example.com",
	}
	env := wiring.Env(func(name string) string { return settings[name] })
	cfg, err := wiring.AWSConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	mailer, err := Mailer(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return mailer.Send(context.Background(), billing.OutgoingEmail{
		To: "patient@example.com", Subject: "Invoice", Language: "fr", Text: "Bonjour", Ref: "c/i/k/t",
	})
}
