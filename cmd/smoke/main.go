// Command smoke runs the service's core flow against a running API (make
// smoke): read the billing company, store an invoice, add a payment link,
// regenerate it, remove it, e-mail the invoice with a link to a test
// address, and remove that link again, so nothing payable is left behind.
// It runs against a deployed stack in Stripe test mode (it refuses a live
// link), and, in make test, against make dev.
//
//	make smoke API=https://… TOKEN=<staff token> ADMIN_TOKEN=<billing:admin token> [EMAIL=…] [ORIGIN=https://billing.…]
//
// With ORIGIN (the front end's origin), it first asks as a browser on that
// origin would: a CORS preflight for a PUT with every header the front
// end sends, then a GET whose ETag the front end must be able to read.
//
// The tokens come from the environment (SMOKE_TOKEN, SMOKE_ADMIN_TOKEN),
// not the command line, so they don't show in the process list. The
// invoice (smoke-<time>) stays in the table: the API has no delete.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Config is one smoke run's settings.
type Config struct {
	API        string // base URL, no trailing slash
	Token      string // staff token of the smoke tenant
	AdminToken string // the same tenant's token with billing:admin
	// Email receives the invoice e-mail; SES's mailbox simulator by
	// default (no real inbox, no effect on the account's reputation).
	Email string
	// TenantClaim names the token claim holding the billing company.
	TenantClaim string
	// Origin is the front end's origin; empty skips the CORS checks.
	Origin  string
	Timeout time.Duration
}

func main() {
	cfg := Config{Token: os.Getenv("SMOKE_TOKEN"), AdminToken: os.Getenv("SMOKE_ADMIN_TOKEN")}
	flag.StringVar(&cfg.API, "api", os.Getenv("SMOKE_API"), "the API's base URL (stack output ApiUrl)")
	flag.StringVar(&cfg.Email, "email", "success@simulator.amazonses.com", "where the test e-mail goes")
	flag.StringVar(&cfg.TenantClaim, "tenant-claim", "billing_company_id", "the token claim naming the billing company")
	flag.StringVar(&cfg.Origin, "origin", "", "the front end's origin, for a CORS preflight as its browser sends it (CorsAllowedOrigins)")
	flag.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "the whole run's limit")
	flag.Parse()
	if cfg.API == "" || cfg.Token == "" || cfg.AdminToken == "" {
		fmt.Fprintln(os.Stderr, "usage: SMOKE_TOKEN=… SMOKE_ADMIN_TOKEN=… smoke -api https://… [-email addr]   (make smoke API=… TOKEN=… ADMIN_TOKEN=…)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if err := Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAILED:", err)
		os.Exit(1)
	}
}

