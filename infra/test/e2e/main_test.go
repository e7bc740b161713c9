package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/local/localsqs"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/wiring"
)

// env is the running local stack shared by the tests of this package. Each
// test works in its own billing companies, so tests run in parallel.
var env struct {
	stack  *localservers.Stack
	stripe *faultproxy.Stripe
	truth  *localstripe.State
	// desk is the local Stripe playing Stripe Terminal on the same state
	// (readers, their PaymentIntents, the test helper presenting a card).
	desk   *localstripe.Simulator
	ses    *faultproxy.Proxy
	dynamo *faultproxy.Proxy
	// secrets records the functions' reads of the Stripe secret (those run
	// under aws-lambda-rie read it as in AWS, through STRIPE_SECRET_ARN).
	secrets *faultproxy.Proxy
	api     *httptest.Server
	// handlers are the in-process handlers of env.api, by route key.
	handlers map[string]httpapi.Handler
	// crashAPI runs the same code with the crash harness around its
	// adapters: a request armed with crash.arm freezes at that step for
	// good, as if its Lambda died.
	crashAPI *httptest.Server
	crash    *crasher
	db       *dynamodb.Client
	table    string
	logs     *localservers.Buffer
	// jobs are the event-driven functions (the scheduler, SES's events);
	// relay is SES's event publishing: it queues the events of each e-mail
	// SES took until a test flushes it (flushSES).
	jobs      *localapi.Jobs
	crashJobs *localapi.Jobs
	relay     *localses.Relay
	// sqs records the functions' calls to the local SQS (moto); queues is
	// the work queue on it, sqsClient a client of it that no function's
	// (Lambda's polling, the tests' own).
	sqs       *faultproxy.Proxy
	queues    localsqs.Queues
	sqsClient *sqs.Client
}

