package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/local/localsqs"
	"github.com/clinicpay/payments/infra/test/lambdarie"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
	"github.com/clinicpay/payments/internal/wiring"
)

const hello = "HelloWorld"

func run(ctx context.Context, starts, requests int, cpuProfile, write string) error {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return err
	}
	tools, err := localservers.FindTools()
	if err == nil {
		err = tools.RequireAll()
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "clinicpay-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(os.Stderr, "bench: building every function for arm64 (sizes) and for this machine (runs)…")
	arm64, err := buildAll(root, tmp, "arm64")
	if err != nil {
		return err
	}
	native, err := buildAll(root, tmp, runtime.GOARCH)
	if err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, "bench: starting DynamoDB Local, stripe-mock, SES…")
	stack, err := localservers.Start(ctx, tools)
	if err != nil {
		return err
	}
	defer stack.Stop()
	queueCfg, err := wiring.AWSConfig(localapi.Settings{}.Lookup())
	if err != nil {
		return err
	}
	queues, err := localsqs.Create(ctx, localsqs.NewClient(queueCfg, stack.SQS.URL), "clinicpay-bench-work", 0)
	if err != nil {
		return err
	}
	settings := localapi.Settings{TableName: "clinicpay-bench", DynamoDBURL: stack.DynamoDB.URL, StripeURL: stack.Stripe.URL, SESURL: stack.SES.URL,
		SenderEmail: "factures@clinicpay.bench", SQSURL: stack.SQS.URL, WorkQueueURL: queues.URL}
	for k, v := range settings.Env() {
		os.Setenv(k, v)
	}
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(wiring.OS(), "DYNAMODB") })
	if err := localservers.CreateTable(ctx, db, settings.TableName); err != nil {
		return err
	}
	env := append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=25")

	fmt.Fprintf(os.Stderr, "bench: %d cold starts of each function and of hello world under aws-lambda-rie…\n", starts)
	cold, err := coldStarts(tools.LambdaRIE(), native, env, starts)
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "bench: %d warm requests per operation…\n", requests)
	b, err := newBencher(ctx)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	warm := b.measure(requests)
	stopProfile()

	fmt.Fprintln(os.Stderr, "bench: peak RSS of each function under load…")
	rss := b.peakRSS(tools.LambdaRIE(), native, env)

	var out bytes.Buffer
	report(&out, arm64, cold, warm, rss, starts, requests)
	if _, err := os.Stdout.Write(out.Bytes()); err != nil {
		return err
	}
	if write == "" {
		return nil
	}
	if err := writeReport(write, out.Bytes()); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: report written to", write)
	return nil
}

// functions lists the logical ids, in route order, then the event-driven
// ones.
func functions() []string {
	var out []string
	for _, r := range httpapi.Routes {
		out = append(out, r.Function)
	}
	for _, f := range jobs.Functions {
		out = append(out, f.Function)
	}
	return out
}

// buildAll builds every function with its Makefile target (as sam build
// does) and the hello-world yardstick with the same flags.
func buildAll(root, tmp, arch string) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	sem := make(chan struct{}, 2)
	for _, fn := range append(functions(), hello) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			dir := filepath.Join(tmp, arch, fn)
			bootstrap, err := filepath.Join(dir, "bootstrap"), error(nil)
			if fn == hello {
				cmd := exec.Command("go", "build", "-tags", "lambda.norpc,nethttpomithttp2", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bootstrap, "./cmd/bench/hello")
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
				if b, berr := cmd.CombinedOutput(); berr != nil {
					err = fmt.Errorf("build hello world for %s: %v\n%s", arch, berr, b)
				}
			} else {
				bootstrap, err = lambdarie.Build(root, fn, arch, dir)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			out[fn] = bootstrap
		})
	}
	wg.Wait()
	return out, firstErr
}

