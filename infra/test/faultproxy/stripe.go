package faultproxy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Stripe is a Proxy in front of stripe-mock that adds the two behaviours of
// Stripe that stateless stripe-mock lacks and that this service relies on:
//
//   - idempotent requests: a POST repeated with the same Idempotency-Key (on
//     the same account) gets the first answer back, marked
//     Idempotent-Replayed; the same key with other parameters gets Stripe's
//     400 idempotency_error;
//   - a distinct URL per payment link (stripe-mock returns one fixture URL);
//   - a distinct id per connected account created (one fixture id too).
//
// Everything else, including the validation of every request against
// Stripe's OpenAPI spec, is stripe-mock's own answer.
type Stripe struct {
	*Proxy
	mu      sync.Mutex
	replay  map[string]idempotentAnswer
	linkURL func(id string) string
	onReply func(r *Request, status int, body []byte)
	respond func(r *Request) (status int, body []byte, ok bool)
}

// StripeOption configures a Stripe proxy.
type StripeOption func(*Stripe)

// WithLinkURL makes each payment link's URL (make dev points them at its
// local checkout page); the default has Stripe's shape,
// https://buy.stripe.com/test_….
func WithLinkURL(url func(linkID string) string) StripeOption {
	return func(s *Stripe) { s.linkURL = url }
}

// WithReplyHook calls fn with every answer stripe-mock gave (as rewritten
// here), before the caller gets it: a local Stripe keeps the state
// stripe-mock does not, and has it before anyone can use the answer.
func WithReplyHook(fn func(r *Request, status int, body []byte)) StripeOption {
	return func(s *Stripe) { s.onReply = fn }
}

// WithResponder lets a local Stripe answer the calls stripe-mock can only
// answer with fixtures (a charge's refunds, a PaymentIntent, a Terminal
// reader and its actions) from its own state: stripe-mock still checks
// each request against Stripe's spec first, and its refusal stands; fn
// answers ok=false to leave its answer. A POST it answers 200 is replayed
// for its idempotency key as any other; a refusal of its own (a reader
// offline or busy) is not kept, so a retry with the same key asks again.
func WithResponder(fn func(r *Request) (status int, body []byte, ok bool)) StripeOption {
	return func(s *Stripe) { s.respond = fn }
}

type idempotentAnswer struct {
	bodyHash [32]byte
	status   int
	header   http.Header
	body     []byte
}

// NewStripe starts a Stripe proxy in front of stripe-mock.
func NewStripe(stripeMock string, opts ...StripeOption) *Stripe {
	s := &Stripe{Proxy: New(stripeMock), replay: map[string]idempotentAnswer{},
		linkURL: func(id string) string { return "https://buy.stripe.com/test_" + strings.TrimPrefix(id, "plink_") }}
	for _, o := range opts {
		o(s)
	}
	s.before = s.replayed
	s.after = s.remember
	return s
}

func idempotencyScope(r *Request) string {
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || key == "" {
		return ""
	}
	return r.Header.Get("Stripe-Account") + "|" + key
}

func (s *Stripe) replayed(r *Request) (int, http.Header, []byte, bool) {
	scope := idempotencyScope(r)
	if scope == "" {
		return 0, nil, nil, false
	}
	s.mu.Lock()
	prev, ok := s.replay[scope]
	s.mu.Unlock()
	if !ok {
		return 0, nil, nil, false
	}
	if prev.bodyHash != sha256.Sum256(r.Body) {
		body := `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '` +
			r.Header.Get("Idempotency-Key") + `' if you meant to execute a different request."}}`
		return http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_idempotency"}}, []byte(body), true
	}
	h := prev.header.Clone()
	h.Set("Idempotent-Replayed", "true")
	return prev.status, h, prev.body, true
}

func (s *Stripe) remember(r *Request, status int, h http.Header, body []byte) (int, []byte) {
	if s.respond != nil && status == http.StatusOK {
		if st, b, ok := s.respond(r); ok {
			if st == http.StatusOK {
				s.keep(r, st, h, b)
			}
			return st, b
		}
	}
	body = s.distinctLinkURL(r, body)
	body = distinctAccountID(r, body)
	if s.onReply != nil {
		s.onReply(r, status, body)
	}
	if status < 500 && status != http.StatusTooManyRequests {
		s.keep(r, status, h, body)
	}
	return status, body
}

// keep remembers the first answer to an idempotent POST, for its replays.
func (s *Stripe) keep(r *Request, status int, h http.Header, body []byte) {
	scope := idempotencyScope(r)
	if scope == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.replay[scope]; !ok {
		s.replay[scope] = idempotentAnswer{sha256.Sum256(r.Body), status, h.Clone(), body}
	}
}

// distinctLinkURL gives each payment link a URL of its own, derived from its
// id (stripe-mock returns one fixture URL).
func (s *Stripe) distinctLinkURL(r *Request, body []byte) []byte {
	if !strings.HasPrefix(r.Path, "/v1/payment_links") {
		return body
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj["object"] != "payment_link" {
		return body
	}
	id, _ := obj["id"].(string)
	obj["url"] = s.linkURL(id)
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// distinctAccountID gives each account created (POST /v1/accounts) an id of
// its own, as Stripe does.
func distinctAccountID(r *Request, body []byte) []byte {
	if r.Method != http.MethodPost || r.Path != "/v1/accounts" {
		return body
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj["object"] != "account" {
		return body
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	obj["id"] = "acct_1" + strings.ToUpper(hex.EncodeToString(b))
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}
