package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// atReader presents a test card to a reader of make dev's local Stripe
// (Stripe's test helper's form), has the patient cancel on it, or sets its
// status, and prints the events sent and the reader's action.
func atReader(console, reader, card, status string) error {
	base := console + "/_local/terminal/readers/" + url.PathEscape(reader)
	var path, ctype, body string
	switch {
	case status != "":
		path, ctype, body = base+"/status", "application/json", fmt.Sprintf(`{"status":%q}`, status)
	case card == "cancel":
		path, ctype = base+"/cancel", "application/json"
	default:
		path, ctype, body = base+"/present_payment_method", "application/x-www-form-urlencoded", presented(card).Encode()
	}
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Post(path, ctype, bytes.NewReader([]byte(body)))
	if err != nil {
		return fmt.Errorf("%w: %w", errNoConsole, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		ID, Status string
		Action     *struct {
			Type, Status string
			FailureCode  string `json:"failure_code"`
		}
		Deliveries []localstripe.Delivery          `json:"deliveries"`
		Error      *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("make dev answered %d: %s", resp.StatusCode, raw)
	}
	printDeliveries(out.Deliveries)
	if out.Error != nil {
		return fmt.Errorf("%s: %s", out.Error.Code, out.Error.Message)
	}
	line := fmt.Sprintf("reader %s: %s", out.ID, out.Status)
	if a := out.Action; a != nil {
		line += fmt.Sprintf(", %s %s", a.Type, a.Status)
		if a.FailureCode != "" {
			line += " (" + a.FailureCode + ")"
		}
	}
	fmt.Println(line)
	return nil
}

// presented is the test helper's form for CARD: a card number
// (4242424242424242 when empty), interac or an Interac number (4506…).
func presented(card string) url.Values {
	switch {
	case card == "" || card == "card":
		return url.Values{"type": {"card_present"}, "card_present[number]": {"4242424242424242"}}
	case card == "interac":
		return url.Values{"type": {"interac_present"}}
	case strings.HasPrefix(card, "4506"):
		return url.Values{"type": {"interac_present"}, "interac_present[number]": {card}}
	}
	return url.Values{"type": {"card_present"}, "card_present[number]": {card}}
}
