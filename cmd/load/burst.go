package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localstripe"
)

// BurstConfig is a webhook burst: Events checkout.session.completed
// deliveries, spread evenly over each count of Tenants in turn, sent by
// Workers concurrent deliverers that redeliver a 5xx as Stripe does; all of
// it Rounds times, every other round in the reverse order (a busy machine's
// noise and a warming JVM then weigh on each count alike).
type BurstConfig struct {
	Events  int
	Tenants []int
	Workers int
	Rounds  int
}

// BurstResult is one burst's figures and what its feed check found.
type BurstResult struct {
	Round          int      `json:"round"`
	Tenants        int      `json:"tenants"`
	Events         int      `json:"events"`
	Workers        int      `json:"workers"`
	Deliveries     int      `json:"deliveries"`
	Answered503    int64    `json:"answered503"`
	OtherFailures  int64    `json:"otherFailures"`
	AppliedSeconds float64  `json:"appliedSeconds"`
	EventsPerSec   float64  `json:"eventsPerSecond"`
	P50Ms          float64  `json:"deliveryP50Ms"`
	P99Ms          float64  `json:"deliveryP99Ms"`
	MaxMs          float64  `json:"deliveryMaxMs"`
	FeedEntries    int      `json:"feedEntries"`
	FeedReadMs     float64  `json:"feedReadMs"`
	Violations     int      `json:"violations"`
	Examples       []string `json:"violationExamples,omitempty"`
}

// BurstReport is a burst run: one result per tenant count.
type BurstReport struct {
	Config  BurstConfig   `json:"config"`
	Results []BurstResult `json:"results"`
}

// Violations counts every invariant broken in every burst.
func (r *BurstReport) Violations() int {
	n := 0
	for _, b := range r.Results {
		n += b.Violations
	}
	return n
}

// Print writes the report for people: each burst, then per tenant count
// the medians over the rounds and their ratio to the most tenants'.
func (r *BurstReport) Print(w io.Writer) {
	for _, b := range r.Results {
		fmt.Fprintf(w, "round %d: %d events over %d tenant(s), %d workers: all applied in %.2f s (%.0f events/s)\n",
			b.Round, b.Events, b.Tenants, b.Workers, b.AppliedSeconds, b.EventsPerSec)
		fmt.Fprintf(w, "  deliveries %d: answered 503 %d, other failures %d; latency p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
			b.Deliveries, b.Answered503, b.OtherFailures, b.P50Ms, b.P99Ms, b.MaxMs)
		fmt.Fprintf(w, "  feed read back entry by entry: %d entries in %.0f ms, violations %d\n", b.FeedEntries, b.FeedReadMs, b.Violations)
		for _, e := range b.Examples {
			fmt.Fprintln(w, "    ", e)
		}
	}
	spread := slices.Max(r.Config.Tenants)
	for _, n := range r.Config.Tenants {
		var p99 []float64
		var answered503 int64
		for _, b := range r.Results {
			if b.Tenants == n {
				p99 = append(p99, b.P99Ms)
				answered503 += b.Answered503
			}
		}
		secs := r.medianSeconds(n)
		fmt.Fprintf(w, "burst, %d tenant(s), median of %d: all applied in %.2f s (%.0f events/s), p99 delivery %.0f ms, answered 503 %d in all",
			n, len(p99), secs, float64(r.Config.Events)/secs, median(p99), answered503)
		if spreadSecs := r.medianSeconds(spread); n != spread && spreadSecs > 0 {
			fmt.Fprintf(w, "; %.2f× the %d-tenant time", secs/spreadSecs, spread)
		}
		fmt.Fprintln(w)
	}
}

