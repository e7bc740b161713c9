// Package localapi is API Gateway's HTTP API on a laptop: it checks the
// bearer token as the JWT authorizer would (HS256 tokens signed with a local
// secret instead of the identity provider's keys), turns each request into
// the events.APIGatewayV2HTTPRequest Lambda would receive, and calls the same
// handler the route's Lambda function runs.
package localapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/internal/httpapi"
)

// Local token settings (the contract's defaults).
const (
	DefaultSecret = "local-dev-secret"
	Issuer        = "local"
	Audience      = "billing-api"
)

// Config configures the local API.
type Config struct {
	// Secret signs and checks the HS256 tokens.
	Secret string
	// Timeout is the integration timeout (API Gateway's is 30 s); the
	// handler's context ends then, like a Lambda's deadline.
	Timeout time.Duration
	// TenantClaim names the claim holding the billing company's id
	// (httpapi.DefaultTenantClaim when empty).
	TenantClaim string
	// CORS, when set, is answered as API Gateway does (CORSFromTemplate).
	CORS *CORS
	// Jobs, when set, serves POST /_local/run/reminders?now=<RFC 3339>
	// [&company=<id>]: the scheduler's run at that time (of one company),
	// on demand (make dev and the tests move time with it). The route
	// exists only here, never in AWS.
	Jobs *Jobs
}

// maxPayload is API Gateway's request size limit.
const maxPayload = 10 << 20

// Server routes requests to the handlers.
type Server struct {
	cfg    Config
	routes []boundRoute
}

type boundRoute struct {
	httpapi.Route
	segments []string
	handler  httpapi.Handler
}

