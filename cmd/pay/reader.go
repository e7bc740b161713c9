package main

import (
	"fmt"
	"net/url"
	"strings"
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
	var out struct {
		answer
		ID, Status string
		Action     *struct {
			Type, Status string
			FailureCode  string `json:"failure_code"`
		}
	}
	if err := post(path, ctype, []byte(body), &out, &out.answer); err != nil {
		return err
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