// coldStart is one start: process start to first answer, and the init
// duration RIE reports.
type coldStart struct {
	wall time.Duration
	init float64 // ms
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStarts starts each function (and hello world) starts times, taking
// turns so that the machine's drift hits all alike, and answers an
// unauthenticated request (no upstream call) the first time.
func coldStarts(rie string, bootstraps map[string]string, env []string, starts int) (map[string][]coldStart, error) {
	ev, _ := json.Marshal(apiEvent("GET", "/invoices/x", map[string]string{"invoiceId": "x"}, nil, "", nil))
	out := map[string][]coldStart{}
	names := append(functions(), hello)
	for range starts {
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		for _, fn := range names {
			t0 := time.Now()
			l, err := lambdarie.Start(rie, bootstraps[fn], env)
			if err != nil {
				return nil, err
			}
			// Any answer will do (the event-driven functions answer no
			// API Gateway response): the time to the first one is measured.
			_, err = l.InvokeRaw(ev)
			wall := time.Since(t0)
			l.Stop()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
			cs := coldStart{wall: wall}
			if m := initReport.FindStringSubmatch(l.Logs()); m != nil {
				cs.init, _ = strconv.ParseFloat(m[1], 64)
			}
			out[fn] = append(out[fn], cs)
		}
	}
	return out, nil
}

var apiEvent = lambdarie.APIEvent

func randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return hex.EncodeToString(b)
}

// bencher runs operations through the in-process handlers and reads each
// request's log line (latency, own time, upstream calls).
type bencher struct {
	ctx      context.Context
	handlers map[string]httpapi.Handler
	logs     *localservers.Buffer
	tenant   string
	account  string
	claims   map[string]string
}

func newBencher(ctx context.Context) (*bencher, error) {
	logs := &localservers.Buffer{}
	api, err := localapi.BuildAPI(ctx, wiring.OS(), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		return nil, err
	}
	b := &bencher{ctx: ctx, handlers: map[string]httpapi.Handler{}, logs: logs,
		tenant: "bench-" + randomHex(3), account: "acct_1Bench" + strings.ToUpper(randomHex(4))}
	for _, r := range httpapi.Routes {
		b.handlers[r.Key()] = r.Handler(api)
	}
	// The platform connects the clinic's Stripe account; the clinic's staff
	// do the rest.
	b.claims = map[string]string{"scope": "billing:platform"}
	if r := b.call("PUT", "/billing-companies/"+b.tenant, map[string]string{"companyId": b.tenant},
		fmt.Sprintf(`{"name":"Clinique Bench","replyToEmail":"f@clinique.example","defaultLanguage":"fr","stripeAccountId":"%s",`+
			`"address":{"line1":"1 rue Bench","city":"Montréal","state":"QC","postalCode":"H2X 1Y4","country":"CA"}}`, b.account), nil); r.StatusCode != 200 {
		return nil, fmt.Errorf("company: %d %s", r.StatusCode, r.Body)
	}
	b.claims = map[string]string{"billing_company_id": b.tenant, "scope": "billing:admin"}
	return b, nil
}

func (b *bencher) call(method, path string, params map[string]string, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	ev := apiEvent(method, path, params, b.claims, body, headers)
	if strings.HasPrefix(path, "/webhooks/") {
		ev.RequestContext.Authorizer = nil
	}
	resp, _ := b.handlers[ev.RouteKey](b.ctx, ev)
	return resp
}

func invoiceJSON(id string) string {
	return fmt.Sprintf(`{"number":"F-%s","currency":"cad","total":12500,"balanceDue":12500,"issuedOn":"2026-11-20","dueOn":"2026-12-20",`+
		`"patient":{"name":"Patient","email":"patient@example.com","language":"fr"},"lines":[{"description":"Consultation","amount":12500}]}`, id)
}

// newInvoice stores an invoice (and a link) for an operation to use.
func (b *bencher) newInvoice(withLink bool) (id, link string) {
	id = "inv-" + randomHex(5)
	b.call("PUT", "/invoices/"+id, map[string]string{"invoiceId": id}, invoiceJSON(id), nil)
	if withLink {
		r := b.call("POST", "/invoices/"+id+"/payment-link", map[string]string{"invoiceId": id}, "", nil)
		var l struct{ ID string }
		_ = json.Unmarshal([]byte(r.Body), &l)
		link = l.ID
	}
	return id, link
}

