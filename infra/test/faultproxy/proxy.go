// Package faultproxy is the test harness's view of an upstream server
// (stripe-mock, aws-ses-v2-local, DynamoDB Local): a reverse proxy that
// records every request and can fail, delay or drop the calls a rule
// matches. Tests point the functions at the proxy and assert on what the
// real server was asked.
package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Request is one recorded call.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Form is the body parsed as application/x-www-form-urlencoded (Stripe's
	// request encoding), nil for other bodies.
	Form url.Values
	// Query is the URL's query (a GET's parameters).
	Query url.Values
	// Status is the status the caller got (0 when the call was dropped);
	// Response the body it got.
	Status   int
	Response []byte
	Injected bool
	// UpstreamStatus and UpstreamResponse are what the upstream answered
	// when the call reached it (0 when it did not): after an After fault
	// the caller got Status instead (SES took an e-mail whose answer was
	// lost, and publishes its events all the same).
	UpstreamStatus   int
	UpstreamResponse []byte
	At               time.Time
}

// Rule injects a fault into the calls it matches.
type Rule struct {
	// Match selects calls; nil matches all.
	Match func(*Request) bool
	// Skip lets this many matching calls through first (so the fault hits
	// the Nth call); Times then limits how many are hit (0 = no limit).
	Skip, Times int
	// Delay holds the call before it goes on (or fails).
	Delay time.Duration
	// Reached, when set, is closed when the first matching call arrives;
	// Hold, when set, keeps every matching call waiting until it is closed
	// (or the caller gives up). Together they order a test's steps by
	// events, not by the clock: "while the first request is at Stripe…".
	Reached chan struct{}
	Hold    <-chan struct{}
	// Status and Body answer instead of the upstream when Status != 0.
	Status int
	Body   string
	Header http.Header
	// Drop closes the connection without an answer.
	Drop bool
	// After lets the call reach the upstream first and then fails it (the
	// upstream did the work; the caller never learns).
	After bool

	seen, hit int
}

// Proxy is a recording, fault-injecting reverse proxy.
type Proxy struct {
	*httptest.Server
	upstream *url.URL
	rp       *httputil.ReverseProxy

	mu        sync.Mutex
	requests  []*Request
	rules     []*Rule
	notRecord bool
	// observe, when set, sees each finished call (load generator's index).
	observe func(*Request)
	// respond lets a specialised proxy (Stripe) answer or rewrite calls.
	before func(*Request) (status int, header http.Header, body []byte, ok bool)
	after  func(*Request, int, http.Header, []byte) (int, []byte)
}

// New starts a proxy in front of upstream (a base URL).
func New(upstream string) *Proxy {
	u, err := url.Parse(upstream)
	if err != nil {
		panic(err)
	}
	p := &Proxy{upstream: u, rp: httputil.NewSingleHostReverseProxy(u)}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// Observe calls fn with every call once it is answered.
func (p *Proxy) Observe(fn func(*Request)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.observe = fn
}

// StopRecording keeps calls from being recorded (long runs observe them
// instead).
func (p *Proxy) StopRecording() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notRecord, p.requests = true, nil
}

// Inject adds a rule; the first matching rule with faults left wins.
func (p *Proxy) Inject(r Rule) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	rule := r
	p.rules = append(p.rules, &rule)
	return &rule
}

// Remove takes one rule out.
func (p *Proxy) Remove(r *Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.rules {
		if x == r {
			p.rules = append(p.rules[:i], p.rules[i+1:]...)
			return
		}
	}
}

// ClearRules removes every rule.
func (p *Proxy) ClearRules() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns the recorded calls that match (all when match is nil).
func (p *Proxy) Requests(match func(*Request) bool) []*Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Request
	for _, r := range p.requests {
		if match == nil || match(r) {
			out = append(out, r)
		}
	}
	return out
}

func (p *Proxy) pickRule(req *Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.Match != nil && !r.Match(req) {
			continue
		}
		if r.Times > 0 && r.hit >= r.Times {
			continue
		}
		r.seen++
		if r.seen <= r.Skip {
			continue
		}
		r.hit++
		return r
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(hr.Body)
	req := &Request{Method: hr.Method, Path: hr.URL.Path, Query: hr.URL.Query(), Header: hr.Header.Clone(), Body: body, At: time.Now()}
	if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
	}
	p.mu.Lock()
	if !p.notRecord {
		p.requests = append(p.requests, req)
	}
	p.mu.Unlock()
	var upstream int
	var upstreamBody []byte
	setStatus := func(s int, injected bool, body ...[]byte) {
		p.mu.Lock()
		req.Status, req.Injected = s, injected
		req.UpstreamStatus, req.UpstreamResponse = upstream, upstreamBody
		if len(body) > 0 {
			req.Response = body[0]
		}
		observe := p.observe
		p.mu.Unlock()
		if observe != nil {
			observe(req)
		}
	}

	rule := p.pickRule(req)
	if rule != nil && rule.Reached != nil {
		p.mu.Lock()
		select {
		case <-rule.Reached:
		default:
			close(rule.Reached)
		}
		p.mu.Unlock()
	}
	if rule != nil && rule.Hold != nil {
		select {
		case <-rule.Hold:
		case <-hr.Context().Done():
			return
		}
	}
	if rule != nil && rule.Delay > 0 {
		select {
		case <-time.After(rule.Delay):
		case <-hr.Context().Done():
			return
		}
	}
	if rule != nil && !rule.After && (rule.Drop || rule.Status != 0) {
		p.fail(w, rule)
		if !rule.Drop {
			setStatus(rule.Status, true)
		}
		return
	}
	if p.before != nil {
		if status, h, b, ok := p.before(req); ok {
			upstream, upstreamBody = status, b
			if rule != nil && rule.After {
				p.fail(w, rule)
				setStatus(rule.Status, true)
				return
			}
			write(w, status, h, b)
			setStatus(status, false, b)
			return
		}
	}

	// Forward to the upstream and keep the answer.
	hr.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, hr)
	respBody, code := rec.Body.Bytes(), rec.Code
	if p.after != nil {
		code, respBody = p.after(req, rec.Code, rec.Header(), respBody)
	}
	upstream, upstreamBody = code, respBody
	if rule != nil && rule.After {
		p.fail(w, rule)
		setStatus(rule.Status, true)
		return
	}
	write(w, code, rec.Header(), respBody)
	setStatus(code, false, respBody)
}

func (p *Proxy) fail(w http.ResponseWriter, r *Rule) {
	if r.Drop || r.Status == 0 {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		return
	}
	write(w, r.Status, r.Header, []byte(r.Body))
}

func write(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, v := range h {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
