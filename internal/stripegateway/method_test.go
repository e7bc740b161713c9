package stripegateway

import (
	"context"
	"net/http"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// TestPaymentMethodReadsTheLatestCharge: the PaymentIntent is read on the
// connected account with its latest charge expanded (stripe-mock checks the
// request), and only the method's type, brand or bank and last four leave
// the gateway, from payment_method_details as API 2023-10-16 sends them.
func TestPaymentMethodReadsTheLatestCharge(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()
	if _, err := g.PaymentMethod(ctx, "acct_1Clinic", "pi_1"); err != nil {
		t.Fatal(err)
	}
	reqs := proxy.Requests(func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_intents/pi_1" })
	if len(reqs) != 1 || reqs[0].Header.Get("Stripe-Account") != "acct_1Clinic" || reqs[0].Query.Get("expand[0]") != "latest_charge" {
		t.Fatalf("asked %+v", reqs)
	}

	const pi = `{"id":"pi_1","object":"payment_intent","amount":9000,"currency":"cad","status":"succeeded","latest_charge":`
	tests := []struct {
		name, charge string
		want         *billing.PaymentMethod
	}{
		{"a card", `{"id":"ch_1","object":"charge","payment_method_details":{"type":"card","card":{"brand":"mastercard","last4":"4444","exp_month":12,"exp_year":2030,"fingerprint":"fp","country":"CA"}}}`,
			&billing.PaymentMethod{Type: "card", Brand: "mastercard", Last4: "4444"}},
		{"a debit with its bank", `{"id":"ch_1","object":"charge","payment_method_details":{"type":"acss_debit","acss_debit":{"bank_name":"Desjardins","institution_number":"815","transit_number":"12345","last4":"6789","fingerprint":"fp","mandate":"mandate_1"}}}`,
			&billing.PaymentMethod{Type: "acss_debit", Bank: "Desjardins", Last4: "6789"}},
		{"a debit named by its institution only", `{"id":"ch_1","object":"charge","payment_method_details":{"type":"acss_debit","acss_debit":{"bank_name":null,"institution_number":"004","transit_number":"12345","last4":"1234"}}}`,
			&billing.PaymentMethod{Type: "acss_debit", Bank: "TD Canada Trust", Last4: "1234"}},
		{"no charge yet", `null`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := proxy.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_intents/pi_1" },
				Status: 200, Body: pi + tc.charge + "}", Header: http.Header{"Content-Type": {"application/json"}}})
			defer proxy.Remove(rule)
			got, err := g.PaymentMethod(ctx, "acct_1Clinic", "pi_1")
			if err != nil || (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("%v %+v, want %+v", err, got, tc.want)
			}
		})
	}
}

// TestSetInactiveMessage: a paid link's message is set on the connected
// account with the domain's idempotency key (stripe-mock checks
// inactive_message against Stripe's spec); a link Stripe no longer has is
// no error, an outage is one to retry.
func TestSetInactiveMessage(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()
	if err := g.SetInactiveMessage(ctx, "acct_1Clinic", "plink_1", "Facture payée, merci.", "k/paid-message-1"); err != nil {
		t.Fatal(err)
	}
	reqs := proxy.Requests(func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_links/plink_1" })
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Header.Get("Stripe-Account") != "acct_1Clinic" ||
		reqs[0].Header.Get("Idempotency-Key") != "k/paid-message-1" || reqs[0].Form.Get("inactive_message") != "Facture payée, merci." || len(reqs[0].Form) != 1 {
		t.Fatalf("asked %+v", reqs)
	}
	tests := []struct {
		name, body string
		status     int
		want       billing.Code
	}{
		{"no such link", `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment link"}}`, 404, ""},
		{"an outage", `{"error":{"type":"api_error","message":"oops"}}`, 500, billing.CodePaymentProviderUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := proxy.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_links/plink_1" },
				Status: tc.status, Body: tc.body, Header: http.Header{"Content-Type": {"application/json"}}})
			defer proxy.Remove(rule)
			err := g.SetInactiveMessage(ctx, "acct_1Clinic", "plink_1", "x", "k/paid-message-2")
			if (tc.want == "") != (err == nil) || (err != nil && billing.ErrorCode(err) != tc.want) {
				t.Fatalf("%v", err)
			}
		})
	}
}