// makeRoomForAReader deletes the clinic's readers when it has its most,
// so a registration measured is a successful one. A reader taking a
// payment is freed first (its payment canceled): it refuses deletion.
func (b *bencher) makeRoomForAReader() {
	var list struct {
		Readers []struct {
			ID      string
			Payment *struct{ InvoiceID string }
		}
	}
	_ = json.Unmarshal([]byte(b.call("GET", "/readers", nil, "", nil).Body), &list)
	if len(list.Readers) < billing.MaxReaders {
		return
	}
	for _, r := range list.Readers {
		if r.Payment != nil {
			b.call("DELETE", "/invoices/"+r.Payment.InvoiceID+"/reader-payment", map[string]string{"invoiceId": r.Payment.InvoiceID}, "", nil)
		}
		b.call("DELETE", "/readers/"+r.ID, map[string]string{"readerId": r.ID}, "", nil)
	}
}

// freeReader registers a reader no payment is using, for a reader
// payment to be measured on.
func (b *bencher) freeReader() string {
	b.makeRoomForAReader()
	r := b.call("POST", "/readers", nil, `{"registrationCode":"simulated-wpe","label":"Bench"}`, nil)
	var reader struct{ ID string }
	_ = json.Unmarshal([]byte(r.Body), &reader)
	return reader.ID
}

// readerPaymentJSON is a start of a reader payment on a fresh reader.
func (b *bencher) readerPaymentJSON() string {
	return fmt.Sprintf(`{"readerId":%q}`, b.freeReader())
}

// opStats are one operation's measurements.
type opStats struct {
	total, own []time.Duration
	calls      map[string][]int
	statuses   map[int]int
}

// operation is a request to measure, with its set-up.
type operation struct {
	name    string
	prepare func() func() events.APIGatewayV2HTTPResponse
}

func (b *bencher) operations() []operation {
	p := func(id string) map[string]string { return map[string]string{"invoiceId": id} }
	shared, _ := b.newInvoice(true)
	return []operation{
		{"get invoice", func() func() events.APIGatewayV2HTTPResponse {
			return func() events.APIGatewayV2HTTPResponse { return b.call("GET", "/invoices/"+shared, p(shared), "", nil) }
		}},
		{"put invoice (no change)", func() func() events.APIGatewayV2HTTPResponse {
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("PUT", "/invoices/"+shared, p(shared), invoiceJSON(shared), nil)
			}
		}},
		{"create link", func() func() events.APIGatewayV2HTTPResponse {
			id, _ := b.newInvoice(false)
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("POST", "/invoices/"+id+"/payment-link", p(id), "", nil)
			}
		}},
		{"create link (active one returned)", func() func() events.APIGatewayV2HTTPResponse {
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("POST", "/invoices/"+shared+"/payment-link", p(shared), "", nil)
			}
		}},
		{"regenerate link", func() func() events.APIGatewayV2HTTPResponse {
			id, _ := b.newInvoice(true)
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("POST", "/invoices/"+id+"/payment-link/regenerate", p(id), "", nil)
			}
		}},
		{"remove link", func() func() events.APIGatewayV2HTTPResponse {
			id, _ := b.newInvoice(true)
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("DELETE", "/invoices/"+id+"/payment-link", p(id), "", nil)
			}
		}},
		{"e-mail with the active link", func() func() events.APIGatewayV2HTTPResponse {
			id, _ := b.newInvoice(true)
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("POST", "/invoices/"+id+"/emails", p(id), `{"includePaymentLink":true}`, nil)
			}
		}},
		{"webhook: payment", func() func() events.APIGatewayV2HTTPResponse {
			id, link := b.newInvoice(true)
			payload := b.paymentEvent(id, link)
			return func() events.APIGatewayV2HTTPResponse {
				return b.call("POST", "/webhooks/stripe", nil, string(payload), map[string]string{"stripe-signature": sign(payload)})
			}
		}},
		{"list payments", func() func() events.APIGatewayV2HTTPResponse {
			return func() events.APIGatewayV2HTTPResponse { return b.call("GET", "/payments", nil, "", nil) }
		}},
	}
}

