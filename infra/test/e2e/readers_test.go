package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/dynamostore"
)

// A clinic's Stripe Terminal readers against the local servers: its
// address and Location, POST, GET and DELETE /readers, each clinic's
// readers its own, at Stripe and here.

func clinicAddress() map[string]any {
	return map[string]any{"line1": "1000 rue Sherbrooke O", "line2": "Bureau 200", "city": "Montréal",
		"state": "qc", "postalCode": "h3a3g4", "country": "CA"}
}

// readerTenant is a clinic with a connected account and an address.
func readerTenant(t *testing.T) *tenant {
	t.Helper()
	tn := newTenant(t, "fr")
	settings(t, tn, map[string]any{"address": clinicAddress()})
	return tn
}

func registerReader(t *testing.T, tn *tenant, label string, header ...string) *response {
	t.Helper()
	return call(t, "POST", "/readers", tn.Admin, map[string]any{"registrationCode": "simulated-wpe", "label": label}, header...)
}

func TestCompanyAddress(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	base := map[string]any{"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr"}
	with := func(address any) map[string]any {
		b := map[string]any{"address": address}
		for k, v := range base {
			b[k] = v
		}
		return b
	}
	r := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, with(clinicAddress())).want(t, 200)
	want := string(mustJSON(t, map[string]any{"line1": "1000 rue Sherbrooke O", "line2": "Bureau 200", "city": "Montréal",
		"state": "QC", "postalCode": "H3A 3G4", "country": "CA"}))
	if got := string(mustJSON(t, r.JSON["address"])); got != want {
		t.Fatalf("address %s, want %s", got, want)
	}
	// Absent keeps it.
	if got := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, base).want(t, 200); string(mustJSON(t, got.JSON["address"])) != want {
		t.Fatalf("kept: %s", got.Raw)
	}
	bad := []struct {
		name, field string
		change      func(a map[string]any)
	}{
		{"no line1", "address.line1", func(a map[string]any) { delete(a, "line1") }},
		{"France", "address.country", func(a map[string]any) { a["country"] = "FR" }},
		{"a state in Canada", "address.state", func(a map[string]any) { a["state"] = "NY" }},
		{"a Toronto code in Quebec", "address.postalCode", func(a map[string]any) { a["postalCode"] = "M5V 2T6" }},
		{"a ZIP code in Canada", "address.postalCode", func(a map[string]any) { a["postalCode"] = "05401" }},
		{"an unknown field", "address.street", func(a map[string]any) { a["street"] = "x" }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			a := clinicAddress()
			tc.change(a)
			e := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, with(a)).wantError(t, 400, "invalid_request")
			if e.str("error", "field") != tc.field {
				t.Fatalf("field %q, want %q", e.str("error", "field"), tc.field)
			}
		})
	}
	us := map[string]any{"line1": "1 Main St", "city": "Burlington", "state": "VT", "postalCode": "05401-1234", "country": "US"}
	if got := call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, with(us)).want(t, 200); got.str("address", "state") != "VT" {
		t.Fatalf("US: %s", got.Raw)
	}
}

// TestRegisterReaders: the contract's answers to POST /readers, and one
// Location made at Stripe for all of a clinic's readers.
func TestRegisterReaders(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	noAddress := newTenant(t, "fr")
	noAccount := bareTenant(t)
	call(t, "PUT", "/billing-companies/"+noAccount.ID, noAccount.Admin, map[string]any{"name": "Clinique Neuve",
		"replyToEmail": "n@clinique.example", "defaultLanguage": "fr", "address": clinicAddress()}).want(t, 200)
	simulated := map[string]any{"registrationCode": "simulated-wpe", "label": "Front desk"}
	tests := []struct {
		name   string
		tok    string
		body   any
		status int
		code   string
	}{
		{"no address", noAddress.Admin, simulated, 409, "address_required"},
		{"no Stripe account", noAccount.Admin, simulated, 409, "stripe_account_not_connected"},
		{"no company record", bareTenant(t).Admin, simulated, 409, "billing_company_not_configured"},
		{"staff", tn.Staff, simulated, 403, "forbidden"},
		{"a code Stripe refuses", tn.Admin, map[string]any{"registrationCode": "apple-grape-orange", "label": "Desk"}, 422, "reader_registration_failed"},
		{"no label", tn.Admin, map[string]any{"registrationCode": "simulated-wpe"}, 400, "invalid_request"},
		{"an unknown field", tn.Admin, map[string]any{"registrationCode": "simulated-wpe", "label": "Desk", "location": "tml_1"}, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call(t, "POST", "/readers", tc.tok, tc.body).wantError(t, tc.status, tc.code)
		})
	}
	a := registerReader(t, tn, "Front desk").want(t, 201)
	b := registerReader(t, tn, "Back office").want(t, 201)
	if !strings.HasPrefix(a.str("id"), "tmr_") || a.str("id") == b.str("id") || a.str("label") != "Front desk" ||
		a.str("status") != "online" || a.str("deviceType") != "simulated_wisepos_e" || a.str("createdAt") == "" {
		t.Fatalf("readers %s %s", a.Raw, b.Raw)
	}
	calls := stripeCalls(tn.Account)
	if n := countCalls(calls, "POST", "/v1/terminal/locations"); n != 1 {
		t.Fatalf("%d Locations made, want 1", n)
	}
	for _, c := range calls {
		if c.Path == "/v1/terminal/locations" && (c.Form.Get("address[state]") != "QC" || c.Form.Get("address[postal_code]") != "H3A 3G4") {
			t.Fatalf("Location made from %v", c.Form)
		}
	}
	if n := len(env.truth.Readers(tn.Account)); n != 2 {
		t.Fatalf("%d readers at Stripe, want 2", n)
	}
}

