package stripegateway

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

const clinic = "acct_1Clinic"

// TestTerminalCallsAsStripeTakesThem: each Terminal call, against
// stripe-mock (which checks it against Stripe's spec), goes to its route on
// the clinic's connected account with the domain's idempotency key and the
// parameters the server-driven flow needs.
func TestTerminalCallsAsStripeTakesThem(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()
	addr := billing.Address{Line1: "1200 rue Sainte-Catherine O", City: "Montréal", State: "QC", PostalCode: "H3B 1K9", Country: "CA"}
	tests := []struct {
		name, method, path, key string
		form                    map[string]string
		call                    func() error
	}{
		{"location", http.MethodPost, "/v1/terminal/locations", "k/location",
			map[string]string{"display_name": "Clinique", "address[line1]": addr.Line1, "address[state]": "QC", "address[country]": "CA", "address[postal_code]": "H3B 1K9"},
			func() error { _, err := g.CreateLocation(ctx, clinic, "Clinique", addr, "k/location"); return err }},
		{"register", http.MethodPost, "/v1/terminal/readers", "k/register",
			map[string]string{"registration_code": "simulated-wpe", "label": "Accueil", "location": "tml_1"},
			func() error {
				r, err := g.RegisterReader(ctx, clinic, "tml_1", "simulated-wpe", "Accueil", "k/register")
				if err == nil && r.ID == "" {
					err = errors.New("no id")
				}
				return err
			}},
		{"read reader", http.MethodGet, "/v1/terminal/readers/tmr_1", "", nil,
			func() error { _, err := g.Reader(ctx, clinic, "tmr_1"); return err }},
		// (stripe-go gives a DELETE a key of its own, for its retries.)
		{"delete reader", http.MethodDelete, "/v1/terminal/readers/tmr_1", "", nil,
			func() error { return g.DeleteReader(ctx, clinic, "tmr_1") }},
		{"process", http.MethodPost, "/v1/terminal/readers/tmr_1/process_payment_intent", "k/process",
			map[string]string{"payment_intent": "pi_1", "process_config[skip_tipping]": "true"},
			func() error { _, err := g.ProcessPaymentIntent(ctx, clinic, "tmr_1", "pi_1", "k/process"); return err }},
		{"cancel action", http.MethodPost, "/v1/terminal/readers/tmr_1/cancel_action", "k/cancel-action", map[string]string{},
			func() error { _, err := g.CancelReaderAction(ctx, clinic, "tmr_1", "k/cancel-action"); return err }},
		{"refund on reader", http.MethodPost, "/v1/terminal/readers/tmr_1/refund_payment", "k/refund",
			map[string]string{"payment_intent": "pi_1", "amount": "2500", "metadata[refund_attempt]": "rfa_1"},
			func() error {
				_, err := g.RefundOnReader(ctx, &billing.NewReaderRefund{AccountID: clinic, ReaderID: "tmr_1", PaymentIntentID: "pi_1", Amount: 2500,
					Metadata: map[string]string{billing.MetaRefundAttempt: "rfa_1"}, IdempotencyKey: "k/refund"})
				return err
			}},
		{"payment intent", http.MethodPost, "/v1/payment_intents", "k/intent",
			map[string]string{"amount": "12500", "currency": "cad", "payment_method_types[0]": "card_present", "payment_method_types[1]": "interac_present",
				"capture_method": "manual", "metadata[billing_company_id]": "c1", "metadata[invoice_id]": "i1", "metadata[attempt]": "1"},
			func() error {
				_, err := g.CreateReaderPaymentIntent(ctx, &billing.NewReaderPayment{AccountID: clinic, Amount: 12500, Currency: "cad",
					Methods: []string{billing.MethodCardPresent, billing.MethodInteracPresent}, IdempotencyKey: "k/intent",
					Metadata: map[string]string{billing.MetaCompanyID: "c1", billing.MetaInvoiceID: "i1", "attempt": "1"}})
				return err
			}},
		{"read intent", http.MethodGet, "/v1/payment_intents/pi_1", "", nil,
			func() error { _, err := g.ReaderPaymentIntent(ctx, clinic, "pi_1"); return err }},
		{"capture", http.MethodPost, "/v1/payment_intents/pi_1/capture", "k/capture", map[string]string{"amount_to_capture": "12500"},
			func() error { _, err := g.CapturePaymentIntent(ctx, clinic, "pi_1", 12500, "k/capture"); return err }},
		{"cancel intent", http.MethodPost, "/v1/payment_intents/pi_1/cancel", "k/cancel-intent", map[string]string{},
			func() error { _, err := g.CancelPaymentIntent(ctx, clinic, "pi_1", "k/cancel-intent"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			reqs := proxy.Requests(func(r *faultproxy.Request) bool { return r.Path == tc.path && r.Method == tc.method })
			if len(reqs) == 0 {
				t.Fatalf("no %s %s", tc.method, tc.path)
			}
			r := reqs[len(reqs)-1]
			if r.Status != http.StatusOK || r.Header.Get("Stripe-Account") != clinic || (tc.key != "" && r.Header.Get("Idempotency-Key") != tc.key) {
				t.Fatalf("%d account %q key %q", r.Status, r.Header.Get("Stripe-Account"), r.Header.Get("Idempotency-Key"))
			}
			for k, v := range tc.form {
				if r.Form.Get(k) != v {
					t.Errorf("%s = %q, want %q (%v)", k, r.Form.Get(k), v, r.Form)
				}
			}
		})
	}
}

// TestTerminalRefusals: Stripe's refusals, injected at the proxy as Stripe
// words them, become the domain's codes; an object Stripe does not have on
// the account wraps ErrUnknownReader or ErrUnknownCharge.
func TestTerminalRefusals(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()
	process := func() error { _, err := g.ProcessPaymentIntent(ctx, clinic, "tmr_1", "pi_1", "k/p"); return err }
	register := func() error {
		_, err := g.RegisterReader(ctx, clinic, "tml_1", "purple-cow-ride", "Accueil", "k/r")
		return err
	}
	capture := func() error { _, err := g.CapturePaymentIntent(ctx, clinic, "pi_1", 100, "k/c"); return err }
	code := func(c billing.Code) func(error) bool {
		return func(err error) bool { return billing.ErrorCode(err) == c }
	}
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	tests := []struct {
		name   string
		call   func() error
		status int
		body   string
		check  func(error) bool
	}{
		{"reader busy", process, 400, `{"error":{"type":"invalid_request_error","code":"terminal_reader_busy","message":"Reader is currently busy processing another request."}}`, code(billing.CodeReaderBusy)},
		{"reader offline", process, 400, `{"error":{"type":"invalid_request_error","code":"terminal_reader_offline","message":"Reader is currently offline."}}`, code(billing.CodeReaderOffline)},
		{"reader timeout", process, 400, `{"error":{"type":"invalid_request_error","code":"terminal_reader_timeout","message":"There was a timeout when sending this command to the reader."}}`, code(billing.CodePaymentProviderUnavailable)},
		{"no such reader", process, 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"reader","message":"No such terminal.reader: 'tmr_1'"}}`, is(billing.ErrUnknownReader)},
		{"no such intent for the reader", process, 400, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_intent","message":"No such payment_intent: 'pi_1'"}}`, is(billing.ErrUnknownCharge)},
		{"no such intent", capture, 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent","message":"No such payment_intent: 'pi_1'"}}`, is(billing.ErrUnknownCharge)},
		{"intent in another state", capture, 400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"This PaymentIntent could not be captured because it has a status of canceled."}}`, code(billing.CodePaymentProviderError)},
		{"registration refused", register, 400, `{"error":{"type":"invalid_request_error","param":"registration_code","message":"The registration code is invalid or expired."}}`, code(billing.CodeReaderRegistrationFailed)},
		{"registration on a lost account", register, 400, `{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The provided key does not have access to account"}}`, code(billing.CodeStripeAccountNotConnected)},
		{"an outage", process, 500, `{"error":{"type":"api_error","message":"oops"}}`, code(billing.CodePaymentProviderUnavailable)},
		{"a reader without an id", process, 200, `{"object":"terminal.reader","id":"","status":"online"}`, code(billing.CodePaymentProviderError)},
		{"a refund beyond Stripe's amounts", process, 200, `{"object":"terminal.reader","id":"tmr_1","status":"online","action":{"type":"refund_payment","status":"in_progress","refund_payment":{"amount":1000000000000,"payment_intent":"pi_1"}}}`, code(billing.CodePaymentProviderError)},
		{"an intent beyond Stripe's amounts", capture, 200, `{"object":"payment_intent","id":"pi_1","amount":1000000000000,"currency":"cad","status":"succeeded"}`, code(billing.CodePaymentProviderError)},
		{"an intent capturing more than its amount", capture, 200, `{"object":"payment_intent","id":"pi_1","amount":100,"amount_capturable":200,"currency":"cad","status":"requires_capture"}`, code(billing.CodePaymentProviderError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := proxy.Inject(faultproxy.Rule{Status: tc.status, Body: tc.body, Header: http.Header{"Content-Type": {"application/json"}}})
			defer proxy.Remove(rule)
			if err := tc.call(); !tc.check(err) {
				t.Fatalf("%v", err)
			}
		})
	}
	// A reader Stripe no longer has is deleted already.
	rule := proxy.Inject(faultproxy.Rule{Status: 404, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such terminal.reader: 'tmr_1'"}}`})
	defer proxy.Remove(rule)
	if err := g.DeleteReader(ctx, clinic, "tmr_1"); err != nil {
		t.Fatal(err)
	}
}

// TestReaderIntentReadsTheCharge: a reader's PaymentIntent is read with its
// latest charge, whose card_present or interac_present details give the
// method (brand and last four only); a decline's decline_code is kept when
// Stripe gives one.
func TestReaderIntentReadsTheCharge(t *testing.T) {
	proxy := stripeMock(t)
	g := New(Config{Keys: StaticKey("sk_test_x"), BaseURL: proxy.URL})
	ctx := context.Background()
	const head = `{"id":"pi_1","object":"payment_intent","amount":9000,"currency":"cad","metadata":{"invoice_id":"i1"},`
	tests := []struct {
		name, body string
		want       billing.ReaderPaymentIntent
		method     *billing.PaymentMethod
	}{
		{"authorized on a card", head + `"status":"requires_capture","amount_capturable":9000,"amount_received":0,"latest_charge":{"id":"ch_1","object":"charge",
			"payment_method_details":{"type":"card_present","card_present":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,"read_method":"contactless_emv","emv_auth_data":"8A023030"}}}}`,
			billing.ReaderPaymentIntent{ID: "pi_1", Status: "requires_capture", Amount: 9000, AmountCapturable: 9000, Currency: "cad", ChargeID: "ch_1"},
			&billing.PaymentMethod{Type: "card_present", Brand: "visa", Last4: "4242"}},
		{"paid by Interac", head + `"status":"succeeded","amount_capturable":0,"amount_received":9000,"latest_charge":{"id":"ch_2","object":"charge",
			"payment_method_details":{"type":"interac_present","interac_present":{"brand":"interac","last4":"1933","exp_month":12,"exp_year":2030,"read_method":"contact_emv"}}}}`,
			billing.ReaderPaymentIntent{ID: "pi_1", Status: "succeeded", Amount: 9000, AmountReceived: 9000, Currency: "cad", ChargeID: "ch_2"},
			&billing.PaymentMethod{Type: "interac_present", Brand: "interac", Last4: "1933"}},
		{"declined for funds", head + `"status":"requires_payment_method","latest_charge":null,
			"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			billing.ReaderPaymentIntent{ID: "pi_1", Status: "requires_payment_method", Amount: 9000, Currency: "cad", LastErrorCode: "insufficient_funds"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule := proxy.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_intents/pi_1" },
				Status: 200, Body: tc.body, Header: http.Header{"Content-Type": {"application/json"}}})
			defer proxy.Remove(rule)
			got, err := g.ReaderPaymentIntent(ctx, clinic, "pi_1")
			if err != nil {
				t.Fatal(err)
			}
			if (got.Method == nil) != (tc.method == nil) || (got.Method != nil && *got.Method != *tc.method) || got.Metadata[billing.MetaInvoiceID] != "i1" {
				t.Fatalf("method %+v, want %+v", got.Method, tc.method)
			}
			got.Method, got.Metadata = nil, nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("%+v, want %+v", *got, tc.want)
			}
		})
	}
	reqs := proxy.Requests(func(r *faultproxy.Request) bool { return r.Path == "/v1/payment_intents/pi_1" })
	if len(reqs) == 0 || reqs[0].Query.Get("expand[0]") != "latest_charge" {
		t.Fatalf("asked %+v", reqs)
	}
}