// medianSeconds is the median time until all were applied, over the bursts
// for n tenants.
func (r *BurstReport) medianSeconds(n int) float64 {
	var secs []float64
	for _, b := range r.Results {
		if b.Tenants == n {
			secs = append(secs, b.AppliedSeconds)
		}
	}
	return median(secs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// RunBurst starts a private local stack and runs the rounds of bursts,
// after a small unreported one that warms the stack up.
func RunBurst(ctx context.Context, cfg BurstConfig, logw io.Writer) (*BurstReport, error) {
	l, stop, err := start(ctx, Config{Workers: cfg.Workers}, logw)
	if err != nil {
		return nil, err
	}
	defer stop()
	rep := &BurstReport{Config: cfg}
	warm := BurstConfig{Events: max(cfg.Events/10, 1), Workers: cfg.Workers}
	fmt.Fprintf(logw, "load: warming up with %d events\n", warm.Events)
	if _, err := l.burst(ctx, warm, 2, logw); err != nil {
		return nil, err
	}
	for round := 1; round <= max(cfg.Rounds, 1); round++ {
		order := slices.Clone(cfg.Tenants)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, n := range order {
			res, err := l.burst(ctx, cfg, n, logw)
			if err != nil {
				return nil, err
			}
			res.Round = round
			rep.Results = append(rep.Results, *res)
		}
	}
	return rep, nil
}

// burstEvent is one payment to deliver and what its feed entry must say.
type burstEvent struct {
	tenant  *tenant
	invoice string
	amount  int64
	id      string
	payload []byte
}

// burst makes tenants companies (receipts off) with cfg.Events invoices in
// all, each with a link, then delivers one payment for each at once.
func (l *loader) burst(ctx context.Context, cfg BurstConfig, tenants int, logw io.Writer) (*BurstResult, error) {
	fmt.Fprintf(logw, "load: burst setup: %d tenant(s), %d invoices with a link\n", tenants, cfg.Events)
	events, err := l.burstSetup(tenants, cfg.Events, cfg.Workers)
	if err != nil {
		return nil, err
	}
	res := &BurstResult{Tenants: tenants, Events: cfg.Events, Workers: cfg.Workers}
	var mu sync.Mutex
	var latencies []time.Duration
	queue := make(chan *burstEvent)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range cfg.Workers {
		rnd := mrand.New(mrand.NewPCG(uint64(i), uint64(t0.UnixNano())))
		wg.Go(func() {
			for ev := range queue {
				ds, outcome := l.deliverAsStripe(ctx, ev.payload, rnd, res)
				mu.Lock()
				latencies = append(latencies, ds...)
				if outcome != "applied" && outcome != "duplicate" {
					res.Violations++
					res.Examples = appendExample(res.Examples, fmt.Sprintf("event %s: %s", ev.id, outcome))
				}
				mu.Unlock()
			}
		})
	}
	for _, ev := range events {
		queue <- ev
	}
	close(queue)
	wg.Wait()
	elapsed := time.Since(t0)
	res.Deliveries = len(latencies)
	res.AppliedSeconds = elapsed.Seconds()
	res.EventsPerSec = float64(cfg.Events) / elapsed.Seconds()
	res.P50Ms, res.P99Ms, res.MaxMs = percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1)
	read := time.Now()
	l.checkBurstFeed(events, res)
	res.FeedReadMs = float64(time.Since(read).Microseconds()) / 1000
	return res, nil
}

// burstSetup makes the tenants, their invoices and links, and the signed
// events (not yet delivered), interleaved across tenants.
func (l *loader) burstSetup(tenants, events, workers int) ([]*burstEvent, error) {
	var ts []*tenant
	for range tenants {
		t, err := l.newTenant(map[string]any{"sendReceipts": false})
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	out := make([]*burstEvent, events)
	var failed atomic.Value
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < events; i = int(next.Add(1) - 1) {
				ev, err := l.linkedPayment(ts[i%len(ts)], i)
				if err != nil {
					failed.Store(err)
					return
				}
				out[i] = ev
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return nil, err
	}
	return out, nil
}

// linkedPayment makes an invoice of its own amount with a link, and the
// signed checkout.session.completed Stripe sends when it is paid.
func (l *loader) linkedPayment(t *tenant, i int) (*burstEvent, error) {
	id := fmt.Sprintf("burst-%d-%s", i, randomHex(3))
	amount := int64(1000 + i)
	body := invoiceBody("F-"+id, amount, amount)
	if status := l.setupCall(t.token, "PUT", "/invoices/"+id, body); status != 201 {
		return nil, fmt.Errorf("invoice %s: status %d", id, status)
	}
	status, m, raw := l.do(t.token, "POST", "/invoices/"+id+"/payment-link", nil, "")
	if status != 201 {
		return nil, fmt.Errorf("link of %s: status %d %s", id, status, raw)
	}
	linkID, _ := m["id"].(string)
	l.mu.Lock()
	info, ok := l.links[linkID]
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("link %s: unknown at Stripe", linkID)
	}
	evID := localstripe.NewID("evt")
	session := localstripe.Session(localstripe.SessionFacts{
		ID: localstripe.NewID("cs_test"), PaymentIntent: localstripe.NewID("pi"), PaymentStatus: "paid", LinkID: linkID,
		Amount: amount, Currency: "cad",
		Metadata: map[string]string{"billing_company_id": info.company, "invoice_id": info.invoice, "link_generation": info.generation},
	})
	payload := localstripe.Event(evID, "checkout.session.completed", t.account, session, time.Now())
	return &burstEvent{tenant: t, invoice: id, amount: amount, id: evID, payload: payload}, nil
}

// deliverAsStripe posts a signed event until it is acknowledged, as Stripe
// does: a 5xx (or no answer) is delivered again after a backoff that
// doubles from 100 ms to 3.2 s, jittered, for at most 2 minutes. It returns
// each delivery's latency and the outcome acknowledged.
func (l *loader) deliverAsStripe(ctx context.Context, payload []byte, rnd *mrand.Rand, res *BurstResult) ([]time.Duration, string) {
	var ds []time.Duration
	pause := 100 * time.Millisecond
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
		t0 := time.Now()
		status, m, raw := l.do("", "POST", "/webhooks/stripe", payload, "", "Stripe-Signature", localstripe.Sign(payload, localservers.WebhookSecret, time.Now()))
		ds = append(ds, time.Since(t0))
		switch {
		case status == 200:
			o, _ := m["outcome"].(string)
			return ds, o
		case status == 503:
			atomic.AddInt64(&res.Answered503, 1)
		case status >= 500 || status == 0:
			atomic.AddInt64(&res.OtherFailures, 1)
		default:
			return ds, fmt.Sprintf("answered %d %s", status, raw)
		}
		time.Sleep(pause/2 + time.Duration(rnd.Int64N(int64(pause))))
		pause = min(2*pause, 3200*time.Millisecond)
	}
	return ds, "not_acknowledged"
}

