// Command dev runs the whole service on this machine (make dev): DynamoDB
// Local, stripe-mock and aws-ses-v2-local on free ports, the table created
// from template.yaml, and the local API on http://localhost:$PORT (3000).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clinicpay/payments/infra/localapi"
	"github.com/clinicpay/payments/infra/localservers"
	"github.com/clinicpay/payments/internal/wiring"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	// Loopback only, unless HOST opens it on purpose (HOST=0.0.0.0): the
	// dev API takes tokens signed with a published secret. The servers it
	// starts stay on 127.0.0.1 whatever HOST says.
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	// Fail before starting anything if the API's port is taken.
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("%s:%s is taken (set PORT to use another): %w", host, port, err)
	}

	tools, err := localservers.FindTools()
	if err != nil {
		return err
	}
	fmt.Println("starting DynamoDB Local, stripe-mock and aws-ses-v2-local…")
	stack, err := localservers.Start(ctx, tools)
	if err != nil {
		return err
	}
	defer stack.Stop()

	settings := localapi.Settings{
		TableName:   "clinicpay-local",
		DynamoDBURL: stack.DynamoDB.URL,
		StripeURL:   stack.Stripe.URL,
		SESURL:      stack.SES.URL,
		SenderEmail: "factures@clinicpay.local",
	}
	for k, v := range settings.Env() {
		if os.Getenv(k) == "" || strings.HasPrefix(k, "AWS_") {
			os.Setenv(k, v)
		}
	}
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		return err
	}
	if err := localservers.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(wiring.OS(), "DYNAMODB") }), settings.TableName); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	api, err := localapi.BuildAPI(ctx, wiring.OS(), log)
	if err != nil {
		return err
	}
	secret := os.Getenv("LOCAL_JWT_SECRET")
	srv := &http.Server{Handler: localapi.New(api, localapi.Config{Secret: secret}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	printReady(port, secret, settings, stack)
	<-ctx.Done()
	fmt.Println("\nstopping…")
	return nil
}

func printReady(port, secret string, s localapi.Settings, stack *localservers.Stack) {
	company := "clinic-demo"
	admin, _ := localapi.IssueToken(secret, company, "billing:admin", 12*time.Hour)
	platform, _ := localapi.IssueToken(secret, "", "billing:platform", 12*time.Hour)
	base := "http://localhost:" + port
	fmt.Printf(`
ready: API on %[1]s  (DynamoDB Local %[2]s, stripe-mock %[3]s, sent mail at %[4]s)

Try it. TOKEN is for billing company %[5]q with the billing:admin scope; PLATFORM_TOKEN
is the platform operator's (billing:platform), who connects a clinic's Stripe account;
both valid 12 h. make token COMPANY=<id> [SCOPE="billing:admin"] prints others
(COMPANY= SCOPE=billing:platform for the platform's).

  TOKEN=%[6]s
  PLATFORM_TOKEN=%[7]s

  curl -sS -X PUT %[1]s/billing-companies/%[5]s -H "Authorization: Bearer $PLATFORM_TOKEN" -H 'Content-Type: application/json' -d '{"name":"Clinique Saint-Louis","replyToEmail":"facturation@clinique.example","defaultLanguage":"fr","stripeAccountId":"acct_1DemoClinic"}'
  curl -sS -X PUT %[1]s/invoices/F-2026-0042 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"number":"F-2026-0042","currency":"cad","total":12500,"balanceDue":12500,"issuedOn":"2026-11-20","dueOn":"2026-12-20","patient":{"name":"Marie Tremblay","email":"marie@example.com","language":"fr"},"lines":[{"description":"Consultation","amount":12500}]}'
  curl -sS -X POST %[1]s/invoices/F-2026-0042/payment-link -H "Authorization: Bearer $TOKEN"
  curl -sS -X POST %[1]s/invoices/F-2026-0042/emails -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"includePaymentLink":true}'
  curl -sS %[1]s/invoices/F-2026-0042 -H "Authorization: Bearer $TOKEN"

Sent mail: open %[4]s in a browser (JSON at %[4]s/store).
Ctrl-C stops everything.
`, base, stack.DynamoDB.URL, stack.Stripe.URL, stack.SES.URL, company, admin, platform)
}
