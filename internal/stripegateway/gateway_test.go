package stripegateway

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// rotatingKey serves an old key until asked to refresh.
type rotatingKey struct{ refreshed atomic.Int64 }

func (k *rotatingKey) StripeKey(context.Context) (string, error) {
	if k.refreshed.Load() > 0 {
		return "sk_test_new", nil
	}
	return "sk_test_old", nil
}

func (k *rotatingKey) RefreshStripeKey(ctx context.Context) (string, error) {
	k.refreshed.Add(1)
	return k.StripeKey(ctx)
}

// stripeMock starts stripe-mock behind the Stripe proxy, both stopped
// when the test ends.
func stripeMock(t *testing.T) *faultproxy.Stripe {
	t.Helper()
	tools, err := localservers.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	mock, err := localservers.StartStripeMock(context.Background(), tools)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mock.Stop)
	proxy := faultproxy.NewStripe(mock.URL)
	t.Cleanup(proxy.Close)
	return proxy
}

// TestKeyRefreshedOnceWhenStripeRefusesIt: against stripe-mock, with the old
// key refused (401) at the proxy, the gateway reads the key again once and
// the call succeeds with the new one.
func TestKeyRefreshedOnceWhenStripeRefusesIt(t *testing.T) {
	proxy := stripeMock(t)
	proxy.Inject(faultproxy.Rule{
		Match:  func(r *faultproxy.Request) bool { return r.Header.Get("Authorization") == "Bearer sk_test_old" },
		Status: http.StatusUnauthorized, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***old"}}`,
	})
	keys := &rotatingKey{}
	g := New(Config{Keys: keys, BaseURL: proxy.URL})
	link, err := g.CreateLink(context.Background(), &billing.NewLink{
		CompanyID: "c1", InvoiceID: "i1", Generation: 1, AccountID: "acct_1Rotate", Amount: 100, Currency: "cad",
		Page: billing.PageText{ProductName: "Facture 1", InactiveMessage: "x", ConfirmationMessage: "y"},
	})
	if err != nil || link.ID == "" {
		t.Fatalf("%v %+v", err, link)
	}
	if n := keys.refreshed.Load(); n != 1 {
		t.Fatalf("key read again %d times, want 1", n)
	}
	// A key refused even after a refresh is a provider error without
	// Stripe's text.
	proxy.Inject(faultproxy.Rule{
		Match:  func(r *faultproxy.Request) bool { return r.Header.Get("Authorization") == "Bearer sk_test_new" },
		Status: http.StatusUnauthorized, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***new"}}`,
	})
	err = g.DeactivateLink(context.Background(), "acct_1Rotate", link.ID, "k/deactivate")
	if billing.ErrorCode(err) != billing.CodePaymentProviderError || err.(*billing.Error).Message != "Stripe refused the platform's credentials" {
		t.Fatalf("%v", err)
	}
}
