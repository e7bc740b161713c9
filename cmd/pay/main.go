// Command pay is make pay: an invoice's payment happens at make dev's local
// Stripe as a patient, their bank or Stripe would bring it about, and the
// signed events go to the webhook, as the local checkout page does.
//
//	make pay INVOICE=F-2026-0042 [OUTCOME=paid|processing|failed|declined|refund[:<cents>]|dispute:<open|won|lost>] [COMPANY=clinic-demo] [IN=idr:928000000000]
//
// IN has the patient pay in another currency, as Stripe's Adaptive Pricing
// shows it (currency and amount in its minor units).
//
// At a Stripe Terminal reader of the local Stripe, a test card is
// presented (Stripe's test helper), which decides the payment waiting on
// the reader, or completes a refund waiting for the card:
//
//	make pay READER=tmr_… [CARD=4242424242424242|4000000000000002|4000000000009995|interac|<Interac number>|cancel] [STATUS=offline|online]
//
// CARD=cancel is the patient pressing Cancel on the reader; STATUS takes
// the reader offline or brings it back.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localstripe"
)

func main() {
	invoice := flag.String("invoice", "", "the invoice's id")
	outcome := flag.String("outcome", "paid", "paid, processing, failed, declined, refund[:<cents>] or dispute:<open|won|lost>")
	company := flag.String("company", "clinic-demo", "the billing company")
	console := flag.String("console", "", "make dev's console (default: the running make dev's, found in its data folder)")
	in := flag.String("in", "", "the patient pays in another currency (Adaptive Pricing): <currency>:<amount in minor units>")
	reader := flag.String("reader", "", "a Terminal reader (tmr_…): present CARD to it, or set its STATUS")
	card := flag.String("card", "", "the test card presented to the reader: a card number, interac (or an Interac number), or cancel")
	status := flag.String("status", "", "the reader goes offline or online")
	flag.Parse()
	if *reader != "" {
		console, found := *console, "-console"
		if console == "" {
			console, found = findConsole()
		}
		exit(atReader(console, *reader, *card, *status), console, found)
		return
	}
	if *invoice == "" {
		fmt.Fprintln(os.Stderr, "usage: make pay INVOICE=<id> [OUTCOME=paid|processing|failed|declined|refund[:<cents>]|dispute:<open|won|lost>] [COMPANY=<id>]")
		os.Exit(2)
	}
	found := "-console"
	if *console == "" {
		*console, found = findConsole()
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
	exit(run(*console, req), *console, found)
}

// exit reports err, if any, and ends with status 1.
func exit(err error, console, found string) {
	if err == nil {
		return
	}
	if errors.Is(err, errNoConsole) {
		fmt.Fprintf(os.Stderr, "make pay: no make dev console at %s (from %s): %v\n"+
			"Is make dev running? make pay finds it through %s in make dev's data folder;\n"+
			"if make dev runs with another DEV_DATA, give make pay the same DEV_DATA (or CONSOLE_PORT).\n", console, found, err, consoleURLFile)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "make pay:", err)
	os.Exit(1)
}

var errNoConsole = errors.New("make dev's console does not answer")

// consoleURLFile is where make dev (cmd/dev) writes its console's URL, in
// its data folder, while it runs.
const consoleURLFile = "console.url"

// findConsole is the running make dev's console: CONSOLE_PORT when set,
// else the URL make dev wrote in its data folder (DEV_DATA, or .dev), else
// the default port. It also says where it found it.
func findConsole() (url, from string) {
	if port := os.Getenv("CONSOLE_PORT"); port != "" {
		return "http://localhost:" + port, "CONSOLE_PORT"
	}
	dir := os.Getenv("DEV_DATA")
	if dir == "" {
		if root, err := samtemplate.RepoRoot(); err == nil {
			dir = filepath.Join(root, ".dev")
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, consoleURLFile)); err == nil && strings.HasPrefix(string(b), "http") {
		return strings.TrimSpace(string(b)), filepath.Join(dir, consoleURLFile)
	}
	return "http://localhost:3001", "the default port"
}

// answer is what the console's local endpoints answer: the events
// delivered, or the tester's mistake.
type answer struct {
	Deliveries []localstripe.Delivery          `json:"deliveries"`
	Error      *struct{ Code, Message string } `json:"error"`
}

// post sends body to the console and reads its answer into out (which
// embeds answer), printing the events delivered.
func post(url, contentType string, body []byte, out any, a *answer) error {
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", errNoConsole, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("make dev answered %d: %s", resp.StatusCode, raw)
	}
	printDeliveries(a.Deliveries)
	if a.Error != nil {
		return fmt.Errorf("%s: %s", a.Error.Code, a.Error.Message)
	}
	return nil
}

func run(console string, req map[string]any) error {
	body, _ := json.Marshal(req)
	var out struct {
		answer
		Payment *localstripe.Payment `json:"payment"`
	}
	if err := post(console+"/_local/stripe/pay", "application/json", body, &out, &out.answer); err != nil {
		return err
	}
	if p := out.Payment; p != nil {
		fmt.Printf("payment %s: %d %s by %s, %s\n", p.PaymentIntent, p.Amount, p.Currency, p.Method, p.Status)
	} else {
		fmt.Println("declined: no payment; the link still takes one")
	}
	return nil
}

// printDeliveries prints each event sent to the webhook and its answer.
func printDeliveries(ds []localstripe.Delivery) {
	for _, d := range ds {
		line := fmt.Sprintf("  %-42s → %d %s", d.Type, d.Status, d.Outcome)
		if d.Reason != "" {
			line += " (" + d.Reason + ")"
		}
		fmt.Println(line)
	}
}
