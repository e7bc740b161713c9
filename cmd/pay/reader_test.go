package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/local/devconsole"
	"github.com/clinicpay/payments/infra/local/localstripe"
)

// TestPayAtReader: make pay READER=… CARD=… presents the card at the
// console's local Stripe: a decline, then an approval by Interac on the
// same PaymentIntent; STATUS takes the reader offline, and a card at an
// offline reader is refused.
func TestPayAtReader(t *testing.T) {
	var sent []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Type string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		sent = append(sent, ev.Type)
		_, _ = io.WriteString(w, `{"received":true,"outcome":"applied"}`)
	}))
	defer hook.Close()
	state, _ := localstripe.Open("")
	sim := &localstripe.Simulator{State: state, WebhookURL: hook.URL, Secret: "whsec_x"}
	console := httptest.NewServer(devconsole.New(devconsole.Config{Stripe: sim}))
	defer console.Close()
	call := func(path string, form url.Values) map[string]any {
		_, body, _ := sim.Answer(http.MethodPost, path, http.Header{"Stripe-Account": {"acct_1Clinic"}}, nil, form)
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		return out
	}
	reader := call("/v1/terminal/readers", url.Values{"registration_code": {"simulated-wpe"}})["id"].(string)
	pi := call("/v1/payment_intents", url.Values{"amount": {"5000"}, "currency": {"cad"}, "payment_method_types[0]": {"card_present"},
		"payment_method_types[1]": {"interac_present"}, "capture_method": {"manual"}})["id"].(string)
	process := func() {
		call("/v1/terminal/readers/"+reader+"/process_payment_intent", url.Values{"payment_intent": {pi}})
	}

	process()
	if err := atReader(console.URL, reader, "4000000000000002", ""); err != nil {
		t.Fatal(err)
	}
	process()
	if err := atReader(console.URL, reader, "interac", ""); err != nil || sim.State.Intent(pi).Status != localstripe.IntentSucceeded {
		t.Fatalf("%v %+v", err, sim.State.Intent(pi))
	}
	if got := strings.Join(sent, ","); got != "terminal.reader.action_failed,payment_intent.payment_failed,terminal.reader.action_succeeded,payment_intent.succeeded" {
		t.Fatalf("sent %s", got)
	}
	if err := atReader(console.URL, reader, "", localstripe.ReaderOffline); err != nil || sim.State.Reader(reader).Status != localstripe.ReaderOffline {
		t.Fatal(err)
	}
	if err := atReader(console.URL, reader, "", ""); err == nil || !strings.Contains(err.Error(), "terminal_reader_offline") {
		t.Fatalf("a card at an offline reader: %v", err)
	}
}
