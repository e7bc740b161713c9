package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type typesAV = types.AttributeValue

// Report is what a run measured and found.
type Report struct {
	Config         Config               `json:"config"`
	Requests       int                  `json:"requests"`
	ElapsedSeconds float64              `json:"elapsedSeconds"`
	RequestsPerSec float64              `json:"requestsPerSecond"`
	P50Ms          float64              `json:"p50Ms"`
	P99Ms          float64              `json:"p99Ms"`
	Ops            map[string]*OpReport `json:"ops"`
	InjectedFaults atomic.Int64         `json:"-"`
	Injected       int64                `json:"injectedFaults"`
	ServerErrors   atomic.Int64         `json:"-"`
	Server5xx      int64                `json:"answers5xx"`
	WebhookRetries atomic.Int64         `json:"-"`
	Redeliveries   int64                `json:"webhookRedeliveriesAsked"`
	Invariants     map[string]int       `json:"violations"`
	Examples       []string             `json:"violationExamples,omitempty"`
	Checked        struct {
		Invoices, Links, Payments, FeedEntries, StripeLinks int
	} `json:"checked"`

	mu        sync.Mutex
	latencies map[string][]time.Duration
}

// OpReport is one operation's share.
type OpReport struct {
	Count    int         `json:"count"`
	P50Ms    float64     `json:"p50Ms"`
	P99Ms    float64     `json:"p99Ms"`
	Statuses map[int]int `json:"statuses"`
}

func newReport(cfg Config) *Report {
	return &Report{Config: cfg, Ops: map[string]*OpReport{}, Invariants: map[string]int{}, latencies: map[string][]time.Duration{}}
}

func (r *Report) record(op string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.Ops[op]
	if o == nil {
		o = &OpReport{Statuses: map[int]int{}}
		r.Ops[op] = o
	}
	o.Count++
	o.Statuses[status]++
	r.latencies[op] = append(r.latencies[op], d)
}

func (r *Report) violation(kind, example string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Invariants[kind]++
	if r.Invariants[kind] <= 3 && len(r.Examples) < 20 {
		r.Examples = append(r.Examples, kind+": "+example)
	}
}

// Violations counts every invariant broken.
func (r *Report) Violations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.Invariants {
		n += v
	}
	return n
}

func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p)
	return float64(ds[i].Microseconds()) / 1000
}

func (r *Report) finish(elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []time.Duration
	for op, ds := range r.latencies {
		all = append(all, ds...)
		o := r.Ops[op]
		o.P50Ms, o.P99Ms = percentile(ds, 0.50), percentile(ds, 0.99)
	}
	r.Requests = len(all)
	r.ElapsedSeconds = elapsed.Seconds()
	r.RequestsPerSec = float64(len(all)) / elapsed.Seconds()
	r.P50Ms, r.P99Ms = percentile(all, 0.50), percentile(all, 0.99)
	r.Injected, r.Server5xx, r.Redeliveries = r.InjectedFaults.Load(), r.ServerErrors.Load(), r.WebhookRetries.Load()
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	r.Injected, r.Server5xx, r.Redeliveries = r.InjectedFaults.Load(), r.ServerErrors.Load(), r.WebhookRetries.Load()
	fmt.Fprintf(w, "load: %d tenants × %d invoices, %d workers, %.0f s, faults %.1f%%\n",
		r.Config.Tenants, r.Config.Invoices, r.Config.Workers, r.ElapsedSeconds, 100*r.Config.FaultRate)
	fmt.Fprintf(w, "requests: %d  (%.0f req/s)  p50 %.1f ms  p99 %.1f ms\n", r.Requests, r.RequestsPerSec, r.P50Ms, r.P99Ms)
	names := make([]string, 0, len(r.Ops))
	for n := range r.Ops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := r.Ops[n]
		fmt.Fprintf(w, "  %-24s %7d  p50 %6.1f ms  p99 %7.1f ms  %v\n", n, o.Count, o.P50Ms, o.P99Ms, o.Statuses)
	}
	fmt.Fprintf(w, "faults injected: %d   5xx answers: %d (of which webhook 503s asking Stripe to deliver again: %d)\n", r.Injected, r.Server5xx, r.Redeliveries)
	fmt.Fprintf(w, "checked: %d invoices, %d links, %d payments, %d feed entries, %d links at Stripe\n",
		r.Checked.Invoices, r.Checked.Links, r.Checked.Payments, r.Checked.FeedEntries, r.Checked.StripeLinks)
	if v := r.Violations(); v == 0 {
		fmt.Fprintln(w, "invariant violations: 0")
	} else {
		fmt.Fprintf(w, "invariant violations: %d %v\n", v, r.Invariants)
		for _, e := range r.Examples {
			fmt.Fprintln(w, "  ", e)
		}
	}
}
