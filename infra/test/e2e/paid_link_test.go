package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// linkPage is the link's page at the local checkout, as a patient who
// opens the e-mail again sees it.
func linkPage(t *testing.T, checkout *httptest.Server, linkID string) string {
	t.Helper()
	resp, err := http.Get(checkout.URL + "/pay/" + linkID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	return string(b)
}

// TestPaidLinkSaysSo: after paying, the link's page says it was paid, in
// the patient's language, not to contact the clinic: the service set the
// link's inactive_message on the clinic's account once the payment
// succeeded (a debit once it cleared), through stripe-mock's check of the
// request, and the local Stripe's page shows it.
func TestPaidLinkSaysSo(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now())
	mux := http.NewServeMux()
	(&localstripe.Checkout{Sim: sim}).Routes(mux)
	checkout := httptest.NewServer(mux)
	t.Cleanup(checkout.Close)

	tests := []struct {
		lang, method, want, before string
	}{
		{"fr", localstripe.Card, "Facture payée, merci. Votre paiement a été reçu par", ""},
		{"en", localstripe.PreAuthorizedDebit, "Invoice paid, thank you. Your payment was received by", "please contact"},
	}
	for _, tc := range tests {
		t.Run(tc.lang+" "+tc.method, func(t *testing.T) {
			t.Parallel()
			l := linkedFor(t, tn, patientAddress(), tc.lang, 7300)
			p, _, err := sim.Checkout(t.Context(), l.linkID, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == localstripe.PreAuthorizedDebit {
				// While the debit clears, nothing is paid yet.
				if page := linkPage(t, checkout, l.linkID); !strings.Contains(page, tc.before) || strings.Contains(page, tc.want) {
					t.Fatalf("while the debit clears:\n%s", page)
				}
				if _, _, err := sim.Settle(t.Context(), p.PaymentIntent, true); err != nil {
					t.Fatal(err)
				}
			}
			page := linkPage(t, checkout, l.linkID)
			if !strings.Contains(page, tc.want) || strings.Contains(page, "contact") || strings.Contains(page, "communiquez") {
				t.Fatalf("the paid link's page:\n%s", page)
			}
			sets := env.stripe.Requests(func(r *faultproxy.Request) bool {
				return r.Method == http.MethodPost && r.Path == "/v1/payment_links/"+l.linkID && r.Form.Has("inactive_message")
			})
			if len(sets) != 1 || sets[0].Header.Get("Stripe-Account") != tn.Account || sets[0].Header.Get("Idempotency-Key") == "" {
				t.Fatalf("%d calls: %+v", len(sets), sets)
			}
			if v := l.view(t); v.str("status") != "paid" {
				t.Fatalf("%s", v.Raw)
			}
		})
	}
}

// TestPaidLinkMessageWhenStripeFails: Stripe failing the message does not
// fail the payment's delivery nor change its money; the link's page keeps
// its old message until the scheduler's next run sets it.
func TestPaidLinkMessageWhenStripeFails(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	sim := simulator(time.Now())
	mux := http.NewServeMux()
	(&localstripe.Checkout{Sim: sim}).Routes(mux)
	checkout := httptest.NewServer(mux)
	t.Cleanup(checkout.Close)

	l := linkedFor(t, tn, patientAddress(), "fr", 7300)
	setMessage := func(r *faultproxy.Request) bool {
		return r.Method == http.MethodPost && r.Path == "/v1/payment_links/"+l.linkID && r.Form.Has("inactive_message")
	}
	rule := env.stripe.Inject(faultproxy.Rule{Match: setMessage, Status: http.StatusInternalServerError, Body: stripeDown, Header: jsonHeader})
	_, ds, err := sim.Checkout(t.Context(), l.linkID, localstripe.Card)
	env.stripe.Remove(rule)
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusOK || ds[0].Outcome != "applied" {
		t.Fatalf("%v %+v", err, ds)
	}
	if v := l.view(t); v.str("status") != "paid" || v.num("balanceDue") != 0 {
		t.Fatalf("%s", v.Raw)
	}
	if page := linkPage(t, checkout, l.linkID); !strings.Contains(page, "communiquez avec") {
		t.Fatalf("a message Stripe refused is shown:\n%s", page)
	}
	runScheduler(t, tn, time.Now().Add(6*time.Minute))
	if page := linkPage(t, checkout, l.linkID); !strings.Contains(page, "Facture payée, merci.") {
		t.Fatalf("after the scheduler's run:\n%s", page)
	}
	if n := len(env.stripe.Requests(setMessage)); n != 2 {
		t.Fatalf("%d tries, want the refused one and the scheduler's", n)
	}
}
