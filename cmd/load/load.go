package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/wiring"
)

// Config bounds a run.
type Config struct {
	Duration    time.Duration
	MaxRequests int
	Workers     int
	Tenants     int
	Invoices    int
	FaultRate   float64
}

// op is one kind of request the workers send, with its weight in the mix.
type op struct {
	name   string
	weight int
	run    func(w *worker, s *slot)
}

// Run starts a private local stack, drives it and checks it.
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Report, error) {
	l, stop, err := start(ctx, cfg, logw)
	if err != nil {
		return nil, err
	}
	defer stop()
	fmt.Fprintf(logw, "load: %d tenants × %d invoices\n", cfg.Tenants, cfg.Invoices)
	if err := l.setup(); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "load: %d workers for %s (at most %d requests)\n", cfg.Workers, cfg.Duration, cfg.MaxRequests)
	l.drive(ctx)
	fmt.Fprintln(logw, "load: settling and checking every invoice…")
	l.check()
	return l.rep, nil
}

// start runs the local servers and the API in process, and returns a
// loader on them and what stops them all.
func start(ctx context.Context, cfg Config, logw io.Writer) (_ *loader, stop func(), err error) {
	tools, err := localservers.FindTools()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(logw, "load: starting DynamoDB Local, stripe-mock, SES…")
	stack, err := localservers.Start(ctx, tools)
	if err != nil {
		return nil, nil, err
	}
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stops = append(stops, stack.Stop)
	defer func() {
		if err != nil {
			stop()
		}
	}()

	l := &loader{cfg: cfg, rep: newReport(cfg), links: map[string]linkInfo{}}
	// The charges' refunds, read by the webhook, are answered from what
	// the load refunded (stripe-mock would answer a fixture).
	l.truth, _ = localstripe.Open("")
	l.stripe = faultproxy.NewStripe(stack.Stripe.URL, faultproxy.WithResponder(func(r *faultproxy.Request) (int, []byte, bool) {
		return l.truth.Answer(r.Method, r.Path, r.Header, r.Query)
	}))
	stops = append(stops, l.stripe.Close)
	l.stripe.StopRecording()
	l.stripe.Observe(l.observeStripe)
	l.ses = faultproxy.New(stack.SES.URL)
	stops = append(stops, l.ses.Close)
	l.ses.StopRecording()
	if cfg.FaultRate > 0 {
		l.injectFaults()
	}

	settings := localapi.Settings{TableName: "clinicpay-load", DynamoDBURL: stack.DynamoDB.URL, StripeURL: l.stripe.URL, SESURL: l.ses.URL, SenderEmail: "factures@clinicpay.load"}
	for k, v := range settings.Env() {
		os.Setenv(k, v)
	}
	// Faults must reach the service, not be absorbed by client retries.
	os.Setenv(wiring.EnvStripeMaxRetries, "0")
	awsCfg, err := wiring.AWSConfig(wiring.OS())
	if err != nil {
		return nil, nil, err
	}
	l.db = dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(wiring.OS(), "DYNAMODB") })
	if err := localservers.CreateTable(ctx, l.db, settings.TableName); err != nil {
		return nil, nil, err
	}
	// The service's error lines (5xx) go to logw: a violation must be
	// explainable.
	api, err := localapi.BuildAPI(ctx, wiring.OS(), slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewServer(localapi.New(api, localapi.Config{}))
	stops = append(stops, srv.Close)
	l.base = srv.URL
	l.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 40 * time.Second}
	return l, stop, nil
}

type loader struct {
	cfg    Config
	rep    *Report
	base   string
	client *http.Client
	stripe *faultproxy.Stripe
	truth  *localstripe.State
	ses    *faultproxy.Proxy
	db     *dynamodb.Client

	tenants []*tenant
	slots   []*slot
	sent    atomic.Int64

	mu        sync.Mutex
	links     map[string]linkInfo // by Stripe link id, from what Stripe answered
	events    [][]byte            // payment events delivered (for duplicates)
	paid      []paidRef           // payments delivered (for refunds)
	delivered map[string][]string // invoice key → PaymentIntents delivered and applied
	paidLinks map[string]bool     // links a patient completed (Stripe deactivates them itself)
	netPaid   map[string]int64    // invoice key → netPaidOnline once settled
}

type tenant struct {
	id, account, token string
	invoices           []string // every invoice id ever used
}