// Run runs the flow, printing one line per step, and cleans up what it
// made even when a step fails.
func Run(ctx context.Context, cfg Config, out io.Writer) (err error) {
	cfg.API = strings.TrimRight(cfg.API, "/")
	company, err := claim(cfg.AdminToken, cfg.TenantClaim)
	if err != nil {
		return err
	}
	if staff, err := claim(cfg.Token, cfg.TenantClaim); err != nil || staff != company {
		return fmt.Errorf("TOKEN and ADMIN_TOKEN must name the same billing company (%q, %q): %v", staff, company, err)
	}
	c := &client{cfg: cfg, run: "smoke-" + time.Now().UTC().Format("20060102-150405") + "-" + randomHex(3)}
	step := func(format string, args ...any) { fmt.Fprintf(out, "ok  "+format+"\n", args...) }

	// 1. The company: configured, with a connected Stripe account.
	var co struct {
		StripeAccountID *string  `json:"stripeAccountId"`
		ChargesEnabled  *bool    `json:"chargesEnabled"`
		DefaultLanguage string   `json:"defaultLanguage"`
		DefaultCurrency *string  `json:"defaultCurrency"`
		Warnings        []string `json:"warnings"`
	}
	if err := c.do(ctx, "GET", "/billing-companies/"+company, cfg.AdminToken, nil, 200, &co); err != nil {
		return fmt.Errorf("company read: %w", err)
	}
	if co.StripeAccountID == nil || slices.Contains(co.Warnings, "stripe_account_not_connected") {
		return fmt.Errorf("billing company %s has no connected Stripe account (warnings %v): configure it first (docs/deploy.md)", company, co.Warnings)
	}
	step("company %s read: Stripe account %s, charges enabled %v", company, *co.StripeAccountID, co.ChargesEnabled != nil && *co.ChargesEnabled)
	if cfg.Origin != "" {
		if err := c.cors(ctx, company); err != nil {
			return fmt.Errorf("CORS from %s: %w", cfg.Origin, err)
		}
		step("CORS: a browser on %s may send %s and read %s", cfg.Origin, strings.Join(frontEndHeaders, ", "), strings.Join(frontEndReads, ", "))
	}

	// 2. An invoice of 1.00 in the account's currency.
	currency := "cad"
	if co.DefaultCurrency != nil && slices.Contains([]string{"cad", "usd", "eur", "gbp"}, *co.DefaultCurrency) {
		currency = *co.DefaultCurrency
	}
	lang := co.DefaultLanguage
	if lang == "" {
		lang = "en"
	}
	invoice := "/invoices/" + c.run
	body := map[string]any{
		"number": strings.ToUpper(c.run), "currency": currency, "total": 100, "balanceDue": 100,
		"issuedOn": time.Now().UTC().Format("2006-01-02"),
		"patient":  map[string]any{"name": "Smoke Test", "email": cfg.Email, "language": lang},
		"lines":    []any{map[string]any{"description": "Smoke test", "amount": 100}},
	}
	if err := c.do(ctx, "PUT", invoice, cfg.Token, body, 201, nil); err != nil {
		return fmt.Errorf("invoice: %w", err)
	}
	step("invoice %s stored (1.00 %s)", c.run, strings.ToUpper(currency))

	// From here on, a link may exist: end it whatever happens.
	defer func() {
		if cerr := c.cleanUp(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean-up: %w", cerr))
		} else {
			step("clean-up: no payable link left on %s", c.run)
		}
	}()

	// 3. A payment link, in Stripe test mode.
	var link linkView
	if err := c.do(ctx, "POST", invoice+"/payment-link", cfg.Token, nil, 201, &link); err != nil {
		return fmt.Errorf("payment link: %w", err)
	}
	// Stripe's test-mode links have /test_ in their path; make dev's are
	// its local checkout, on this machine.
	if !strings.Contains(link.URL, "/test_") && !strings.HasPrefix(link.URL, "http://localhost:") && !strings.HasPrefix(link.URL, "http://127.0.0.1:") {
		return fmt.Errorf("the link %s is not a Stripe test-mode link: run the smoke test only against a stack in test mode", link.ID)
	}
	step("payment link %s made (test mode)", link.ID)

	// 4. Regenerate: a new link, the old one kept as replaced.
	var again linkView
	if err := c.do(ctx, "POST", invoice+"/payment-link/regenerate", cfg.Token, nil, 201, &again); err != nil {
		return fmt.Errorf("regenerate: %w", err)
	}
	v, err := c.invoice(ctx)
	if err != nil {
		return err
	}
	if v.PaymentLink == nil || v.PaymentLink.ID != again.ID || len(v.Links) != 2 || v.Links[0].Status != "replaced" {
		return fmt.Errorf("regenerate: the invoice's links are %+v, want the first replaced and %s active", v.Links, again.ID)
	}
	step("payment link regenerated: %s, the previous one replaced", again.ID)

	// 5. Remove it.
	if err := c.do(ctx, "DELETE", invoice+"/payment-link", cfg.Token, nil, 204, nil); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if v, err = c.invoice(ctx); err != nil {
		return err
	}
	if v.PaymentLink != nil || v.Links[len(v.Links)-1].Status != "removed" {
		return fmt.Errorf("remove: the invoice still has an active link (%+v)", v.Links)
	}
	step("payment link removed")

	// 6. E-mail the invoice with a new link to the test address.
	var sent struct {
		MessageID   string    `json:"messageId"`
		To          string    `json:"to"`
		PaymentLink *linkView `json:"paymentLink"`
	}
	if err := c.do(ctx, "POST", invoice+"/emails", cfg.Token, map[string]any{"includePaymentLink": true, "to": cfg.Email}, 202, &sent); err != nil {
		return fmt.Errorf("e-mail: %w", err)
	}
	if sent.MessageID == "" || sent.To != cfg.Email || sent.PaymentLink == nil {
		return fmt.Errorf("e-mail: answer %+v", sent)
	}
	step("invoice e-mailed to %s (SES message %s) with link %s", sent.To, sent.MessageID, sent.PaymentLink.ID)
	return nil
}