// crashDeadline is the crash API's integration timeout.
const crashDeadline = 10 * time.Second

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	tools, err := localservers.FindTools()
	if err != nil {
		return 0, err
	}
	stack, err := localservers.Start(ctx, tools)
	if err != nil {
		return 0, err
	}
	defer stack.Stop()
	env.stack = stack
	// Stripe's truth of the payments the tests make (their refunds, read
	// by the webhook) is kept by a local Stripe state, which answers the
	// service's reads once stripe-mock has checked them.
	env.truth, _ = localstripe.Open("")
	env.desk = &localstripe.Simulator{State: env.truth, Secret: localservers.WebhookSecret}
	env.stripe = faultproxy.NewStripe(stack.Stripe.URL, faultproxy.WithResponder(func(r *faultproxy.Request) (int, []byte, bool) {
		return env.desk.Answer(r.Method, r.Path, r.Header, r.Query, r.Form)
	}), faultproxy.WithReplyHook(func(r *faultproxy.Request, status int, body []byte) {
		env.truth.Observe(r.Method, r.Path, r.Header, r.Form, status, body) // its links, for the local checkout
	}))
	defer env.stripe.Close()
	env.ses = faultproxy.New(stack.SES.URL)
	defer env.ses.Close()
	env.dynamo = faultproxy.New(stack.DynamoDB.URL)
	defer env.dynamo.Close()
	env.sqs = faultproxy.New(stack.SQS.URL)
	defer env.sqs.Close()
	secretsManager := localservers.NewSecretsManager(map[string]string{localservers.LocalStripeSecretARN: localservers.LocalStripeSecret})
	defer secretsManager.Close()
	env.secrets = faultproxy.New(secretsManager.URL)
	defer env.secrets.Close()

	env.table = iamTable
	if err := createWorkQueue(ctx); err != nil {
		return 0, err
	}
	settings := localapi.Settings{
		TableName:    env.table,
		DynamoDBURL:  env.dynamo.URL,
		StripeURL:    env.stripe.URL,
		SESURL:       env.ses.URL,
		SenderEmail:  "factures@clinicpay.test",
		SQSURL:       env.sqs.URL,
		WorkQueueURL: env.queues.URL,
	}
	for k, v := range settings.Env() {
		os.Setenv(k, v)
	}
	// No network retries in tests: an injected fault must reach the service.
	os.Setenv(wiring.EnvStripeMaxRetries, "0")
	// E-mails name a configuration set, as in prod, so IAM's check of the
	// configuration-set resource is exercised too.
	os.Setenv(wiring.EnvSESConfigurationSet, iamStack.Refs["EmailConfigurationSet"])
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		return 0, err
	}
	env.db = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(wiring.OS(), "DYNAMODB") })
	if err := localservers.CreateTable(ctx, env.db, env.table); err != nil {
		return 0, err
	}
	env.logs = &localservers.Buffer{}
	log := slog.New(slog.NewJSONHandler(env.logs, nil))
	api, err := localapi.BuildAPI(ctx, wiring.OS(), log)
	if err != nil {
		return 0, err
	}
	queueWrap := localapi.WithWrap(localapi.Wrap{Queue: func(q jobs.Queue) jobs.Queue { return twiceQueue{q} }})
	if env.jobs, err = localapi.BuildJobs(ctx, wiring.OS(), log, queueWrap); err != nil {
		return 0, err
	}
	// The worker, as Lambda's event source mapping runs it: batches of 2
	// messages (the template's default), 4 at once (more than its default
	// of 2, for the suite's many clinics at once), crashing as a test
	// says (queueFaults).
	workers, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	mapping := env.jobs.Mapping(env.sqsClient, env.queues, 2, 4, log)
	mapping.Handler = crashing(mapping.Handler)
	go mapping.Run(workers)
	env.relay = &localses.Relay{Account: iamAccountID, Region: "ca-central-1", ConfigurationSet: iamStack.Refs["EmailConfigurationSet"],
		Deliver: func(ctx context.Context, payload []byte) error { return env.jobs.EmailEvent(ctx, payload) },
		// The delivery tests build the events of their e-mails themselves.
		Skip: func(m localses.Mail) bool {
			return len(m.Destination.To) == 1 && strings.HasPrefix(m.Destination.To[0], manualEvents)
		}}
	env.ses.Observe(func(r *faultproxy.Request) {
		if r.Form != nil {
			// SES publishes the events of every e-mail it took, also
			// when its answer never reached the caller.
			env.relay.SentRaw(r.Form, r.UpstreamStatus, r.UpstreamResponse)
		}
	})
	env.api = httptest.NewServer(localapi.New(api, localapi.Config{Jobs: env.jobs}))
	defer env.api.Close()
	env.desk.WebhookURL = env.api.URL + "/webhooks/stripe"
	env.desk.Divert = divertToInbox // the invoice model's clinics' events
	env.handlers = map[string]httpapi.Handler{}
	for _, r := range httpapi.Routes {
		h := r.Handler(api)
		env.handlers[r.Key()] = func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return h(localapi.WithFunction(ctx, r.Function), ev)
		}
	}

	env.crash = &crasher{}
	crashAPI, err := localapi.BuildAPI(ctx, wiring.OS(), log, localapi.WithWrap(env.crash.wrap()))
	if err != nil {
		return 0, err
	}
	if env.crashJobs, err = localapi.BuildJobs(ctx, wiring.OS(), log, localapi.WithWrap(env.crash.wrap())); err != nil {
		return 0, err
	}
	// A deadline generous enough for a busy machine: a frozen request's
	// lease and Idempotency-Key are made to run out by expireHolds, not by
	// waiting. Upstream calls still end 1.5 s before it, which the fault
	// table's "too slow" row relies on. The server is not closed: its
	// frozen requests never end.
	env.crashAPI = httptest.NewServer(localapi.New(crashAPI, localapi.Config{Timeout: crashDeadline, Jobs: env.crashJobs}))
	if err := loadSpec(env.api.URL, env.crashAPI.URL); err != nil {
		return 0, err
	}
	code := m.Run()
	if code == 0 && spec.checked.Load() == 0 {
		return 1, fmt.Errorf("no answer was validated against openapi.yaml")
	}
	fmt.Printf("e2e: %d answers validated against openapi.yaml\n", spec.checked.Load())
	// The "every action is needed" half needs the whole suite to have run
	// and passed; a -run filter or a failure leaves paths unexercised.
	if !checkIAM(code == 0 && flag.Lookup("test.run").Value.String() == "") {
		code = 1
	}
	return code, nil
}

// createWorkQueue makes the work queue on the local SQS, as the template
// makes it but for a visibility timeout of 60 s, the worker's timeout (a
// crashed worker's batch comes back then, not in 6 minutes), and names it
// in the stack the IAM check resolves the template with.
func createWorkQueue(ctx context.Context) error {
	cfg, err := wiring.AWSConfig(localapi.Settings{}.Lookup())
	if err != nil {
		return err
	}
	env.sqsClient = localsqs.NewClient(cfg, env.stack.SQS.URL)
	if env.queues, err = localsqs.Create(ctx, env.sqsClient, iamTable+"-work", 60*time.Second); err != nil {
		return err
	}
	iamStack.Refs[localsqs.QueueID] = env.queues.URL
	iamStack.Attrs[localsqs.QueueID+".Arn"] = "arn:aws:sqs:" + iamStack.Region + ":" + iamAccountID + ":" + iamTable + "-work"
	return nil
}

// tb is what the helpers need of a test: *testing.T, or the *rapid.T of the
// property tests.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Logf(format string, args ...any)
}

// ---- tenants and tokens ----------------------------------------------------