// paymentEvent is a completed checkout for the invoice's first link.
func (b *bencher) paymentEvent(invoiceID, linkID string) []byte {
	ev, _ := json.Marshal(map[string]any{
		"id": "evt_" + randomHex(10), "object": "event", "account": b.account, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "type": "checkout.session.completed",
		"data": map[string]any{"object": map[string]any{
			"id": "cs_" + randomHex(8), "object": "checkout.session", "amount_total": 12500, "currency": "cad",
			"payment_intent": "pi_" + randomHex(8), "payment_link": linkID, "payment_status": "paid", "status": "complete",
			"metadata": map[string]any{"billing_company_id": b.tenant, "invoice_id": invoiceID, "link_generation": "1"},
		}},
	})
	return ev
}

func sign(payload []byte) string {
	now := time.Now()
	return fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, payload, localservers.WebhookSecret)))
}

// measure runs each operation n times (set-up excluded) and reads the
// request lines.
func (b *bencher) measure(n int) map[string]*opStats {
	out := map[string]*opStats{}
	for _, op := range b.operations() {
		st := &opStats{calls: map[string][]int{}, statuses: map[int]int{}}
		for range n {
			do := op.prepare()
			b.logs.Take()
			resp := do()
			st.statuses[resp.StatusCode]++
			line := lastRequestLine(b.logs.Take())
			if line == nil {
				continue
			}
			st.total = append(st.total, msDur(line["latencyMs"]))
			st.own = append(st.own, msDur(line["ownMs"]))
			up, _ := line["upstream"].(map[string]any)
			for _, svc := range []string{"dynamodb", "stripe", "ses"} {
				u, _ := up[svc].(map[string]any)
				c, _ := u["calls"].(float64)
				st.calls[svc] = append(st.calls[svc], int(c))
			}
		}
		out[op.name] = st
	}
	return out
}

func lastRequestLine(logs string) map[string]any {
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" {
			last = m
		}
	}
	return last
}

func msDur(v any) time.Duration {
	f, _ := v.(float64)
	return time.Duration(f * float64(time.Millisecond))
}

// peakRSS runs each function under RIE, serves it 50 requests of its kind
// and reads the bootstrap's high-water mark of resident memory.
func (b *bencher) peakRSS(rie string, bootstraps map[string]string, env []string) map[string]int {
	out := map[string]int{}
	for _, fn := range append(functions(), hello) {
		l, err := lambdarie.Start(rie, bootstraps[fn], env)
		if err != nil {
			continue
		}
		for range 50 {
			if _, err := l.InvokeRaw(b.eventFor(fn)); err != nil {
				break
			}
		}
		out[fn] = l.PeakRSS()
		l.Stop()
	}
	return out
}