// New serves every route of httpapi.Routes with the handlers of api.
func New(api *httpapi.API, cfg Config) *Server {
	if cfg.Secret == "" {
		cfg.Secret = DefaultSecret
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 29 * time.Second
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = httpapi.DefaultTenantClaim
	}
	s := &Server{cfg: cfg}
	for _, r := range httpapi.Routes {
		s.routes = append(s.routes, boundRoute{Route: r, segments: strings.Split(strings.Trim(r.Path, "/"), "/"), handler: r.Handler(api)})
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c := s.cfg.CORS; c != nil {
		if c.preflight(w, r) {
			return
		}
		c.actual(w.Header(), r)
	}
	if r.URL.Path == "/_local/run/reminders" && s.cfg.Jobs != nil {
		s.runJobs(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/openapi.yaml" {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(docs.OpenAPI)
		return
	}
	route, params := s.match(r.Method, r.URL.Path)
	if route == nil {
		writeError(w, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
		return
	}
	var claims map[string]string
	if !route.Public {
		var err error
		if claims, err = s.verify(r.Header.Get("Authorization")); err != nil {
			writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
		return
	}
	if len(body) > maxPayload {
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request too large")
		return
	}
	ev := toEvent(r, route, params, claims, body)
	ctx := WithFunction(context.WithValue(r.Context(), httpRequestKey{}, r), route.Function)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	resp, err := route.handler(ctx, ev)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", "internal error")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		out, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// runJobs runs the scheduler at ?now= (RFC 3339; the clock when absent) and
// answers its report.
func (s *Server) runJobs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST /_local/run/reminders?now=<RFC 3339>")
		return
	}
	now, err := runAt(r.URL.Query().Get("now"), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	// No API request's 29 s: the plan has the scheduler's own limit, and
	// the wait for the workers lasts as long as the caller waits.
	rep, err := s.cfg.Jobs.Run(r.Context(), now, r.URL.Query().Get("company"))
	body := map[string]any{"now": now.UTC().Format(time.RFC3339), "report": rep}
	status := http.StatusOK
	if err != nil {
		status, body["error"] = http.StatusServiceUnavailable, err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// maxRunShift is how far from the clock ?now= may move the scheduler: a
// year covers every reminder policy (days around a due date), and year
// 9999 or 0001 is a typo, not a test.
const maxRunShift = 366 * 24 * time.Hour

// runAt reads ?now= of /_local/run/reminders: the clock when absent, else
// an RFC 3339 time within a year of the clock.
func runAt(v string, clock time.Time) (time.Time, error) {
	if v == "" {
		return clock, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New("now must be an RFC 3339 time, e.g. 2026-12-20T15:00:00Z")
	}
	if d := t.Sub(clock); d > maxRunShift || d < -maxRunShift {
		return time.Time{}, fmt.Errorf("now must be within a year of the clock (%s); got %s", clock.UTC().Format(time.RFC3339), v)
	}
	return t, nil
}

type httpRequestKey struct{}

// RequestFrom returns the HTTP request a handler's context was made for,
// when the local API made it (test harnesses read their own headers).
func RequestFrom(ctx context.Context) *http.Request {
	r, _ := ctx.Value(httpRequestKey{}).(*http.Request)
	return r
}

type functionKey struct{}

// WithFunction marks a context as a request to one function (its logical
// id in template.yaml), as the local API does for each route. The AWS
// clients BuildAPI makes send it along (FunctionHeader), so the calls a
// function makes can be told apart and checked against its own policy.
func WithFunction(ctx context.Context, function string) context.Context {
	return context.WithValue(ctx, functionKey{}, function)
}

// FunctionFrom returns the function a request's context is for ("" when
// none: not a request the local API routed).
func FunctionFrom(ctx context.Context) string {
	f, _ := ctx.Value(functionKey{}).(string)
	return f
}

func (s *Server) match(method, path string) (*boundRoute, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range s.routes {
		r := &s.routes[i]
		if r.Method != method || len(r.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, want := range r.segments {
			if strings.HasPrefix(want, "{") && strings.HasSuffix(want, "}") && segs[j] != "" {
				params[strings.Trim(want, "{}")] = segs[j]
			} else if want != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return r, params
		}
	}
	return nil, nil
}

// verify checks a bearer token as the HTTP API JWT authorizer does (issuer,
// audience, expiry, signature) and returns the claims as the authorizer
// passes them to Lambda: every value as a string.
func (s *Server) verify(header string) (map[string]string, error) {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("a bearer token is required")
	}
	tok, err := jwt.Parse(strings.TrimSpace(raw), func(*jwt.Token) (any, error) { return []byte(s.cfg.Secret), nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("the bearer token is not valid: %v", err)
	}
	mc, _ := tok.Claims.(jwt.MapClaims)
	// A tenant claim that is not a JSON string (null, true, 123, a list)
	// names no company: API Gateway would flatten it into a string that
	// every such token shares.
	if v, ok := mc[s.cfg.TenantClaim]; ok {
		if _, isString := v.(string); !isString {
			return nil, fmt.Errorf("the claim %s must be a string", s.cfg.TenantClaim)
		}
	}
	claims := make(map[string]string, len(mc))
	for k, v := range mc {
		claims[k] = claimString(v)
	}
	return claims, nil
}

// claimString renders a claim value the way API Gateway does: strings as
// they are, numbers in decimal, arrays as "[a b]".
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = claimString(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// toEvent builds the payload format 2.0 event for the request.
func toEvent(r *http.Request, route *boundRoute, params map[string]string, claims map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:  "000000000000",
			APIID:      "local",
			DomainName: r.Host,
			RequestID:  requestID(),
			RouteKey:   route.Key(),
			Stage:      "$default",
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	// Like API Gateway: text bodies as they are, anything else base64.
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	textual := ct == "" || strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/")
	if textual && utf8.Valid(body) {
		ev.Body = string(body)
	} else if len(body) > 0 {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// IssueToken signs a local token for a billing company with the given
// space-separated scopes, valid for ttl. With no company, the token has no
// tenant claim (a platform operator's, with scope billing:platform).
func IssueToken(secret, company, scope string, ttl time.Duration) (string, error) {
	if secret == "" {
		secret = DefaultSecret
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": Issuer,
		"aud": Audience,
		"sub": "operator@platform",
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if company != "" {
		claims["sub"], claims[httpapi.DefaultTenantClaim] = "staff@"+company, company
	}
	if scope != "" {
		claims["scope"] = scope
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
