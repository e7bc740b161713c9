package stripegateway

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// TestRefundsReadsTheChargesRefunds: against stripe-mock (which checks the
// request against Stripe's spec), the refunds of a charge are listed on the
// connected account; Stripe's "no such charge" is ErrUnknownCharge, an
// outage a retryable error, and an amount Stripe can't hold is refused.
func TestRefundsReadsTheChargesRefunds(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()

	refunds, err := g.Refunds(ctx, "acct_1Clinic", "ch_1", "pi_1")
	if err != nil || len(refunds) == 0 || refunds[0].ID == "" || refunds[0].Amount <= 0 || refunds[0].Currency == "" {
		t.Fatalf("%v %+v", err, refunds)
	}
	reqs := proxy.Requests(func(r *faultproxy.Request) bool { return r.Path == "/v1/refunds" })
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Header.Get("Stripe-Account") != "acct_1Clinic" {
		t.Fatalf("asked %+v", reqs)
	}

	tests := []struct {
		name, body string
		status     int
		check      func(error) bool
	}{
		{"no such charge", `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such charge: 'ch_1'"}}`, 404,
			func(err error) bool { return errors.Is(err, billing.ErrUnknownCharge) }},
		{"an outage", `{"error":{"type":"api_error","message":"oops"}}`, 500,
			func(err error) bool { return billing.ErrorCode(err) == billing.CodePaymentProviderUnavailable }},
		{"an amount beyond Stripe's", `{"object":"list","data":[{"id":"re_1","object":"refund","amount":1000000000000,"currency":"idr","status":"succeeded"}],"has_more":false,"url":"/v1/refunds"}`, 200,
			func(err error) bool { return billing.ErrorCode(err) == billing.CodePaymentProviderError }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := proxy.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool { return r.Path == "/v1/refunds" },
				Status: tc.status, Body: tc.body, Header: http.Header{"Content-Type": {"application/json"}}})
			defer proxy.Remove(rule)
			if _, err := g.Refunds(ctx, "acct_1Clinic", "ch_1", ""); !tc.check(err) {
				t.Fatalf("%v", err)
			}
		})
	}
}