// tenant is a billing company made for one test.
type tenant struct {
	ID      string
	Account string // its connected Stripe account
	Admin   string // token with billing:admin
	Staff   string // token without admin scope
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTenant makes a billing company with a connected Stripe account (the
// platform connects it, as the seed's flow has it).
func newTenant(t tb, lang string) *tenant {
	t.Helper()
	tn := bareTenant(t)
	c := call(t, "PUT", "/billing-companies/"+tn.ID, platformToken(t), map[string]any{
		"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example",
		"defaultLanguage": lang, "stripeAccountId": tn.Account,
	})
	c.want(t, 200)
	return tn
}

// bareTenant has tokens but no billing-company record.
func bareTenant(t tb) *tenant {
	t.Helper()
	id := "clinic-" + randomHex(6)
	return &tenant{
		ID:      id,
		Account: "acct_1" + strings.ToUpper(randomHex(7)),
		Admin:   token(t, id, "billing:admin"),
		Staff:   token(t, id, ""),
	}
}

// platformToken is a platform operator's token: billing:platform, no
// tenant claim.
func platformToken(t tb) string { return token(t, "", "billing:platform") }

func token(t tb, company, scope string) string {
	t.Helper()
	tok, err := localapi.IssueToken("", company, scope, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ---- HTTP calls ------------------------------------------------------------

// response is an answer of the local API.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// want fails the test unless the status is the one expected.
func (r *response) want(t tb, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
	return r
}

// wantError checks the contract's error shape, status and code.
func (r *response) wantError(t tb, status int, code string) *response {
	t.Helper()
	r.want(t, status)
	e, _ := r.JSON["error"].(map[string]any)
	if e == nil || e["code"] != code || e["message"] == "" || e["message"] == nil {
		t.Fatalf("error body %s, want code %q with a message", r.Raw, code)
	}
	return r
}

func (r *response) str(path ...string) string {
	v := dig(r.JSON, path...)
	s, _ := v.(string)
	return s
}

func (r *response) num(path ...string) int64 {
	v := dig(r.JSON, path...)
	f, _ := v.(float64)
	return int64(f)
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (r *response) list(key string) []map[string]any {
	raw, _ := r.JSON[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// call sends a request to the local API; body may be nil, a string (sent as
// is) or a value (sent as JSON).
func call(t tb, method, path, tok string, body any, header ...string) *response {
	t.Helper()
	return callAPI(t, env.api.URL, method, path, tok, body, header...)
}

// callAPI is call on another API server (the crash harness's).
func callAPI(t tb, base, method, path, tok string, body any, header ...string) *response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	validateAnswer(t, method, base+path, resp, raw)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
		}
	}
	return r
}

// ---- invoices --------------------------------------------------------------

func invoiceBody(number string, total, balance int64, lang string) map[string]any {
	return map[string]any{
		"number": number, "currency": "cad", "total": total, "balanceDue": balance,
		"issuedOn": "2026-11-20", "dueOn": "2026-12-20",
		"patient": map[string]any{"name": "Marie Tremblay", "email": "marie@example.com", "language": lang},
		"lines":   []any{map[string]any{"description": "Consultation", "amount": total}},
	}
}

// newInvoice stores an invoice of 125,00 $ due in full and returns its id.
func newInvoice(t tb, tn *tenant) string {
	t.Helper()
	id := "inv-" + randomHex(4)
	call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-2026-0042", 12500, 12500, "fr")).want(t, 201)
	return id
}

// ---- what the upstreams were asked ---------------------------------------

// stripeCalls returns the calls made on a connected account.
func stripeCalls(account string) []*faultproxy.Request {
	return env.stripe.Requests(func(r *faultproxy.Request) bool { return r.Header.Get("Stripe-Account") == account })
}

func countCalls(calls []*faultproxy.Request, method, pathPrefix string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method && strings.HasPrefix(c.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// sesMail is one e-mail as aws-ses-v2-local received and parsed it.
type sesMail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	ReplyTo     []string
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	Attachments []struct {
		Content     string `json:"content"` // base64
		ContentType string `json:"contentType"`
		Filename    string `json:"filename"`
		Size        int    `json:"size"`
	} `json:"attachments"`
}

// sesStore is every e-mail aws-ses-v2-local received.
func sesStore(t tb) []sesMail {
	t.Helper()
	resp, err := http.Get(env.stack.SES.URL + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []sesMail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	return store.Emails
}

// mailByID reads SES's store for the e-mail with that message id.
func mailByID(t tb, messageID string) sesMail {
	t.Helper()
	for _, m := range sesStore(t) {
		if m.MessageID == messageID {
			return m
		}
	}
	t.Fatalf("SES has no e-mail %s", messageID)
	return sesMail{}
}

// sesReceived counts the e-mails SES's own store holds for a recipient.
func sesReceived(t tb, to string) int {
	t.Helper()
	n := 0
	for _, m := range sesStore(t) {
		for _, d := range m.Destination.To {
			if d == to {
				n++
			}
		}
	}
	return n
}

// sesSendsTo counts SendRawEmail calls that reached SES for a recipient.
func sesSendsTo(to string) int {
	return len(env.ses.Requests(func(r *faultproxy.Request) bool {
		return r.Form != nil && r.Form.Get("Destinations.member.1") == to && !r.Injected
	}))
}
