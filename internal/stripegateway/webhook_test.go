package stripegateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/clinicpay/payments/internal/billing"
)

func signed(payload []byte, secret string, at time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(webhook.ComputeSignature(at, payload, secret)))
}

func TestWebhookReader(t *testing.T) {
	r := NewWebhookReader(StaticSecret("whsec_test"))
	session := `{"id":"evt_1","object":"event","account":"acct_1","api_version":"2023-10-16","created":1,"type":"checkout.session.completed",
		"data":{"object":{"id":"cs_1","object":"checkout.session","amount_total":12500,"currency":"cad","payment_intent":"pi_1",
		"payment_link":"plink_1","payment_status":"paid","metadata":{"billing_company_id":"c1","invoice_id":"i1","link_generation":"2"}}}}`
	now := time.Now()
	tests := []struct {
		name    string
		payload string
		sig     string
		reason  string
	}{
		{"valid", session, signed([]byte(session), "whsec_test", now), ""},
		{"no header", session, "", RejectSignature},
		{"other secret", session, signed([]byte(session), "whsec_other", now), RejectSignature},
		{"stale", session, signed([]byte(session), "whsec_test", now.Add(-10*time.Minute)), RejectStale},
		{"not JSON", "{", signed([]byte("{"), "whsec_test", now), RejectMalformed},
		{"other version", `{"id":"evt_1","api_version":"2024-06-20","data":{"object":{}}}`, signed([]byte(`{"id":"evt_1","api_version":"2024-06-20","data":{"object":{}}}`), "whsec_test", now), RejectAPIVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := r.Read(context.Background(), []byte(tc.payload), tc.sig)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				f := ev.Facts
				if ev.AccountID != "acct_1" || ev.CompanyID != "c1" || ev.InvoiceID != "i1" || ev.Generation != 2 ||
					f.PaymentIntentID != "pi_1" || f.LinkID != "plink_1" || f.Amount != 12500 || f.State != billing.PaymentSucceeded {
					t.Fatalf("%+v", ev)
				}
				return
			}
			var rj *rejection
			if !errors.As(err, &rj) || rj.reason != tc.reason {
				t.Fatalf("err %v, want reason %s", err, tc.reason)
			}
		})
	}
}
