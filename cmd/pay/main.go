// Command pay is make pay: an invoice's payment happens at make dev's local
// Stripe as a patient, their bank or Stripe would bring it about, and the
// signed events go to the webhook, as the local checkout page does.
//
//	make pay INVOICE=F-2026-0042 [OUTCOME=paid|processing|failed|declined|refund[:<cents>]|dispute:<open|won|lost>] [COMPANY=clinic-demo] [IN=idr:928000000000]
//
// IN has the patient pay in another currency, as Stripe's Adaptive Pricing
// shows it (currency and amount in its minor units).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/clinicpay/payments/infra/localstripe"
)

func main() {
	invoice := flag.String("invoice", "", "the invoice's id")
	outcome := flag.String("outcome", "paid", "paid, processing, failed, declined, refund[:<cents>] or dispute:<open|won|lost>")
	company := flag.String("company", "clinic-demo", "the billing company")
	console := flag.String("console", "", "make dev's console (default http://localhost:$CONSOLE_PORT, 3001)")
	in := flag.String("in", "", "the patient pays in another currency (Adaptive Pricing): <currency>:<amount in minor units>")
	flag.Parse()
	if *invoice == "" {
		fmt.Fprintln(os.Stderr, "usage: make pay INVOICE=<id> [OUTCOME=paid|processing|failed|declined|refund[:<cents>]|dispute:<open|won|lost>] [COMPANY=<id>]")
		os.Exit(2)
	}
	if *console == "" {
		port := os.Getenv("CONSOLE_PORT")
		if port == "" {
			port = "3001"
		}
		*console = "http://localhost:" + port
	}
	req := map[string]any{"company": *company, "invoice": *invoice, "outcome": *outcome}
	if *in != "" {
		cur, amount, ok := strings.Cut(*in, ":")
		n, err := strconv.ParseInt(amount, 10, 64)
		if !ok || err != nil {
			fmt.Fprintln(os.Stderr, "make pay: IN is <currency>:<amount in minor units>, e.g. idr:928000000000")
			os.Exit(2)
		}
		req["presentmentCurrency"], req["presentmentAmount"] = cur, n
	}
	if err := run(*console, req); err != nil {
		fmt.Fprintln(os.Stderr, "make pay:", err)
		os.Exit(1)
	}
}

func run(console string, req map[string]any) error {
	body, _ := json.Marshal(req)
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Post(console+"/_local/stripe/pay", "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("is make dev running? %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Payment    *localstripe.Payment            `json:"payment"`
		Deliveries []localstripe.Delivery          `json:"deliveries"`
		Error      *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("make dev answered %d: %s", resp.StatusCode, raw)
	}
	for _, d := range out.Deliveries {
		line := fmt.Sprintf("  %-42s → %d %s", d.Type, d.Status, d.Outcome)
		if d.Reason != "" {
			line += " (" + d.Reason + ")"
		}
		fmt.Println(line)
	}
	if out.Error != nil {
		return fmt.Errorf("%s: %s", out.Error.Code, out.Error.Message)
	}
	if p := out.Payment; p != nil {
		fmt.Printf("payment %s: %d %s by %s, %s\n", p.PaymentIntent, p.Amount, p.Currency, p.Method, p.Status)
	} else {
		fmt.Println("declined: no payment; the link still takes one")
	}
	return nil
}