// eventFor is a typical successful request of a function.
func (b *bencher) eventFor(fn string) []byte {
	id, link := b.newInvoice(fn != "CreatePaymentLinkFunction")
	p := map[string]string{"invoiceId": id}
	var ev events.APIGatewayV2HTTPRequest
	switch fn {
	case "PutBillingCompanyFunction":
		ev = apiEvent("PUT", "/billing-companies/"+b.tenant, map[string]string{"companyId": b.tenant}, b.claims,
			fmt.Sprintf(`{"name":"Clinique Bench","replyToEmail":"f@clinique.example","defaultLanguage":"fr","stripeAccountId":"%s"}`, b.account), nil)
	case "GetBillingCompanyFunction":
		ev = apiEvent("GET", "/billing-companies/"+b.tenant, map[string]string{"companyId": b.tenant}, b.claims, "", nil)
	case "PutInvoiceFunction":
		ev = apiEvent("PUT", "/invoices/"+id, p, b.claims, invoiceJSON(id), nil)
	case "GetInvoiceFunction":
		ev = apiEvent("GET", "/invoices/"+id, p, b.claims, "", nil)
	case "CreatePaymentLinkFunction":
		ev = apiEvent("POST", "/invoices/"+id+"/payment-link", p, b.claims, "", nil)
	case "RegeneratePaymentLinkFunction":
		ev = apiEvent("POST", "/invoices/"+id+"/payment-link/regenerate", p, b.claims, "", nil)
	case "RemovePaymentLinkFunction":
		ev = apiEvent("DELETE", "/invoices/"+id+"/payment-link", p, b.claims, "", nil)
	case "SendInvoiceEmailFunction":
		ev = apiEvent("POST", "/invoices/"+id+"/emails", p, b.claims, `{"includePaymentLink":true}`, nil)
	case "ListPaymentsFunction":
		ev = apiEvent("GET", "/payments", nil, b.claims, "", nil)
	case "StripeWebhookFunction":
		payload := b.paymentEvent(id, link)
		ev = apiEvent("POST", "/webhooks/stripe", nil, nil, string(payload), map[string]string{"stripe-signature": sign(payload)})
	case "RegisterReaderFunction":
		b.makeRoomForAReader()
		ev = apiEvent("POST", "/readers", nil, b.claims, `{"registrationCode":"simulated-wpe","label":"Bench"}`, nil)
	case "ListReadersFunction":
		ev = apiEvent("GET", "/readers", nil, b.claims, "", nil)
	case "DeleteReaderFunction":
		r := b.call("POST", "/readers", nil, `{"registrationCode":"simulated-wpe","label":"Bench"}`, nil)
		var reader struct{ ID string }
		_ = json.Unmarshal([]byte(r.Body), &reader)
		ev = apiEvent("DELETE", "/readers/"+reader.ID, map[string]string{"readerId": reader.ID}, b.claims, "", nil)
	case "StartReaderPaymentFunction":
		ev = apiEvent("POST", "/invoices/"+id+"/reader-payment", p, b.claims, b.readerPaymentJSON(),
			map[string]string{"idempotency-key": "bench-" + randomHex(8)})
	case "CancelReaderPaymentFunction":
		b.call("POST", "/invoices/"+id+"/reader-payment", p, b.readerPaymentJSON(), map[string]string{"idempotency-key": "bench-" + randomHex(8)})
		ev = apiEvent("DELETE", "/invoices/"+id+"/reader-payment", p, b.claims, "", nil)
	case "StartReaderRefundFunction":
		// No in-person payment to refund on the bench's invoice: the
		// function reads the invoice and answers 404 (its cold start and
		// size are what is measured).
		ev = apiEvent("POST", "/invoices/"+id+"/reader-refund", p, b.claims,
			fmt.Sprintf(`{"readerId":%q,"paymentIntentId":"pi_bench","amount":100}`, b.freeReader()),
			map[string]string{"idempotency-key": "bench-" + randomHex(8)})
	case "PutInvoiceRemindersFunction":
		ev = apiEvent("PUT", "/invoices/"+id+"/reminders", p, b.claims, `{"paused":true}`, nil)
	case jobs.Scheduler.Function:
		raw, _ := json.Marshal(map[string]any{"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
			"time": time.Now().UTC().Format(time.RFC3339), "detail": map[string]any{"company": b.tenant}})
		return raw
	case jobs.Worker.Function:
		body, _ := message.Encode([]billing.WorkMessage{{CompanyID: b.tenant, InvoiceID: id, Now: time.Now().UTC(), Run: "bench"}})
		raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "bench-" + randomHex(6), Body: string(body), EventSource: "aws:sqs"}}})
		return raw
	case jobs.EmailEvents.Function:
		return localses.Event(localses.Mail{MessageID: "bench-" + randomHex(6), At: time.Now().Unix(),
			Destination: localses.Destination{To: []string{"patient@example.com"}},
			Headers:     []localses.Header{{Name: "X-Clinicpay-Mail", Value: b.tenant + "/" + id + "/invoice/bench"}}},
			billing.EmailEventDelivery, localses.EventOptions{})
	default:
		ev = apiEvent("GET", "/", nil, nil, "", nil)
	}
	raw, _ := json.Marshal(ev)
	return raw
}

func median(ds []time.Duration) time.Duration { return pct(ds, 0.5) }

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func medianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Ints(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64)
}

// startCPUProfile profiles this process (the warm requests' handlers; the
// local servers run apart) into path, if one is given.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