type slot struct {
	mu     sync.Mutex
	tenant *tenant
	t      int // the tenant's index: ids differ across tenants
	n, k   int
	id     string
}

type linkInfo struct {
	company, invoice, generation string
	deactivated                  bool
}

type paidRef struct {
	tenant  *tenant
	invoice string
	pi, ch  string
	amount  int64
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// observeStripe keeps what Stripe did to links, from its answers.
func (l *loader) observeStripe(r *faultproxy.Request) {
	if r.Method != "POST" || r.Status != 200 || r.Injected || !strings.HasPrefix(r.Path, "/v1/payment_links") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Path == "/v1/payment_links" {
		var obj struct{ ID string }
		if json.Unmarshal(r.Response, &obj) == nil {
			info := l.links[obj.ID]
			info.company, info.invoice, info.generation = r.Form.Get("metadata[billing_company_id]"), r.Form.Get("metadata[invoice_id]"), r.Form.Get("metadata[link_generation]")
			l.links[obj.ID] = info
		}
		return
	}
	if r.Form.Get("active") == "false" {
		id := strings.TrimPrefix(r.Path, "/v1/payment_links/")
		info := l.links[id]
		info.deactivated = true
		l.links[id] = info
	}
}

func (l *loader) injectFaults() {
	fail := func(p *faultproxy.Proxy, status int, body string, h http.Header) {
		p.Inject(faultproxy.Rule{
			Match: func(*faultproxy.Request) bool {
				if mrand.Float64() >= l.cfg.FaultRate {
					return false
				}
				l.rep.InjectedFaults.Add(1)
				return true
			},
			Status: status, Body: body, Header: h,
		})
	}
	fail(l.stripe.Proxy, 503, `{"error":{"type":"api_error","message":"injected"}}`, http.Header{"Content-Type": {"application/json"}})
	fail(l.ses, 503, `<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>injected</Message></Error></ErrorResponse>`, http.Header{"Content-Type": {"text/xml"}})
}

func (l *loader) setup() error {
	l.delivered, l.paidLinks, l.netPaid = map[string][]string{}, map[string]bool{}, map[string]int64{}
	for i := range l.cfg.Tenants {
		t, err := l.newTenant(nil)
		if err != nil {
			return err
		}
		for n := range l.cfg.Invoices {
			s := &slot{tenant: t, t: i, n: n}
			if err := l.newInvoice(s); err != nil {
				return err
			}
			l.slots = append(l.slots, s)
		}
	}
	return nil
}

// newTenant makes a billing company connected to its own Stripe account,
// with the company's settings and extra ones.
func (l *loader) newTenant(extra map[string]any) (*tenant, error) {
	i := len(l.tenants)
	id := fmt.Sprintf("load-%d-%s", i, randomHex(3))
	tok, err := localapi.IssueToken("", id, "billing:admin", 2*time.Hour)
	if err != nil {
		return nil, err
	}
	t := &tenant{id: id, account: "acct_1Load" + strings.ToUpper(randomHex(5)), token: tok}
	platform, err := localapi.IssueToken("", "", "billing:platform", 2*time.Hour)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"name": fmt.Sprintf("Clinique %d", i), "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr", "stripeAccountId": t.account,
	}
	for k, v := range extra {
		body[k] = v
	}
	if status := l.setupCall(platform, "PUT", "/billing-companies/"+id, body); status != 200 {
		return nil, fmt.Errorf("company %s: status %d", id, status)
	}
	l.tenants = append(l.tenants, t)
	return t, nil
}

func invoiceBody(number string, total, balance int64) map[string]any {
	return map[string]any{
		"number": number, "currency": "cad", "total": total, "balanceDue": balance, "issuedOn": "2026-11-20",
		"patient": map[string]any{"name": "Patient", "email": "patient@example.com", "language": "fr"},
		"lines":   []any{map[string]any{"description": "Consultation", "amount": total}},
	}
}

// newInvoice gives the slot a fresh invoice (the previous one was paid).
func (l *loader) newInvoice(s *slot) error {
	s.k++
	id := fmt.Sprintf("inv-%d-%d-%d", s.t, s.n, s.k)
	status := l.setupCall(s.tenant.token, "PUT", "/invoices/"+id, invoiceBody("F-"+id, 10000, 10000))
	if status != 201 && status != 200 {
		return fmt.Errorf("invoice %s: status %d", id, status)
	}
	s.id = id
	l.mu.Lock()
	s.tenant.invoices = append(s.tenant.invoices, id)
	l.mu.Unlock()
	return nil
}