// TestReaderLocationFollowsAddress: after the clinic's address changes,
// the next reader is registered at a Location made at the new address
// (once, however many readers follow); the reader registered before stays
// at the first Location (Stripe can't move a reader).
func TestReaderLocationFollowsAddress(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	first := registerReader(t, tn, "Front desk").want(t, 201).str("id")
	moved := map[string]any{"line1": "5 rue Saint-Joseph", "city": "Québec", "state": "QC", "postalCode": "G1K 3A9", "country": "CA"}
	settings(t, tn, map[string]any{"address": moved})
	second := registerReader(t, tn, "Reception").want(t, 201).str("id")
	third := registerReader(t, tn, "Back office").want(t, 201).str("id")
	// Each Location Stripe made, by its id, with its postal code.
	made := map[string]string{}
	for _, c := range stripeCalls(tn.Account) {
		var l struct{ ID string }
		if c.Method == "POST" && c.Path == "/v1/terminal/locations" && c.Status == 200 && json.Unmarshal(c.Response, &l) == nil {
			made[l.ID] = c.Form.Get("address[postal_code]")
		}
	}
	at := func(reader string) string { return made[env.truth.Reader(reader).Location] }
	if len(made) != 2 || at(first) != "H3A 3G4" || at(second) != "G1K 3A9" || at(third) != "G1K 3A9" {
		t.Fatalf("Locations made %v; readers at %q, %q, %q", made, at(first), at(second), at(third))
	}
}

// TestRegisterReaderRetried: a registration whose answer Stripe never
// gave (an outage) frees its Idempotency-Key; the retry registers one
// reader, and a retry of that gets the same answer.
func TestRegisterReaderRetried(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	outage := env.stripe.Inject(faultproxy.Rule{
		Match: func(r *faultproxy.Request) bool {
			return r.Path == "/v1/terminal/readers" && r.Header.Get("Stripe-Account") == tn.Account
		},
		Times: 1, Status: 500, Body: `{"error":{"type":"api_error","message":"boom"}}`, Header: jsonHeader,
	})
	t.Cleanup(func() { env.stripe.Remove(outage) })
	key := "register-" + randomHex(6)
	registerReader(t, tn, "Front desk", "Idempotency-Key", key).wantError(t, 503, "payment_provider_unavailable")
	first := registerReader(t, tn, "Front desk", "Idempotency-Key", key).want(t, 201)
	again := registerReader(t, tn, "Front desk", "Idempotency-Key", key).want(t, 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.str("id") != first.str("id") {
		t.Fatalf("retry: %s %s", again.Header, again.Raw)
	}
	if n := len(env.truth.Readers(tn.Account)); n != 1 {
		t.Fatalf("%d readers at Stripe, want 1", n)
	}
	if n := len(call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers")); n != 1 {
		t.Fatalf("%d readers listed, want 1", n)
	}
}

// TestReaderLimit: eight registrations racing for a clinic's 50th place
// (against DynamoDB Local and the local Stripe): exactly one is
// registered, the others answer 409 limit_reached and leave no reader at
// Stripe; the 51st is refused; deleting one makes room.
func TestReaderLimit(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	for i := range billing.MaxReaders - 1 {
		registerReader(t, tn, fmt.Sprintf("Desk %d", i+1)).want(t, 201)
	}
	const racers = 8
	answers := make([]*response, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = registerReader(t, tn, fmt.Sprintf("Racer %d", i+1))
		}()
	}
	wg.Wait()
	var last string
	for _, a := range answers {
		if a.Status == 201 {
			if last != "" {
				t.Fatalf("two racers registered: %s and %s", last, a.str("id"))
			}
			last = a.str("id")
			continue
		}
		a.wantError(t, 409, "limit_reached")
	}
	listed := call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers")
	if last == "" || len(listed) != billing.MaxReaders || len(env.truth.Readers(tn.Account)) != billing.MaxReaders {
		t.Fatalf("won by %q; %d listed, %d at Stripe", last, len(listed), len(env.truth.Readers(tn.Account)))
	}
	registerReader(t, tn, "One more").wantError(t, 409, "limit_reached")
	call(t, "DELETE", "/readers/"+last, tn.Admin, nil).want(t, 204)
	registerReader(t, tn, "One more").want(t, 201)
}

