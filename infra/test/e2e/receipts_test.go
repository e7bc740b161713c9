package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/local/localstripe"
)

// linkedFor is linkedInvoice for a patient address of the test's own.
func linkedFor(t tb, tn *tenant, email, lang string, amount int64) linked {
	t.Helper()
	id := invoiceFor(t, tn, email, amount, "", lang)
	link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	return linked{tn: tn, invoiceID: id, linkID: link.str("id"), generation: linkGeneration(t, link.str("id")), amount: amount}
}

// receiptsOf are the invoice's receipt records.
func receiptsOf(t tb, tn *tenant, invoiceID string) []map[string]any {
	t.Helper()
	emails, _ := emailsOf(t, tn, invoiceID)
	var out []map[string]any
	for _, e := range emails {
		if e["kind"] == "receipt" {
			out = append(out, e)
		}
	}
	return out
}

// TestReceipts: a successful payment gives the patient exactly one receipt,
// whatever Stripe's deliveries do; a pre-authorized debit only when it
// clears; none when the clinic turned receipts off.
func TestReceipts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")

	t.Run("one receipt for 5 duplicate and 5 concurrent deliveries", func(t *testing.T) {
		t.Parallel()
		addr := patientAddress()
		l := linkedFor(t, tn, addr, "fr", 12500)
		pi := "pi_" + randomHex(10)
		ev := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(8), pi, "paid"))
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				r := deliver(t, ev)
				if r.Status != http.StatusOK && r.Status != http.StatusServiceUnavailable {
					t.Errorf("concurrent delivery: %d %s", r.Status, r.Raw)
				}
			})
		}
		wg.Wait()
		for range 5 {
			deliver(t, ev).want(t, http.StatusOK)
		}
		mails := mailsTo(t, addr)
		if len(mails) != 1 {
			t.Fatalf("%d e-mails reached SES, want one receipt", len(mails))
		}
		m := mails[0]
		if m.Subject != "Reçu de paiement – Facture F-"+l.invoiceID+" – Clinique Saint-Louis" ||
			!strings.Contains(m.Body.Text, "125,00 $") || !strings.Contains(m.Body.Text, "Visa •••• 4242") ||
			!strings.Contains(m.Body.Text, "Solde restant : 0,00 $") || !strings.Contains(m.Body.Text, "facturation@clinique.example") ||
			strings.Contains(m.Body.HTML, "/pay/") {
			t.Fatalf("receipt:\n%s\n%s", m.Subject, m.Body.Text)
		}
		rs := receiptsOf(t, tn, l.invoiceID)
		if len(rs) != 1 || rs[0]["messageId"] != m.MessageID {
			t.Fatalf("recorded: %v", rs)
		}
		flushSES(t) // (another test may have flushed already)
		if rs := receiptsOf(t, tn, l.invoiceID); rs[0]["status"] != "delivered" {
			t.Fatalf("after SES's events: %v", rs)
		}
	})

	t.Run("a pre-authorized debit: the receipt when it clears", func(t *testing.T) {
		t.Parallel()
		addr := patientAddress()
		l := linkedFor(t, tn, addr, "en", 9000)
		pi, cs := "pi_"+randomHex(10), "cs_test_"+randomHex(8)
		deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		if n := len(mailsTo(t, addr)); n != 0 {
			t.Fatalf("%d e-mails while the debit clears", n)
		}
		deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.async_payment_succeeded", tn.Account, l.session(cs, pi, "paid"))).want(t, 200)
		mails := mailsTo(t, addr)
		if len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, "Payment receipt – Invoice") || !strings.Contains(mails[0].Body.Text, "$90.00") {
			t.Fatalf("%d e-mails: %+v", len(mails), mails)
		}
	})

	t.Run("a debit's receipt names the bank and the account's last four", func(t *testing.T) {
		t.Parallel()
		addr := patientAddress()
		l := linkedFor(t, tn, addr, "fr", 9000)
		// The local Stripe's checkout debits TD Canada Trust's account
		// ending in 6789; the service reads the charge back from it.
		sim := simulator(time.Now())
		p, _, err := sim.Checkout(t.Context(), l.linkID, localstripe.PreAuthorizedDebit)
		if err != nil {
			t.Fatal(err)
		}
		if _, ds, err := sim.Settle(t.Context(), p.PaymentIntent, true); err != nil || len(ds) != 1 || ds[0].Outcome != "applied" {
			t.Fatalf("%v %+v", err, ds)
		}
		mails := mailsTo(t, addr)
		if len(mails) != 1 {
			t.Fatalf("%d e-mails, want the receipt", len(mails))
		}
		m := mails[0]
		for _, part := range []string{m.Body.Text, m.Body.HTML} {
			if !strings.Contains(part, "Débit préautorisé – TD Canada Trust •••• 6789") || !strings.Contains(part, "90,00 $") {
				t.Fatalf("the receipt does not name the debit:\n%s", part)
			}
			for _, card := range []string{"Visa", "4242", "Carte", "Card"} {
				if strings.Contains(part, card) {
					t.Fatalf("the debit's receipt says %q:\n%s", card, part)
				}
			}
		}
	})

	t.Run("a debit that fails: no receipt", func(t *testing.T) {
		t.Parallel()
		addr := patientAddress()
		l := linkedFor(t, tn, addr, "fr", 9000)
		pi, cs := "pi_"+randomHex(10), "cs_test_"+randomHex(8)
		deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.async_payment_failed", tn.Account, l.session(cs, pi, "unpaid"))).want(t, 200)
		if n := len(mailsTo(t, addr)); n != 0 {
			t.Fatalf("%d e-mails for a failed debit", n)
		}
	})

	t.Run("receipts off", func(t *testing.T) {
		t.Parallel()
		off := newTenant(t, "fr")
		settings(t, off, map[string]any{"sendReceipts": false})
		addr := patientAddress()
		l := linkedFor(t, off, addr, "fr", 12500)
		l.pay(t)
		if n := len(mailsTo(t, addr)); n != 0 {
			t.Fatalf("%d e-mails with receipts off", n)
		}
		if v := l.view(t); v.str("status") != "paid" || len(v.list("pendingEmails")) != 0 {
			t.Fatalf("%s", v.Raw)
		}
	})
}

