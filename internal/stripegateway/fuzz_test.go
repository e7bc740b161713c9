package stripegateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// FuzzWebhookRead: arbitrary bodies, correctly signed, go through event
// reading: no panic; refusals are contract errors with a reason; accepted
// events have an id and facts that only say what Stripe's object said.
func FuzzWebhookRead(f *testing.F) {
	f.Add(`{"id":"evt_1","object":"event","account":"acct_1","api_version":"2023-10-16","type":"checkout.session.completed","data":{"object":{"id":"cs_1","amount_total":100,"currency":"cad","payment_intent":"pi_1","payment_link":"plink_1","payment_status":"paid","metadata":{"billing_company_id":"c","invoice_id":"i","link_generation":"1"}}}}`)
	f.Add(`{"id":"evt_2","api_version":"2023-10-16","type":"charge.refunded","data":{"object":{"id":"ch_1","amount":100,"amount_refunded":50,"paid":true,"payment_intent":"pi_1"}}}`)
	f.Add(`{"id":"evt_3","api_version":"2023-10-16","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","amount":100,"charge":"ch_1","payment_intent":{"id":"pi_1"},"status":"lost"}}}`)
	f.Add(`{"id":"evt_4","api_version":"2023-10-16","type":"checkout.session.completed","data":{"object":{"id":"cs_1","payment_intent":42}}}`)
	f.Add(`{"id":"evt_5","object":"event","api_version":"2023-10-16","type":"terminal.reader.action_failed","data":{"object":{"id":"tmr_1","object":"terminal.reader","status":"online","action":{"type":"process_payment_intent","status":"failed","failure_code":"card_declined","process_payment_intent":{"payment_intent":"pi_1"}}}}}`)
	f.Add(`{"id":"evt_6","object":"event","api_version":"2023-10-16","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":100,"amount_received":100,"currency":"cad","status":"succeeded","latest_charge":"ch_1","metadata":{"invoice_id":"i"}}}}`)
	f.Add(`{}`)
	r := NewWebhookReader(StaticSecret("whsec_fuzz"))
	f.Fuzz(func(t *testing.T, body string) {
		payload := []byte(body)
		ev, err := r.Read(context.Background(), payload, signed(payload, "whsec_fuzz", time.Now()))
		if err != nil {
			var e *billing.Error
			var rj *rejection
			if !errors.As(err, &e) || (e.Code != billing.CodeInvalidEvent && e.Code != billing.CodeInvalidSignature) || !errors.As(err, &rj) {
				t.Fatalf("not a contract refusal: %v", err)
			}
			if e.Code == billing.CodeInvalidSignature {
				t.Fatal("a correctly signed body was refused as badly signed")
			}
			return
		}
		if ev.ID == "" {
			t.Fatal("accepted an event without an id")
		}
		if ev.Facts.Dispute != nil && ev.Facts.Dispute.ID == "" {
			t.Fatal("accepted a dispute without an id")
		}
		if tf := ev.Terminal; tf != nil {
			if pi := tf.Intent; pi != nil && (pi.ID == "" || pi.Amount < 0 || pi.Amount > billing.MaxStripeAmount ||
				pi.AmountReceived > pi.Amount || pi.AmountCapturable > pi.Amount) {
				t.Fatalf("accepted a PaymentIntent that can't be: %+v", pi)
			}
			if rd := tf.Reader; rd != nil && (rd.ID == "" || rd.Action == nil) {
				t.Fatalf("accepted a reader event that can't be: %+v", rd)
			}
		}
	})
}