// The headers the front end sends on a write, and those it reads
// (docs/openapi.yaml; infra/aws/cfntemplate checks the deployed API allows
// every one).
var (
	frontEndHeaders = []string{"authorization", "content-type", "idempotency-key", "if-match"}
	frontEndReads   = []string{"etag"}
)

// cors asks as the front end's browser does: the preflight of a PUT with
// every header the front end sends, which API Gateway answers itself,
// then a GET from the origin, whose ETag must be readable.
func (c *client) cors(ctx context.Context, company string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, c.cfg.API+"/invoices/"+c.run, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", c.cfg.Origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPut)
	req.Header.Set("Access-Control-Request-Headers", strings.Join(frontEndHeaders, ","))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	resp.Body.Close()
	h := resp.Header
	if o := h.Get("Access-Control-Allow-Origin"); o != c.cfg.Origin && o != "*" {
		return fmt.Errorf("preflight: %d, Access-Control-Allow-Origin %q (is %s in CorsAllowedOrigins?)", resp.StatusCode, o, c.cfg.Origin)
	}
	if !listHas(h.Get("Access-Control-Allow-Methods"), http.MethodPut) {
		return fmt.Errorf("preflight: Access-Control-Allow-Methods %q lacks PUT", h.Get("Access-Control-Allow-Methods"))
	}
	for _, want := range frontEndHeaders {
		if !listHas(h.Get("Access-Control-Allow-Headers"), want) {
			return fmt.Errorf("preflight: Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
		}
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.API+"/billing-companies/"+company, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", c.cfg.Origin)
	req.Header.Set("Authorization", "Bearer "+c.cfg.AdminToken)
	if resp, err = c.http.Do(req); err != nil {
		return fmt.Errorf("GET from the origin: %w", err)
	}
	resp.Body.Close()
	for _, want := range frontEndReads {
		if !listHas(resp.Header.Get("Access-Control-Expose-Headers"), want) {
			return fmt.Errorf("GET from the origin: %d, Access-Control-Expose-Headers %q lacks %s", resp.StatusCode, resp.Header.Get("Access-Control-Expose-Headers"), want)
		}
	}
	return nil
}

// listHas: a comma-separated header value holds v (case-insensitive), or *.
func listHas(list, v string) bool {
	for _, x := range strings.Split(list, ",") {
		if x = strings.TrimSpace(x); x == "*" || strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

type linkView struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Status string `json:"status"`
}

type invoiceView struct {
	PaymentLink *linkView  `json:"paymentLink"`
	Links       []linkView `json:"links"`
}

type client struct {
	cfg  Config
	run  string
	http http.Client
	n    int
}

func (c *client) invoice(ctx context.Context) (*invoiceView, error) {
	var v invoiceView
	if err := c.do(ctx, "GET", "/invoices/"+c.run, c.cfg.Token, nil, 200, &v); err != nil {
		return nil, fmt.Errorf("invoice read: %w", err)
	}
	return &v, nil
}

// cleanUp ends the invoice's active link, if any.
func (c *client) cleanUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	v, err := c.invoice(ctx)
	if err != nil || v.PaymentLink == nil {
		return err
	}
	return c.do(ctx, "DELETE", "/invoices/"+c.run+"/payment-link", c.cfg.Token, nil, 204, nil)
}

// do sends one request (with an Idempotency-Key when it changes
// something) and decodes a JSON answer of the expected status into dst.
func (c *client) do(ctx context.Context, method, path, token string, body any, want int, dst any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.API+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" {
		c.n++
		req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", c.run, c.n))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if dst != nil {
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// claim reads one claim from a JWT's payload, without verifying it (the
// API does): the smoke test only needs to know the token's tenant.
func claim(token, name string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("a token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("a token's payload: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("a token's payload: %w", err)
	}
	v, _ := claims[name].(string)
	if v == "" {
		return "", fmt.Errorf("a token has no %s claim", name)
	}
	return v, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