// setupCall sends a setup request, again while it fails for an injected
// fault (5xx), as any client would.
func (l *loader) setupCall(tok, method, path string, body any) int {
	for attempt := 0; ; attempt++ {
		status, _, _ := l.do(tok, method, path, body, "")
		if status < 500 || attempt == 10 {
			return status
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do sends one request and returns the status, the decoded body and the raw
// body.
func (l *loader) do(tok, method, path string, body any, key string, header ...string) (int, map[string]any, []byte) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, l.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (l *loader) done(ctx context.Context, end time.Time) bool {
	return ctx.Err() != nil || time.Now().After(end) || l.sent.Load() >= int64(l.cfg.MaxRequests)
}

// drive runs the workers until the time or the request budget is spent.
func (l *loader) drive(ctx context.Context) {
	ops := l.ops()
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	start := time.Now()
	end := start.Add(l.cfg.Duration)
	var wg sync.WaitGroup
	for i := range l.cfg.Workers {
		w := &worker{l: l, rnd: mrand.New(mrand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		wg.Go(func() {
			for !l.done(ctx, end) {
				s := l.slots[w.rnd.IntN(len(l.slots))]
				n := w.rnd.IntN(total)
				for _, o := range ops {
					if n < o.weight {
						o.run(w, s)
						break
					}
					n -= o.weight
				}
			}
		})
	}
	wg.Wait()
	l.rep.finish(time.Since(start))
}

// worker is one load worker.
type worker struct {
	l   *loader
	rnd *mrand.Rand
}

// send times one request and checks its status against what the contract
// allows for the operation; 5xx are allowed only for upstream outages, and
// only when faults are injected.
func (w *worker) send(opName string, allowed []int, tok, method, path string, body any, key string, header ...string) (int, map[string]any, []byte) {
	w.l.sent.Add(1)
	t0 := time.Now()
	status, m, raw := w.l.do(tok, method, path, body, key, header...)
	w.l.rep.record(opName, status, time.Since(t0))
	switch {
	case status >= 500:
		w.l.rep.ServerErrors.Add(1)
		code := errCode(m)
		upstream := code == "payment_provider_unavailable" || code == "email_provider_unavailable"
		// The webhook asks Stripe to deliver again (503) while another
		// request holds the invoice: Stripe's contract, not a failure.
		busy := path == "/webhooks/stripe" && code == "service_unavailable" && status == 503
		if busy {
			w.l.rep.WebhookRetries.Add(1)
		} else if w.l.cfg.FaultRate == 0 || !upstream || status != 503 {
			w.l.rep.violation("5xx_not_injected", fmt.Sprintf("%s %s → %d %s", method, path, status, raw))
		}
	case !slices.Contains(allowed, status):
		w.l.rep.violation("status_outside_contract", fmt.Sprintf("%s %s → %d %s", method, path, status, raw))
	}
	return status, m, raw
}

// sendTwice sends a mutating request under an Idempotency-Key, then again:
// a first answer that is not retryable must come back identical.
func (w *worker) sendTwice(opName string, allowed []int, tok, method, path string, body any) (int, map[string]any) {
	key := "load-" + randomHex(8)
	status, m, raw := w.send(opName, allowed, tok, method, path, body, key)
	if status >= 500 || status == 0 || errCode(m) == "conflict" || errCode(m) == "request_in_progress" {
		return status, m
	}
	status2, _, raw2 := w.send(opName+"_replay", append(allowed, status), tok, method, path, body, key)
	if status2 != status || !bytes.Equal(raw, raw2) {
		w.l.rep.violation("idempotent_replay_differs", fmt.Sprintf("%s %s: %d then %d", method, path, status, status2))
	}
	return status, m
}

func (l *loader) ops() []op {
	with := func(extra ...int) []int {
		if l.cfg.FaultRate > 0 {
			extra = append(extra, 503)
		}
		return extra
	}
	rotateIfPaid := func(s *slot, m map[string]any) {
		if errCode(m) == "invoice_paid" || errCode(m) == "nothing_due" {
			s.mu.Lock()
			_ = l.newInvoice(s)
			s.mu.Unlock()
		}
	}
	return []op{
		{"get", 18, func(w *worker, s *slot) {
			w.send("get", []int{200}, s.tenant.token, "GET", "/invoices/"+s.id, nil, "")
		}},
		{"cross_tenant_get", 3, func(w *worker, s *slot) {
			other := l.slots[w.rnd.IntN(len(l.slots))]
			if other.tenant == s.tenant {
				return
			}
			if status, _, _ := w.send("cross_tenant_get", []int{404}, s.tenant.token, "GET", "/invoices/"+other.id, nil, ""); status != 404 {
				l.rep.violation("cross_tenant_read", other.id)
			}
		}},
		{"create_link", 18, func(w *worker, s *slot) {
			var m map[string]any
			if w.rnd.IntN(3) == 0 {
				_, m = w.sendTwice("create_link", with(200, 201, 409), s.tenant.token, "POST", "/invoices/"+s.id+"/payment-link", nil)
			} else {
				_, m, _ = w.send("create_link", with(200, 201, 409), s.tenant.token, "POST", "/invoices/"+s.id+"/payment-link", nil, "")
			}
			rotateIfPaid(s, m)
		}},
		{"regenerate_link", 12, func(w *worker, s *slot) {
			_, m, _ := w.send("regenerate_link", with(201, 409, 502), s.tenant.token, "POST", "/invoices/"+s.id+"/payment-link/regenerate", nil, "")
			rotateIfPaid(s, m)
		}},
		{"remove_link", 8, func(w *worker, s *slot) {
			w.send("remove_link", with(204, 404, 409, 502), s.tenant.token, "DELETE", "/invoices/"+s.id+"/payment-link", nil, "")
		}},
		{"email", 8, func(w *worker, s *slot) {
			body := map[string]any{"includePaymentLink": w.rnd.IntN(2) == 0}
			_, m := w.sendTwice("email", with(202, 409), s.tenant.token, "POST", "/invoices/"+s.id+"/emails", body)
			rotateIfPaid(s, m)
		}},
		{"amount_change", 3, func(w *worker, s *slot) {
			// As the billing module does: read, then write with If-Match
			// (412 if a webhook wrote meanwhile; 409 when the new balance
			// exceeds what is unpaid). Now and then a blind write, which an
			// invoice with an online payment refuses (428).
			body := invoiceBody("F-"+s.id, 10000, int64(5000+w.rnd.IntN(5001)))
			if w.rnd.IntN(4) == 0 {
				w.send("amount_change_blind", with(200, 409, 428), s.tenant.token, "PUT", "/invoices/"+s.id, body, "")
				return
			}
			status, m, _ := w.send("get", []int{200}, s.tenant.token, "GET", "/invoices/"+s.id, nil, "")
			if status != 200 {
				return
			}
			etag, _ := m["etag"].(string)
			w.send("amount_change", with(200, 409, 412), s.tenant.token, "PUT", "/invoices/"+s.id, body, "", "If-Match", etag)
		}},
		{"webhook_pay", 14, func(w *worker, s *slot) { w.pay(s) }},
		{"webhook_refund", 4, func(w *worker, _ *slot) { w.refund() }},
		{"webhook_duplicate", 4, func(w *worker, _ *slot) { w.duplicate() }},
	}
}

// pay delivers a completed checkout for the invoice's active link, as Stripe
// would after a patient paid.
func (w *worker) pay(s *slot) {
	l := w.l
	id := s.id
	status, m, _ := w.send("get", []int{200}, s.tenant.token, "GET", "/invoices/"+id, nil, "")
	if status != 200 {
		return
	}
	link, _ := m["paymentLink"].(map[string]any)
	if link == nil {
		return
	}
	linkID, _ := link["id"].(string)
	amount, _ := link["amount"].(float64)
	l.mu.Lock()
	info, ok := l.links[linkID]
	l.mu.Unlock()
	if !ok {
		l.rep.violation("link_unknown_at_stripe", linkID)
		return
	}
	pi, ch := "pi_"+randomHex(10), "ch_"+randomHex(10)
	session := map[string]any{
		"id": "cs_" + randomHex(10), "object": "checkout.session", "amount_total": int64(amount), "currency": "cad",
		"mode": "payment", "status": "complete", "payment_status": "paid", "payment_intent": pi, "payment_link": linkID,
		"metadata": map[string]any{"billing_company_id": info.company, "invoice_id": info.invoice, "link_generation": info.generation},
	}
	payload := event("checkout.session.completed", s.tenant.account, session)
	outcome := w.deliver("webhook_pay", payload)
	// Applied now, or applied by a first delivery whose follow-up asked
	// Stripe to come back (the redelivery is then a duplicate).
	if outcome == "applied" || outcome == "duplicate" {
		l.mu.Lock()
		key := s.tenant.id + "/" + id
		l.delivered[key] = append(l.delivered[key], pi)
		l.paidLinks[linkID] = true
		l.events = append(l.events, payload)
		l.paid = append(l.paid, paidRef{tenant: s.tenant, invoice: id, pi: pi, ch: ch, amount: int64(amount)})
		l.mu.Unlock()
	} else {
		l.rep.violation("payment_not_applied", outcome)
	}
}

// deliver posts a signed event as Stripe does: a non-2xx answer is
// delivered again (after a pause) until it is acknowledged. Stripe keeps
// trying for three days; here, for a minute.
func (w *worker) deliver(opName string, payload []byte) string {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		allowed := []int{200}
		status, m, _ := w.send(opName, allowed, "", "POST", "/webhooks/stripe", payload, "", "Stripe-Signature", sign(payload))
		if status == 200 {
			o, _ := m["outcome"].(string)
			return o
		}
		time.Sleep(time.Duration(100+w.rnd.IntN(200)) * time.Millisecond)
	}
	return "not_acknowledged"
}

func (w *worker) refund() {
	l := w.l
	l.mu.Lock()
	if len(l.paid) == 0 {
		l.mu.Unlock()
		return
	}
	p := l.paid[w.rnd.IntN(len(l.paid))]
	l.mu.Unlock()
	l.truth.PutPayment(localstripe.Payment{PaymentIntent: p.pi, Charge: p.ch, Account: p.tenant.account, Amount: p.amount, Currency: "cad", Status: localstripe.Succeeded})
	l.truth.PutRefund(p.pi, localstripe.Refunded{ID: "re_" + p.ch, Amount: p.amount / 2, Status: localstripe.RefundSucceeded, CreatedAt: time.Now()})
	payload := event("charge.refunded", p.tenant.account, map[string]any{
		"id": p.ch, "object": "charge", "amount": p.amount, "amount_refunded": p.amount / 2, "currency": "cad",
		"paid": true, "status": "succeeded", "payment_intent": p.pi, "refunded": false,
	})
	w.deliver("webhook_refund", payload)
}

func (w *worker) duplicate() {
	l := w.l
	l.mu.Lock()
	if len(l.events) == 0 {
		l.mu.Unlock()
		return
	}
	payload := l.events[w.rnd.IntN(len(l.events))]
	l.mu.Unlock()
	if outcome := w.deliver("webhook_duplicate", payload); outcome != "duplicate" {
		l.rep.violation("duplicate_applied", outcome)
	}
}

func event(eventType, account string, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "evt_" + randomHex(12), "object": "event", "account": account, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": object}, "livemode": false, "type": eventType,
	})
	return b
}

func sign(payload []byte) string {
	now := time.Now()
	return fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, payload, localservers.WebhookSecret)))
}