// TestReaders: GET lists a clinic's readers with their status and the
// invoice each is taking; one taking a payment is not deleted; a free one
// goes at Stripe and here.
func TestReaders(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	if got := call(t, "GET", "/readers", tn.Staff, nil).want(t, 200); string(got.Raw) != `{"readers":[]}` {
		t.Fatalf("no readers: %s", got.Raw)
	}
	busy := registerReader(t, tn, "Front desk").want(t, 201).str("id")
	free := registerReader(t, tn, "Back office").want(t, 201).str("id")
	takePayment(t, tn, busy, "inv-1")
	list := call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers")
	if len(list) != 2 || list[0]["id"] != busy || list[1]["id"] != free || list[0]["status"] != "online" ||
		fmt.Sprint(list[0]["payment"]) != "map[invoiceId:inv-1]" || list[1]["payment"] != nil {
		t.Fatalf("listed %v", list)
	}
	key := func() []string { return []string{"Idempotency-Key", "delete-" + randomHex(6)} }
	call(t, "DELETE", "/readers/"+busy, tn.Admin, nil, key()...).wantError(t, 409, "reader_busy")
	call(t, "DELETE", "/readers/"+free, tn.Staff, nil).wantError(t, 403, "forbidden")
	call(t, "DELETE", "/readers/"+free, tn.Admin, nil, key()...).want(t, 204)
	call(t, "DELETE", "/readers/"+free, tn.Admin, nil, key()...).wantError(t, 404, "not_found")
	at := env.truth.Readers(tn.Account)
	if len(at) != 1 || at[0].ID != busy {
		t.Fatalf("at Stripe: %+v", at)
	}
	if list := call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers"); len(list) != 1 || list[0]["id"] != busy {
		t.Fatalf("listed %v", list)
	}
}

// TestReadersAreTheClinics: another clinic's reader answers 404 on every
// route and is never listed; its id reaches Stripe under its own clinic's
// account only.
func TestReadersAreTheClinics(t *testing.T) {
	t.Parallel()
	mine, theirs := readerTenant(t), readerTenant(t)
	id := registerReader(t, theirs, "Their desk").want(t, 201).str("id")
	registerReader(t, mine, "My desk").want(t, 201)
	call(t, "DELETE", "/readers/"+id, mine.Admin, nil).wantError(t, 404, "not_found")
	call(t, "DELETE", "/readers/tmr_nobody", mine.Admin, nil).wantError(t, 404, "not_found")
	for _, r := range call(t, "GET", "/readers", mine.Staff, nil).want(t, 200).list("readers") {
		if r["id"] == id {
			t.Fatalf("another clinic's reader listed: %v", r)
		}
	}
	for _, c := range env.stripe.Requests(func(r *faultproxy.Request) bool { return strings.Contains(r.Path, id) }) {
		if acct := c.Header.Get("Stripe-Account"); acct != theirs.Account {
			t.Fatalf("%s %s under %s", c.Method, c.Path, acct)
		}
	}
	if len(env.truth.Readers(theirs.Account)) != 1 {
		t.Fatal("their reader was deleted")
	}
}

// TestReaderStatusIsStripes: GET shows the status Stripe gives now, and a
// reader Stripe no longer has (deleted in the Dashboard) as offline.
func TestReaderStatusIsStripes(t *testing.T) {
	t.Parallel()
	tn := readerTenant(t)
	gone := registerReader(t, tn, "Front desk").want(t, 201).str("id")
	status, body, _ := env.desk.Answer(http.MethodDelete, "/v1/terminal/readers/"+gone, http.Header{"Stripe-Account": {tn.Account}}, nil, nil)
	if status != 200 {
		t.Fatalf("deleting at Stripe: %d %s", status, body)
	}
	list := call(t, "GET", "/readers", tn.Staff, nil).want(t, 200).list("readers")
	if len(list) != 1 || list[0]["status"] != "offline" {
		t.Fatalf("listed %v", list)
	}
	// Deleting it here still works: Stripe has it deleted already.
	call(t, "DELETE", "/readers/"+gone, tn.Admin, nil).want(t, 204)
}

// takePayment marks a reader as taking an invoice's payment, as the
// reader-payment use case records it.
func takePayment(t *testing.T, tn *tenant, readerID, invoiceID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := dynamostore.New(env.db, env.table)
	r, err := store.GetReader(ctx, tn.ID, readerID)
	if err != nil {
		t.Fatal(err)
	}
	r.InvoiceID, r.Version, r.UpdatedAt = invoiceID, r.Version+1, time.Now().UTC()
	if err := store.SaveReader(ctx, r); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
