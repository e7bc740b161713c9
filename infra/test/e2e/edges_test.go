package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
)

// Issue 15's tighter edges, seen from outside: signed events, tokens and
// headers as a client that lies would send them.

// A deauthorization Stripe retries after the platform connected the
// account again is older than that connection: it changes nothing, like
// an account.updated of the same age.
func TestLateAccountEventsAreStale(t *testing.T) {
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 5000)
	app := map[string]any{"id": "ca_" + randomHex(8), "object": "application", "name": "ClinicPay"}
	deauthorize := func(at time.Time) *response {
		return deliver(t, localstripe.Event("evt_"+randomHex(10), "account.application.deauthorized", tn.Account, app, at)).want(t, http.StatusOK)
	}
	wantApplied(t, deauthorize(time.Now()))
	call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link/regenerate", tn.Staff, nil).wantError(t, 409, "stripe_account_not_connected")
	// The platform connects the account again.
	call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
		"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr", "stripeAccountId": tn.Account,
	}).want(t, 200)
	// A deauthorization of a minute ago arrives now (a retry): stale.
	if r := deauthorize(time.Now().Add(-time.Minute)); r.str("outcome") != "ignored" || r.str("reason") != "stale_event" {
		t.Fatalf("a late deauthorization: %s", r.Raw)
	}
	c := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
	if strings.Contains(string(c.Raw), `"stripe_account_deauthorized"`) {
		t.Fatalf("the reconnected clinic reads disconnected: %s", c.Raw)
	}
	call(t, "POST", "/invoices/"+l.invoiceID+"/payment-link/regenerate", tn.Staff, nil).want(t, 201)
}

// An operator's token with the platform scope that also names a tenant
// is no staff of that tenant: every tenant route refuses it, and what it
// tried changes nothing.
func TestPlatformTokenIsNoTenantsStaff(t *testing.T) {
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 5000)
	for _, scope := range []string{"billing:platform", "billing:admin billing:platform"} {
		tok := token(t, tn.ID, scope)
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/invoices/" + l.invoiceID, nil},
			{"GET", "/invoices?limit=5", nil},
			{"PUT", "/invoices/inv-" + randomHex(5), invoiceBody("F-x", 5000, 5000, "fr")},
			{"POST", "/invoices/" + l.invoiceID + "/payment-link/regenerate", nil},
			{"DELETE", "/invoices/" + l.invoiceID + "/payment-link", nil},
			{"GET", "/payments", nil},
		} {
			call(t, r.method, r.path, tok, r.body).wantError(t, http.StatusForbidden, "forbidden")
		}
	}
	if v := l.view(t); v.str("paymentLink", "id") != l.linkID {
		t.Fatalf("the link changed: %s", v.Raw)
	}
	// On the company's own routes the scope still works.
	call(t, "GET", "/billing-companies/"+tn.ID, token(t, tn.ID, "billing:platform"), nil).want(t, 200)
}

// A Stripe-Signature with a second t= is refused before anything is read:
// stripe-go checks the age and the HMAC with the last one, so a current
// time first could hide a signature made to last.
func TestSignatureWithTwoTimestampsIsRefused(t *testing.T) {
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 5000)
	payload := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(10), "pi_"+randomHex(10), "paid"))
	now, future := time.Now(), time.Now().Add(time.Hour)
	// Signed for an hour from now, with the current time in front.
	header := fmt.Sprintf("t=%d,%s", now.Unix(), sign(payload, localservers.WebhookSecret, future))
	deliverSigned(t, payload, header).wantError(t, http.StatusBadRequest, "invalid_signature")
	if v := l.view(t); v.num("balanceDue") != 5000 || len(v.list("payments")) != 0 {
		t.Fatalf("the event was applied: %s", v.Raw)
	}
	if !strings.Contains(env.logs.String(), `"reason":"ambiguous_timestamp"`) {
		t.Fatal("the refusal's reason is not logged")
	}
	// The same event signed once, as Stripe does, is applied.
	wantApplied(t, deliver(t, payload).want(t, http.StatusOK))
}

// The local stack is in test mode: a live event (a Connect endpoint gets
// both modes' events) is acknowledged, ignored with its reason, and moves
// nothing; the same event in test mode is applied.
func TestEventsOfTheOtherModeAreIgnored(t *testing.T) {
	tn := newTenant(t, "fr")
	l := linkedInvoice(t, tn, 5000)
	withMode := func(payload []byte, live bool) []byte {
		var ev map[string]any
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		ev["livemode"] = live
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	paid := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_live_"+randomHex(10), "pi_"+randomHex(10), "paid"))
	app := map[string]any{"id": "ca_" + randomHex(8), "object": "application", "name": "ClinicPay"}
	deauth := stripeEvent("evt_"+randomHex(10), "account.application.deauthorized", tn.Account, app)
	for _, payload := range [][]byte{paid, deauth} {
		r := deliver(t, withMode(payload, true)).want(t, http.StatusOK)
		if r.str("outcome") != "ignored" || r.str("reason") != "livemode_mismatch" {
			t.Fatalf("a live event at the test stack: %s", r.Raw)
		}
	}
	if v := l.view(t); v.num("balanceDue") != 5000 || len(v.list("payments")) != 0 {
		t.Fatalf("a live event moved the invoice: %s", v.Raw)
	}
	if c := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200); strings.Contains(string(c.Raw), "deauthorized") {
		t.Fatalf("a live event disconnected the clinic: %s", c.Raw)
	}
	if !strings.Contains(env.logs.String(), `"eventReason":"livemode_mismatch"`) {
		t.Fatal("the reason is not logged")
	}
	wantApplied(t, deliver(t, withMode(paid, false)).want(t, http.StatusOK))
}