// check settles every invoice (a DELETE of its link finishes any change cut
// short, then ends the active link) and checks the invariants everywhere.
func (l *loader) check() {
	rep := l.rep
	for _, t := range l.tenants {
		for _, id := range t.invoices {
			for attempt := 0; ; attempt++ {
				status, m, _ := l.do(t.token, "DELETE", "/invoices/"+id+"/payment-link", nil, "")
				// Settled: the link ended now, or none was active
				// (409 no_active_link).
				settled := status == 204 || (status == 409 && errCode(m) == "no_active_link")
				if settled || attempt == 200 {
					if !settled {
						rep.violation("not_settled", fmt.Sprintf("%s: %d %s", id, status, errCode(m)))
					}
					break
				}
				time.Sleep(250 * time.Millisecond) // a lease still running, or an injected fault
			}
			rep.Checked.Invoices++
			status, m, _ := l.do(t.token, "GET", "/invoices/"+id, nil, "")
			if status != 200 {
				rep.violation("unreadable_invoice", id)
				continue
			}
			l.checkInvoice(t, id, m)
		}
		l.checkFeed(t)
	}
	l.checkStripe()
	l.checkLeases()
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

func (l *loader) checkInvoice(t *tenant, id string, m map[string]any) {
	rep := l.rep
	active := 0
	links, _ := m["links"].([]any)
	for _, x := range links {
		rep.Checked.Links++
		if x.(map[string]any)["status"] == "active" {
			active++
		}
	}
	if active > 0 {
		rep.violation("active_link_after_settle", id)
	}
	if num(m["balanceDue"]) < 0 || num(m["overpaid"]) < 0 {
		rep.violation("negative_balance", id)
	}
	if num(m["balanceDue"]) > max(num(m["total"])-num(m["netPaidOnline"]), 0) {
		rep.violation("balance_above_unpaid", fmt.Sprintf("%s: balance %d, total %d, paid online %d", id, num(m["balanceDue"]), num(m["total"]), num(m["netPaidOnline"])))
	}
	l.mu.Lock()
	l.netPaid[t.id+"/"+id] = num(m["netPaidOnline"])
	l.mu.Unlock()
	payments, _ := m["payments"].([]any)
	var recorded []string
	for _, x := range payments {
		p := x.(map[string]any)
		rep.Checked.Payments++
		recorded = append(recorded, p["paymentIntentId"].(string))
		if num(p["refunded"]) > num(p["amount"]) {
			rep.violation("refund_above_payment", id)
		}
	}
	l.mu.Lock()
	want := slices.Clone(l.delivered[t.id+"/"+id])
	l.mu.Unlock()
	slices.Sort(recorded)
	slices.Sort(want)
	if !slices.Equal(recorded, want) {
		rep.violation("payment_not_applied_once", fmt.Sprintf("%s: recorded %d, delivered %d", id, len(recorded), len(want)))
	}
}

// checkFeed: every entry once, in order; one payment_succeeded per payment.
func (l *loader) checkFeed(t *tenant) {
	after, last := "", ""
	succeeded := map[string]int{}
	net := map[string]int64{} // per invoice, what the entries say was paid online
	for {
		status, m, _ := l.do(t.token, "GET", "/payments?limit=100&after="+after, nil, "")
		if status != 200 {
			l.rep.violation("feed_unreadable", t.id)
			return
		}
		entries, _ := m["payments"].([]any)
		for _, x := range entries {
			e := x.(map[string]any)
			if c := e["cursor"].(string); c == last {
				l.rep.violation("feed_repeats", t.id)
			} else {
				last = c
			}
			if e["kind"] == "payment_succeeded" {
				succeeded[e["paymentIntentId"].(string)]++
			}
			net[e["invoiceId"].(string)] += num(e["netChange"])
			l.rep.Checked.FeedEntries++
		}
		after, _ = m["nextCursor"].(string)
		if m["hasMore"] != true {
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range t.invoices {
		for _, pi := range l.delivered[t.id+"/"+id] {
			if succeeded[pi] != 1 {
				l.rep.violation("feed_payment_not_once", pi)
			}
		}
		if paid, ok := l.netPaid[t.id+"/"+id]; ok && net[id] != paid {
			l.rep.violation("feed_sum_differs", fmt.Sprintf("%s: the feed adds up to %d, the invoice says %d", id, net[id], paid))
		}
	}
}

// checkStripe: after settling, no link is payable at Stripe: each was
// deactivated by us or completed by a patient.
func (l *loader) checkStripe() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, info := range l.links {
		if !info.deactivated && !l.paidLinks[id] {
			l.rep.violation("payable_at_stripe_unknown_to_store", id)
		}
	}
	l.rep.Checked.StripeLinks = len(l.links)
}

// checkLeases scans the table for an invoice still under a lease: a link
// change or an e-mail left half done.
func (l *loader) checkLeases() {
	var start map[string]typesAV
	for {
		out, err := l.db.Scan(context.Background(), &dynamodb.ScanInput{
			TableName: aws.String("clinicpay-load"), ProjectionExpression: aws.String("pk, sk"),
			FilterExpression: aws.String("attribute_exists(#lease)"), ExpressionAttributeNames: map[string]string{"#lease": "lease"},
			ExclusiveStartKey: start,
		})
		if err != nil {
			l.rep.violation("scan_failed", err.Error())
			return
		}
		for range out.Items {
			l.rep.violation("lease_left", "")
		}
		if out.LastEvaluatedKey == nil {
			return
		}
		start = out.LastEvaluatedKey
	}
}
