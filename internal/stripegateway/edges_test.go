package stripegateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// A Stripe-Signature has one timestamp. stripe-go verifies the HMAC and the
// age with the last t=; a header with two could show one time to a check
// and another to the signature, so it is refused whatever the order.
func TestSignatureWithTwoTimestampsIsRefused(t *testing.T) {
	r := NewWebhookReader(StaticSecret("whsec_test"))
	payload := []byte(`{"id":"evt_1","object":"event","account":"acct_1","api_version":"2023-10-16","created":1,"type":"account.updated","data":{"object":{"id":"acct_1","object":"account"}}}`)
	now, future := time.Now(), time.Now().Add(24*time.Hour)
	v1 := func(at time.Time, secret string) string {
		return hex.EncodeToString(webhook.ComputeSignature(at, payload, secret))
	}
	tests := []struct {
		name, header, reason string
	}{
		{"one timestamp", fmt.Sprintf("t=%d,v1=%s", now.Unix(), v1(now, "whsec_test")), ""},
		{"one timestamp, two signatures (a rolled secret)", fmt.Sprintf("t=%d,v1=%s,v1=%s", now.Unix(), v1(now, "whsec_old"), v1(now, "whsec_test")), ""},
		{"a future time signed, hidden behind a current one", fmt.Sprintf("t=%d,t=%d,v1=%s", now.Unix(), future.Unix(), v1(future, "whsec_test")), RejectTimestamps},
		{"a current time signed, then a future one", fmt.Sprintf("t=%d,v1=%s,t=%d", now.Unix(), v1(now, "whsec_test"), future.Unix()), RejectTimestamps},
		{"the same time twice", fmt.Sprintf("t=%d,t=%d,v1=%s", now.Unix(), now.Unix(), v1(now, "whsec_test")), RejectTimestamps},
		{"a second one after a space", fmt.Sprintf("t=%d, t=%d,v1=%s", future.Unix(), now.Unix(), v1(now, "whsec_test")), RejectTimestamps},
		{"a future time alone", fmt.Sprintf("t=%d,v1=%s", future.Unix(), v1(future, "whsec_test")), RejectFuture},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Read(context.Background(), payload, tc.header)
			var rj *rejection
			switch {
			case tc.reason == "" && err != nil:
				t.Fatal(err)
			case tc.reason != "" && (!errors.As(err, &rj) || rj.reason != tc.reason):
				t.Fatalf("err %v, want reason %s", err, tc.reason)
			}
		})
	}
}

// The reader passes on the event's mode; the domain compares it with the
// stack's.
func TestReaderKeepsTheEventsMode(t *testing.T) {
	r := NewWebhookReader(StaticSecret("whsec_test"))
	for _, live := range []bool{false, true} {
		payload := []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","account":"acct_1","api_version":"2023-10-16","created":1,"livemode":%v,"type":"account.application.deauthorized","data":{"object":{"id":"ca_1","object":"application"}}}`, live))
		ev, err := r.Read(context.Background(), payload, signed(payload, "whsec_test", time.Now()))
		if err != nil || ev.Livemode != live {
			t.Fatalf("livemode %v: %+v %v", live, ev, err)
		}
	}
}