// Letters that render as nothing (Hangul fillers, the braille blank) are
// refused where invisible characters are: names, the invoice's texts and
// the e-mail's message; nothing is stored or sent.
func TestLettersThatRenderAsNothingAreRefused(t *testing.T) {
	tn := newTenant(t, "fr")
	id := newInvoice(t, tn)
	company := func(name string) map[string]any {
		return map[string]any{"name": name, "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr"}
	}
	invoice := func(set func(map[string]any)) map[string]any {
		b := invoiceBody("F-2026-0042", 12500, 12500, "fr")
		set(b)
		return b
	}
	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"a clinic named with a Hangul filler", "PUT", "/billing-companies/" + tn.ID, company("\u3164"), "name"},
		{"a clinic named with braille blanks", "PUT", "/billing-companies/" + tn.ID, company("\u2800\u2800"), "name"},
		{"a patient named with a halfwidth filler", "PUT", "/invoices/" + id, invoice(func(b map[string]any) {
			b["patient"].(map[string]any)["name"] = "\uffa0"
		}), "patient.name"},
		{"a line described with choseong and jungseong fillers", "PUT", "/invoices/" + id, invoice(func(b map[string]any) {
			b["lines"].([]any)[0].(map[string]any)["description"] = "\u115f\u1160"
		}), "lines[0].description"},
		{"a message with a Hangul filler", "POST", "/invoices/" + id + "/emails", map[string]any{"message": "Bonjour\n\u3164"}, "message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, tc.path, tn.Admin, tc.body).wantError(t, http.StatusBadRequest, "invalid_request")
			if f := r.str("error", "field"); f != tc.field {
				t.Fatalf("field %q, want %q", f, tc.field)
			}
		})
	}
	if c := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200); c.str("name") != "Clinique Saint-Louis" {
		t.Fatalf("the company changed: %s", c.Raw)
	}
	if v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200); v.str("patient", "name") != "Marie Tremblay" || len(v.list("emails")) != 0 {
		t.Fatalf("the invoice changed: %s", v.Raw)
	}
	// An emoji's variation selector, right after it, is a visible name.
	call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, company("Clinique \u2764\ufe0f")).want(t, 200)
}

// The clinic's name is the From's display name: a name that reads as an
// address is refused when saved, and the e-mails keep showing the clinic's
// name from the service's own address.
func TestClinicNameCantPoseAsAnAddress(t *testing.T) {
	tn := newTenant(t, "fr")
	for _, name := range []string{`"Billing" <admin@bank.example>`, "admin@bank.example", "Billing \uff1cadmin\uff20bank.example\uff1e"} {
		r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, map[string]any{
			"name": name, "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr",
		}).wantError(t, http.StatusBadRequest, "invalid_request")
		if r.str("error", "field") != "name" {
			t.Fatalf("%q: %s", name, r.Raw)
		}
	}
	id := newInvoice(t, tn)
	sent := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{}).want(t, http.StatusAccepted)
	for _, h := range sentMail(t, sent.str("messageId")).Headers {
		if h.Name != "From" {
			continue
		}
		from, err := mail.ParseAddress(h.Value)
		if err != nil || from.Name != "Clinique Saint-Louis" || from.Address != "factures@clinicpay.test" {
			t.Fatalf("From %q: %+v %v", h.Value, from, err)
		}
		return
	}
	t.Fatal("no From header")
}

// A replay is the first answer with its headers: a PUT retried under its
// Idempotency-Key gives the same ETag, which the next If-Match needs.
func TestReplayedPutHasItsETag(t *testing.T) {
	tn := newTenant(t, "fr")
	id := "inv-" + randomHex(5)
	key := "put-" + randomHex(8)
	body := invoiceBody("F-"+id, 12500, 12500, "fr")
	first := call(t, "PUT", "/invoices/"+id, tn.Staff, body, "Idempotency-Key", key).want(t, http.StatusCreated)
	again := call(t, "PUT", "/invoices/"+id, tn.Staff, body, "Idempotency-Key", key).want(t, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Raw) != string(first.Raw) {
		t.Fatalf("not a replay: %s", again.Raw)
	}
	etag := first.Header.Get("ETag")
	if etag == "" || again.Header.Get("ETag") != etag || again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Fatalf("ETag: first %q, replay %q", etag, again.Header.Get("ETag"))
	}
	// The replayed ETag is the one an update must name.
	body["balanceDue"] = 10000
	call(t, "PUT", "/invoices/"+id, tn.Staff, body, "If-Match", again.Header.Get("ETag")).want(t, http.StatusOK)
}

// The local scheduler route moves time within a year of the clock only;
// year 9999 and a malformed date get a clear JSON error and run nothing.
func TestLocalSchedulerRefusesFarDates(t *testing.T) {
	tn := newTenant(t, "fr")
	for _, now := range []string{"9999-12-31T23:59:59Z", time.Now().AddDate(1, 1, 0).UTC().Format(time.RFC3339), "0001-01-01T00:00:00Z", "2026-12-20", "demain"} {
		q := url.Values{"now": {now}, "company": {tn.ID}}
		resp, err := http.Post(env.api.URL+"/_local/run/reminders?"+q.Encode(), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || body.Error.Code != "invalid_request" || !strings.Contains(body.Error.Message, "now must be") {
			t.Fatalf("now=%s: %d %+v %v", now, resp.StatusCode, body, err)
		}
	}
	// A date within the year runs.
	runScheduler(t, tn, time.Now().AddDate(0, 11, 0))
}