// checkBurstFeed reads each tenant's feed page by page and checks it entry
// by entry: every event's entry once, a payment_succeeded of the invoice's
// amount, positions strictly increasing.
func (l *loader) checkBurstFeed(events []*burstEvent, res *BurstResult) {
	want := map[string]*burstEvent{}
	tenants := map[*tenant]bool{}
	for _, ev := range events {
		want[ev.id] = ev
		tenants[ev.tenant] = true
	}
	bad := func(format string, args ...any) {
		res.Violations++
		res.Examples = appendExample(res.Examples, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for t := range tenants {
		after, last := "", int64(0)
		for {
			status, m, _ := l.do(t.token, "GET", "/payments?limit=100&after="+after, nil, "")
			if status != 200 {
				bad("feed of %s: status %d", t.id, status)
				break
			}
			entries, _ := m["payments"].([]any)
			for _, x := range entries {
				e := x.(map[string]any)
				res.FeedEntries++
				pos := cursorPosition(e["cursor"])
				if pos <= last {
					bad("feed of %s: position %d after %d", t.id, pos, last)
				}
				last = pos
				id, _ := e["eventId"].(string)
				ev := want[id]
				switch {
				case ev == nil || ev.tenant != t:
					bad("feed of %s: entry of event %q, not of this burst and tenant", t.id, id)
				case seen[id]:
					bad("feed of %s: event %s twice", t.id, id)
				case e["kind"] != "payment_succeeded" || e["invoiceId"] != ev.invoice || num(e["amount"]) != ev.amount || num(e["netChange"]) != ev.amount:
					bad("feed of %s: event %s says %v %v %v/%v, want a payment of %d on %s", t.id, id, e["kind"], e["invoiceId"], e["amount"], e["netChange"], ev.amount, ev.invoice)
				}
				seen[id] = true
			}
			after, _ = m["nextCursor"].(string)
			if m["hasMore"] != true {
				break
			}
		}
	}
	for id := range want {
		if !seen[id] {
			bad("event %s: no feed entry", id)
		}
	}
}

// cursorPosition reads the position in a feed cursor ("feed.v1.<n>"); the
// cursor is opaque to clients, but this check is ours.
func cursorPosition(c any) int64 {
	s, _ := c.(string)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(raw), '.')
	n, err := strconv.ParseInt(string(raw[i+1:]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func appendExample(ex []string, e string) []string {
	if len(ex) < 10 {
		ex = append(ex, e)
	}
	return ex
}