// TestReceiptAfterACrash: the process dies after SES took the receipt and
// before it was recorded. SES's events about the e-mail record it, so
// Stripe's redelivery and the scheduler send nothing more: one receipt.
func TestReceiptAfterACrash(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	// SES's events about this e-mail are sent by the test when it says so
	// (another test's flush must not record the attempt before it is seen
	// in flight).
	addr := manualEvents + randomHex(5) + "@example.com"
	l := linkedFor(t, tn, addr, "fr", 12500)
	body := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(8), "pi_"+randomHex(10), "paid"))
	// A delivery that ran out of the crash API's short deadline before
	// reaching SES sent nothing: Stripe delivers again (a busy machine, not
	// a failure).
	crashed := false
	for try := 0; try < 3 && !crashed; try++ {
		crashed = crashAt(t, stepEmailAccepted, "POST", "/webhooks/stripe", "", body, "Stripe-Signature", sign(body, localservers.WebhookSecret, time.Now()))
	}
	if !crashed {
		t.Fatal("the delivery never reached SES")
	}
	expireHolds(t, tn.ID, l.invoiceID, "")
	if v := l.view(t); len(v.list("pendingEmails")) != 1 || v.list("pendingEmails")[0]["inFlight"] != true {
		t.Fatalf("the dead attempt should be in flight: %s", v.Raw)
	}
	// SES publishes what it did with the e-mail.
	took := mailsTo(t, addr)
	if len(took) != 1 {
		t.Fatalf("%d receipts reached SES, want 1", len(took))
	}
	for _, ev := range localses.Events(sentMail(t, took[0].MessageID), iamAccountID, "ca-central-1", iamStack.Refs["EmailConfigurationSet"]) {
		sendEvent(t, ev)
	}
	// Stripe delivers again; the scheduler runs a day later.
	deliver(t, body).want(t, 200)
	runScheduler(t, tn, time.Now().Add(24*time.Hour))
	if mails := mailsTo(t, addr); len(mails) != 1 {
		t.Fatalf("%d receipts reached SES, want 1", len(mails))
	}
	rs := receiptsOf(t, tn, l.invoiceID)
	if len(rs) != 1 || rs[0]["status"] != "delivered" || rs[0]["messageId"] != mailsTo(t, addr)[0].MessageID {
		t.Fatalf("recorded: %v", rs)
	}
	if v := l.view(t); len(v.list("pendingEmails")) != 0 {
		t.Fatalf("left in the outbox: %s", v.Raw)
	}
}

// TestReceiptOnTheLocalCheckout: make dev's checkout stand-in pays a link;
// the receipt follows, as from Stripe.
func TestReceiptOnTheLocalCheckout(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "en")
	addr := patientAddress()
	l := linkedFor(t, tn, addr, "en", 4200)
	state, _ := localstripe.Open("")
	state.Observe(http.MethodPost, "/v1/prices", http.Header{"Stripe-Account": {tn.Account}},
		map[string][]string{"unit_amount": {"4200"}, "currency": {"cad"}, "product_data[name]": {"Invoice F-" + l.invoiceID}}, 200,
		[]byte(`{"id":"price_x","object":"price"}`))
	state.Observe(http.MethodPost, "/v1/payment_links", http.Header{"Stripe-Account": {tn.Account}},
		map[string][]string{"line_items[0][price]": {"price_x"}, "metadata[billing_company_id]": {tn.ID}, "metadata[invoice_id]": {l.invoiceID},
			"metadata[link_generation]": {l.generation}}, 200, []byte(`{"id":"`+l.linkID+`","object":"payment_link"}`))
	sim := &localstripe.Simulator{State: state, WebhookURL: env.api.URL + "/webhooks/stripe", Secret: localservers.WebhookSecret}
	if _, ds, err := sim.Checkout(t.Context(), l.linkID, localstripe.Card); err != nil || len(ds) != 1 || ds[0].Outcome != "applied" {
		t.Fatalf("%v %+v", err, ds)
	}
	if mails := mailsTo(t, addr); len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, "Payment receipt") {
		t.Fatalf("%+v", mails)
	}
}
