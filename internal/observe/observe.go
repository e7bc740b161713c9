// Package observe measures what one request does: how many calls it makes
// to each upstream (DynamoDB, Stripe, SES, Secrets Manager) and how long
// they take, and the business events it counts (links created, e-mails sent,
// payments recorded…). The HTTP layer starts a Request per request and
// writes it out as the request's log line and an Embedded Metric Format
// line; the HTTP clients and the domain's Metrics port feed it through the
// context.
package observe

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Upstream names.
const (
	DynamoDB       = "dynamodb"
	Stripe         = "stripe"
	SES            = "ses"
	SecretsManager = "secretsmanager"
	SQS            = "sqs"
)

// Request collects one request's measurements. Safe for concurrent use
// (a regenerate calls Stripe twice at once).
type Request struct {
	mu       sync.Mutex
	upstream map[string]*Calls
	spans    []span
	counts   map[string]int
}

type span struct{ start, end time.Time }

// Calls is what one upstream cost a request.
type Calls struct {
	Count    int
	Duration time.Duration
}

type key struct{}

// Start attaches a new Request to the context.
func Start(ctx context.Context) (context.Context, *Request) {
	r := &Request{upstream: map[string]*Calls{}, counts: map[string]int{}}
	return context.WithValue(ctx, key{}, r), r
}

// From returns the context's Request, or nil.
func From(ctx context.Context) *Request {
	r, _ := ctx.Value(key{}).(*Request)
	return r
}

// call records one upstream call that started at start and just ended.
func (r *Request) call(service string, start time.Time) {
	if r == nil {
		return
	}
	end := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.upstream[service]
	if c == nil {
		c = &Calls{}
		r.upstream[service] = c
	}
	c.Count++
	c.Duration += end.Sub(start)
	r.spans = append(r.spans, span{start, end})
}

// Upstream returns a copy of the calls per upstream.
func (r *Request) Upstream() map[string]Calls {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Calls, len(r.upstream))
	for k, v := range r.upstream {
		out[k] = *v
	}
	return out
}

// UpstreamTime is the wall time spent waiting on upstreams: calls made at
// the same time (a regenerate's two Stripe calls) count once.
func (r *Request) UpstreamTime() time.Duration {
	r.mu.Lock()
	spans := append([]span(nil), r.spans...)
	r.mu.Unlock()
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	var total time.Duration
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case !s.start.After(cur.end):
			if s.end.After(cur.end) {
				cur.end = s.end
			}
		default:
			total += cur.end.Sub(cur.start)
			cur = s
		}
	}
	if len(spans) > 0 {
		total += cur.end.Sub(cur.start)
	}
	return total
}

// Counts returns the business events counted, sorted by name.
func (r *Request) Counts() []Count {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Count, 0, len(r.counts))
	for k, v := range r.counts {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Count is one business metric's value for a request.
type Count struct {
	Name  string
	Value int
}

// Metrics implements the domain's Metrics port on the context's Request.
type Metrics struct{}

// Count adds n to a business metric of the request in ctx.
func (Metrics) Count(ctx context.Context, name string, n int) { From(ctx).count(name, n) }

func (r *Request) count(name string, n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[name] += n
}

// AWSClient wraps an AWS SDK HTTP client to time its calls.
func AWSClient(service string, next aws.HTTPClient) aws.HTTPClient {
	return awsClient{service: service, next: next}
}

type awsClient struct {
	service string
	next    aws.HTTPClient
}

func (c awsClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.Do(req)
	r := From(req.Context())
	r.call(c.service, start)
	if c.service == DynamoDB && resp != nil && resp.StatusCode == http.StatusBadRequest && r != nil {
		resp.Body = countConditionalFailures(r, resp.Body)
	}
	return resp, err
}

// MetricConditionalCheckFailures counts DynamoDB writes that lost their
// condition (a conditional write, or a transaction with one). A few are the
// normal outcome of concurrent requests; a storm means contention or a
// retry loop.
const MetricConditionalCheckFailures = "ConditionalCheckFailures"

// countConditionalFailures reads a DynamoDB error answer (small) to count
// a lost condition, and gives the SDK the same bytes.
func countConditionalFailures(r *Request, body io.ReadCloser) io.ReadCloser {
	b, err := io.ReadAll(io.LimitReader(body, 64<<10))
	if closeErr := body.Close(); err == nil {
		err = closeErr
	}
	if err == nil && bytes.Contains(b, []byte("ConditionalCheckFailed")) {
		r.count(MetricConditionalCheckFailures, 1)
	}
	return io.NopCloser(bytes.NewReader(b))
}

// Transport wraps an http.RoundTripper to time its calls.
func Transport(service string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{service: service, next: next}
}

type roundTripper struct {
	service string
	next    http.RoundTripper
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	From(req.Context()).call(t.service, start)
	return resp, err
}
