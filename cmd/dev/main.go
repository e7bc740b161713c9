// Command dev runs the whole service on this machine (make dev): DynamoDB
// Local (its data kept in .dev/ across restarts; RESET=1 starts empty),
// stripe-mock behind the local Stripe (infra/local/localstripe: each link's own
// checkout page, payments' signed events), aws-ses-v2-local, the table
// created from template.yaml, the local API on http://localhost:$PORT
// (3000), with CORS as the template configures it, and the staff console
// and mailbox on http://localhost:$CONSOLE_PORT (3001).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/devconsole"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/local/localsqs"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/wiring"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

// ConsoleURLFile, in the data folder, holds the running console's URL
// while make dev runs (cmd/pay reads it).
const ConsoleURLFile = "console.url"

// config is make dev's settings, from the environment.
type config struct {
	host                        string
	apiPort, consolePort, mail  int
	dataDir                     string
	reset                       bool
	corsOrigins                 []string
	secret                      string
	company                     string
	apiBase, consoleBase, mailB string
}

func readConfig() (config, error) {
	c := config{host: os.Getenv("HOST"), secret: os.Getenv("LOCAL_JWT_SECRET"), company: "clinic-demo"}
	// Loopback only, unless HOST opens it on purpose (HOST=0.0.0.0): the
	// dev API takes tokens signed with a published secret. The servers it
	// starts stay on 127.0.0.1 whatever HOST says.
	if c.host == "" {
		c.host = "127.0.0.1"
	}
	for _, p := range []struct {
		name string
		def  int
		dst  *int
	}{{"PORT", 3000, &c.apiPort}, {"CONSOLE_PORT", 3001, &c.consolePort}, {"MAIL_PORT", 3002, &c.mail}} {
		*p.dst = p.def
		if v := os.Getenv(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return c, fmt.Errorf("%s=%q is not a port", p.name, v)
			}
			*p.dst = n
		}
	}
	c.dataDir = os.Getenv("DEV_DATA")
	if c.dataDir == "" {
		root, err := samtemplate.RepoRoot()
		if err != nil {
			return c, err
		}
		c.dataDir = filepath.Join(root, ".dev")
	}
	c.reset = os.Getenv("RESET") == "1"
	c.apiBase = "http://localhost:" + strconv.Itoa(c.apiPort)
	c.consoleBase = "http://localhost:" + strconv.Itoa(c.consolePort)
	c.mailB = "http://localhost:" + strconv.Itoa(c.mail)
	// The one CORS setting: the template's CorsAllowedOrigins parameter in
	// AWS, CORS_ALLOWED_ORIGINS here (comma-separated), where the console's
	// own origin is always allowed besides (it is a front end on another
	// port).
	c.corsOrigins = []string{c.consoleBase, "http://127.0.0.1:" + strconv.Itoa(c.consolePort)}
	for _, o := range strings.Split(os.Getenv("CORS_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.corsOrigins = append(c.corsOrigins, o)
		}
	}
	return c, nil
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := readConfig()
	if err != nil {
		return err
	}
	// Fail before starting anything if a fixed port is taken.
	apiLn, err := net.Listen("tcp", net.JoinHostPort(cfg.host, strconv.Itoa(cfg.apiPort)))
	if err != nil {
		return fmt.Errorf("port %d is taken (set PORT to use another): %w", cfg.apiPort, err)
	}
	consoleLn, err := net.Listen("tcp", net.JoinHostPort(cfg.host, strconv.Itoa(cfg.consolePort)))
	if err != nil {
		return fmt.Errorf("port %d is taken (set CONSOLE_PORT to use another): %w", cfg.consolePort, err)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(cfg.mail)); err != nil {
		return fmt.Errorf("port %d is taken (set MAIL_PORT to use another): %w", cfg.mail, err)
	} else {
		ln.Close()
	}

	if cfg.reset {
		fmt.Printf("RESET=1: removing %s, starting empty\n", cfg.dataDir)
		if err := os.RemoveAll(cfg.dataDir); err != nil {
			return err
		}
	}
	tools, err := localservers.FindTools()
	if err != nil {
		return err
	}
	fmt.Println("starting DynamoDB Local, stripe-mock, aws-ses-v2-local and moto's SQS…")
	stack, err := localservers.StartKept(ctx, tools, filepath.Join(cfg.dataDir, "dynamodb"), cfg.mail)
	if err != nil {
		return err
	}
	defer stack.Stop()

	// The local Stripe: stripe-mock behind a proxy that gives each link its
	// own URL (its checkout page on the console's port), replays idempotent
	// requests, and tells the local Stripe what the service made.
	stripeState, err := localstripe.Open(filepath.Join(cfg.dataDir, "stripe.json"))
	if err != nil {
		return err
	}
	// The local Stripe's simulator: payments, refunds and readers as
	// Stripe would bring them about, with their signed events sent to the
	// webhook route (its secret is known once the settings are, below).
	sim := &localstripe.Simulator{State: stripeState, WebhookURL: "http://127.0.0.1:" + strconv.Itoa(cfg.apiPort) + "/webhooks/stripe"}
	stripeProxy := faultproxy.NewStripe(stack.Stripe.URL,
		faultproxy.WithLinkURL(func(id string) string { return cfg.consoleBase + "/pay/" + id }),
		faultproxy.WithReplyHook(func(r *faultproxy.Request, status int, body []byte) {
			stripeState.Observe(r.Method, r.Path, r.Header, r.Form, status, body)
		}),
		// The reads the service makes (a charge's refunds, a PaymentIntent)
		// and its Terminal calls (readers, their actions and PaymentIntents)
		// are answered from the local Stripe's state.
		faultproxy.WithResponder(func(r *faultproxy.Request) (int, []byte, bool) {
			return sim.Answer(r.Method, r.Path, r.Header, r.Query, r.Form)
		}))
	stripeProxy.StopRecording()
	defer stripeProxy.Close()

	// SES, behind a proxy that tells the local event publishing (relay,
	// below) what each e-mail was sent with: aws-ses-v2-local keeps no
	// headers of a raw e-mail.
	sesProxy := faultproxy.New(stack.SES.URL)
	sesProxy.StopRecording()
	defer sesProxy.Close()

	// The work queue, as the template makes it (moto keeps nothing across
	// restarts: the due work waits in the table's index, planned again).
	queueCfg, err := wiring.AWSConfig(localapi.Settings{}.Lookup())
	if err != nil {
		return err
	}
	sqsClient := localsqs.NewClient(queueCfg, stack.SQS.URL)
	queues, err := localsqs.Create(ctx, sqsClient, "clinicpay-local-work", 30*time.Second)
	if err != nil {
		return err
	}
	settings := localapi.Settings{
		TableName:    "clinicpay-local",
		DynamoDBURL:  stack.DynamoDB.URL,
		StripeURL:    stripeProxy.URL,
		SESURL:       sesProxy.URL,
		SenderEmail:  "factures@clinicpay.local",
		SQSURL:       stack.SQS.URL,
		WorkQueueURL: queues.URL,
	}
	// The local stack's settings win over the shell's (a TABLE_NAME or
	// STRIPE_API_BASE left from other work must not point make dev
	// elsewhere); only the webhook's secret may be set (README).
	for k, v := range settings.Env() {
		if k != wiring.EnvStripeWebhookSecret || os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(wiring.OS(), "DYNAMODB") })
	if err := localservers.CreateTable(ctx, db, settings.TableName); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	api, err := localapi.BuildAPI(ctx, wiring.OS(), log)
	if err != nil {
		return err
	}
	jobs, err := localapi.BuildJobs(ctx, wiring.OS(), log)
	if err != nil {
		return err
	}
	// SES's events about each e-mail (delivered, bounced…) reach the e-mail
	// events function within a second, as SES → EventBridge does.
	relay := &localses.Relay{Account: "000000000000", Region: "ca-central-1", ConfigurationSet: "clinicpay-local",
		Deliver: func(ctx context.Context, payload []byte) error { return jobs.EmailEvent(ctx, payload) },
		OnError: func(err error) { log.Warn("SES events not delivered yet; retrying", slog.String("error", err.Error())) }}
	sesProxy.Observe(func(r *faultproxy.Request) {
		if r.Form != nil {
			relay.SentRaw(r.Form, r.UpstreamStatus, r.UpstreamResponse)
		}
	})
	go relay.Run(ctx, time.Second)
	// The worker, as Lambda's event source mapping runs it with the
	// template's defaults (WorkerBatchSize, WorkerMaxConcurrency).
	go jobs.Mapping(sqsClient, queues, 2, 2, log).Run(ctx)
	// The scheduler every minute (hourly in AWS), and on demand at
	// POST /_local/run/reminders?now=<RFC 3339> on the API's port, which
	// answers once the workers have done what it planned.
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				_, _ = jobs.Plan(ctx, now, "")
			}
		}
	}()
	cors, err := localapi.CORSFromTemplate(cfg.corsOrigins)
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: localapi.New(api, localapi.Config{Secret: cfg.secret, CORS: cors, Jobs: jobs}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = apiSrv.Serve(apiLn) }()
	defer func() { _ = apiSrv.Shutdown(context.Background()) }()

	mailbox := &devconsole.Mailbox{SESURL: stack.SES.URL, Path: filepath.Join(cfg.dataDir, "mailbox.json")}
	if err := mailbox.Load(); err != nil {
		return err
	}
	// SES keeps mail in memory: copy it to the kept mailbox before SES stops.
	defer func() { _ = mailbox.Sync(context.Background()) }()
	sim.Secret = os.Getenv(wiring.EnvStripeWebhookSecret)
	clinics := clinicNames(db, settings.TableName)
	consoleSrv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: devconsole.New(devconsole.Config{
		APIBase: cfg.apiBase, Company: cfg.company, Mailbox: mailbox, Stripe: sim, Log: log, Hosts: consoleHosts(cfg.host, cfg.consolePort),
		Checkout: &localstripe.Checkout{Sim: sim, ClinicName: clinics, Log: log},
		Token: func(company string) (string, time.Time, error) {
			exp := time.Now().Add(12 * time.Hour)
			tok, err := localapi.IssueToken(cfg.secret, company, "billing:admin", 12*time.Hour)
			return tok, exp, err
		},
	})}
	go func() { _ = consoleSrv.Serve(consoleLn) }()
	defer func() { _ = consoleSrv.Shutdown(context.Background()) }()

	seeded, err := seedDemo(ctx, "http://127.0.0.1:"+strconv.Itoa(cfg.apiPort), cfg.secret, cfg.company)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	// make pay (cmd/pay) finds this console here, whatever its port.
	urlFile := filepath.Join(cfg.dataDir, ConsoleURLFile)
	if err := os.WriteFile(urlFile, []byte(cfg.consoleBase+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(urlFile)
	printReady(cfg, stack, seeded)
	<-ctx.Done()
	fmt.Println("\nstopping… (data kept in " + cfg.dataDir + "; make dev RESET=1 starts empty)")
	return nil
}

func printReady(cfg config, stack *localservers.Stack, seeded bool) {
	admin, _ := localapi.IssueToken(cfg.secret, cfg.company, "billing:admin", 12*time.Hour)
	platform, _ := localapi.IssueToken(cfg.secret, "", "billing:platform", 12*time.Hour)
	demo := "demo data kept from the last run"
	if seeded {
		demo = "demo clinic and three invoices created"
	}
	fmt.Printf(`
ready: API %[1]s · console %[2]s · mail %[3]s  (DynamoDB Local %[4]s, stripe-mock %[5]s; data in %[6]s, %[7]s)

Open %[2]s for the staff console: the invoices of %[8]q, each invoice's payment link,
e-mails and payments; every link opens a local checkout page (card, pre-authorized debit,
decline) that sends Stripe's signed events to the webhook. make pay INVOICE=<id> [OUTCOME=…]
does the same from a terminal. At the desk: the console's Readers page registers a simulated
reader (simulated-wpe), an invoice's Pay at the desk sends its balance to it, and
make pay READER=tmr_… CARD=4242424242424242|interac|… presents a test card (docs/terminal.md).
The mailbox is in the console, and at %[3]s.

TOKEN is for billing company %[8]q with the billing:admin scope; PLATFORM_TOKEN is the
platform operator's (billing:platform), who connects a clinic's Stripe account; both valid
12 h. make token COMPANY=<id> [SCOPE="billing:admin"] prints others.

  TOKEN=%[9]s
  PLATFORM_TOKEN=%[10]s

  curl -sS -X PUT %[1]s/billing-companies/%[8]s -H "Authorization: Bearer $PLATFORM_TOKEN" -H 'Content-Type: application/json' -d '{"name":"Clinique Saint-Louis","replyToEmail":"facturation@clinique.example","defaultLanguage":"fr","stripeAccountId":"acct_1DemoClinic"}'
  curl -sS -X PUT %[1]s/invoices/F-2026-0100 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"number":"F-2026-0100","currency":"cad","total":12500,"balanceDue":12500,"issuedOn":"2026-11-20","dueOn":"2026-12-20","patient":{"name":"Marie Tremblay","email":"marie@example.com","language":"fr"},"lines":[{"description":"Consultation","amount":12500}]}'
  curl -sS -X POST %[1]s/invoices/F-2026-0100/payment-link -H "Authorization: Bearer $TOKEN"
  curl -sS -X POST %[1]s/invoices/F-2026-0100/emails -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"includePaymentLink":true}'
  curl -sS %[1]s/invoices/F-2026-0100 -H "Authorization: Bearer $TOKEN"
  curl -sS '%[1]s/invoices?limit=5' -H "Authorization: Bearer $TOKEN"

Reminders: the scheduler runs every minute; POST %[1]s/_local/run/reminders?now=<RFC 3339>[&company=<id>]
runs it at another time. SES's events (delivered; bounce@, complaint@simulator.amazonses.com
bounce and complain, as SES's mailbox simulator does) reach the invoices within a second.
CORS: the API answers browsers from %[11]s (CORS_ALLOWED_ORIGINS).
Ctrl-C stops everything.
`, cfg.apiBase, cfg.consoleBase, cfg.mailB, stack.DynamoDB.URL, stack.Stripe.URL, cfg.dataDir, demo, cfg.company, admin, platform,
		strings.Join(cfg.corsOrigins, ", "))
}
