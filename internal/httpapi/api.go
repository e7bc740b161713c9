// Package httpapi is the HTTP layer: it turns API Gateway HTTP API requests
// (payload format 2.0) into calls on billing.Service and the results into
// the contract's JSON, and maps error codes to statuses in one table.
//
// Each exported method of API is the whole handler of one Lambda function;
// the local API (infra/local/localapi) calls the very same methods.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/idempotency"
	"github.com/clinicpay/payments/internal/observe"
)

// Handler handles one HTTP API route.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Scopes. A clinic's admin edits its own billing company; the platform's
// operators (billing:platform) connect clinics' Stripe accounts.
const (
	AdminScope    = "billing:admin"
	PlatformScope = "billing:platform"
)

// DefaultTenantClaim names the claim that holds the billing company's id.
const DefaultTenantClaim = "billing_company_id"

// Config configures the HTTP layer.
type Config struct {
	// TenantClaim is the JWT claim naming the billing company.
	TenantClaim string
	Logger      *slog.Logger
	// Webhooks reads Stripe webhook deliveries (only the webhook function
	// needs it).
	Webhooks EventReader
	// Idempotency keeps the records of requests made with an
	// Idempotency-Key; without it the header is ignored.
	Idempotency idempotency.Store
	// Function names the function in the business metrics; Service the
	// stack, the dimension every metric has.
	Function string
	Service  string
}

// EventReader verifies a Stripe webhook delivery's signature and reads its
// event.
type EventReader interface {
	Read(ctx context.Context, payload []byte, signature string) (*billing.WebhookEvent, error)
}

// API serves the routes of the contract.
type API struct {
	svc         *billing.Service
	tenantClaim string
	log         *slog.Logger
	webhooks    EventReader
	idem        idempotency.Store
	function    string
	service     string
}

// New returns the API over svc.
func New(svc *billing.Service, cfg Config) *API {
	a := &API{svc: svc, tenantClaim: cfg.TenantClaim, log: cfg.Logger, webhooks: cfg.Webhooks, idem: cfg.Idempotency, function: cfg.Function, service: cfg.Service}
	if a.tenantClaim == "" {
		a.tenantClaim = DefaultTenantClaim
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// result is what a route answers: a status and a JSON body (nil for none).
type result struct {
	status int
	body   any
}

type access int

const (
	tenantAccess access = iota // any token naming a billing company
	adminAccess                // and the billing:admin scope, or the platform's billing:platform
	publicAccess               // no token: Stripe's webhook, signed instead
)

// PutBillingCompany handles PUT /billing-companies/{companyId}.
func (a *API) PutBillingCompany(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		var body companyBody
		if err := c.decode(&body); err != nil {
			return result{}, err
		}
		co, err := a.svc.PutCompany(ctx, c.caller, c.pathParam("companyId"), body.input())
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewCompany(co)}, nil
	})
}

// GetBillingCompany handles GET /billing-companies/{companyId}.
func (a *API) GetBillingCompany(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		co, err := a.svc.GetCompany(ctx, c.caller, c.pathParam("companyId"))
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewCompany(co)}, nil
	})
}

// StartStripeOnboarding handles POST /billing-companies/{companyId}/stripe-onboarding.
func (a *API) StartStripeOnboarding(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		link, err := a.svc.StartOnboarding(ctx, c.caller, c.pathParam("companyId"))
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, onboardingView{URL: link.URL, ExpiresAt: timestamp(link.ExpiresAt)}}, nil
	})
}

// PutInvoice handles PUT /invoices/{invoiceId}, with If-Match.
func (a *API) PutInvoice(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		pre, err := ifMatch(req.Headers["if-match"])
		if err != nil {
			return result{}, err
		}
		var body invoiceBody
		if err := c.decode(&body); err != nil {
			return result{}, err
		}
		inv, company, created, err := a.svc.PutInvoice(ctx, c.caller, c.invoiceID(), body.input(), pre)
		if err != nil {
			return result{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return c.invoice(status, inv, company), nil
	})
}

// ListInvoices handles GET /invoices?q=&status=&hasActiveLink=&after=&limit=.
func (a *API) ListInvoices(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		q := req.QueryStringParameters
		limit, err := queryLimit(q, billing.MaxInvoicePage)
		if err != nil {
			return result{}, err
		}
		f := billing.InvoiceFilter{Status: q["status"], Query: q["q"]}
		if v, ok := q["q"]; ok && v == "" {
			return result{}, billing.Invalid("q", "q must contain a word or an invoice number")
		}
		if v, ok := q["hasActiveLink"]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return result{}, billing.Invalid("hasActiveLink", "hasActiveLink must be true or false")
			}
			f.HasActiveLink = &b
		}
		page, err := a.svc.ListInvoices(ctx, c.caller, f, q["after"], limit)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewInvoiceList(page)}, nil
	})
}

// queryLimit reads ?limit= (0 when absent, for the default).
func queryLimit(q map[string]string, most int) (int, error) {
	v, ok := q["limit"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, billing.Invalid("limit", "limit must be a whole number between 1 and %d", most)
	}
	return n, nil
}

// GetInvoice handles GET /invoices/{invoiceId}.
func (a *API) GetInvoice(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		inv, company, err := a.svc.GetInvoice(ctx, c.caller, c.invoiceID())
		if err != nil {
			return result{}, err
		}
		return c.invoice(http.StatusOK, inv, company), nil
	})
}

// invoice answers with an invoice view and its ETag, for If-Match.
func (c *call) invoice(status int, inv *billing.Invoice, company *billing.Company) result {
	c.header = map[string]string{"ETag": etag(inv.Version)}
	return result{status, viewInvoice(inv, company)}
}

// CreatePaymentLink handles POST /invoices/{invoiceId}/payment-link.
func (a *API) CreatePaymentLink(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		link, created, err := a.svc.CreateLink(ctx, c.caller, c.invoiceID(), c.idempotencyKey)
		if err != nil {
			return result{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return result{status, viewLink(link)}, nil
	})
}

// RegeneratePaymentLink handles POST /invoices/{invoiceId}/payment-link/regenerate.
func (a *API) RegeneratePaymentLink(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		link, err := a.svc.RegenerateLink(ctx, c.caller, c.invoiceID(), c.idempotencyKey)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, viewLink(link)}, nil
	})
}

// RemovePaymentLink handles DELETE /invoices/{invoiceId}/payment-link.
func (a *API) RemovePaymentLink(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		if err := a.svc.RemoveLink(ctx, c.caller, c.invoiceID(), c.idempotencyKey); err != nil {
			return result{}, err
		}
		return result{http.StatusNoContent, nil}, nil
	})
}

// SendInvoiceEmail handles POST /invoices/{invoiceId}/emails.
func (a *API) SendInvoiceEmail(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var body emailBody
		if err := c.decode(&body); err != nil {
			return result{}, err
		}
		sent, link, err := a.svc.SendEmail(ctx, c.caller, c.invoiceID(), body.input(c.idempotencyKey))
		if err != nil {
			return result{}, err
		}
		return result{http.StatusAccepted, sentEmailView{
			MessageID: sent.MessageID, To: sent.To, Language: sent.Language,
			SentAt: timestamp(sent.SentAt), PaymentLink: viewLink(link),
		}}, nil
	})
}

// PutInvoiceReminders handles PUT /invoices/{invoiceId}/reminders: staff
// pause or resume one invoice's reminders. It answers the invoice.
func (a *API) PutInvoiceReminders(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var body remindersBody
		if err := c.decode(&body); err != nil {
			return result{}, err
		}
		inv, company, err := a.svc.SetReminders(ctx, c.caller, c.invoiceID(), body.input())
		if err != nil {
			return result{}, err
		}
		return c.invoice(http.StatusOK, inv, company), nil
	})
}

// StripeWebhook handles POST /webhooks/stripe: Connect events, authenticated
// by Stripe's signature only. It answers 2xx once the event is recorded
// (applied, ignored or a duplicate), 400 for a delivery that is not a valid
// signed event, and 5xx only when a retry by Stripe may succeed.
func (a *API) StripeWebhook(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, publicAccess, func(ctx context.Context, c *call) (result, error) {
		payload, err := c.rawBody(MaxWebhookBytes)
		if err != nil {
			return result{}, err
		}
		if a.webhooks == nil {
			return result{}, &billing.Error{Code: billing.CodeInternal, Message: "internal error", Err: errors.New("no webhook reader configured")}
		}
		ev, err := a.webhooks.Read(ctx, payload, req.Headers["stripe-signature"])
		if err != nil {
			if billing.ErrorCode(err) != billing.CodeUnavailable {
				observe.Metrics{}.Count(ctx, MetricWebhookRejects, 1)
			}
			return result{}, err
		}
		c.logAttrs = append(c.logAttrs, slog.String("eventId", ev.ID), slog.String("eventType", ev.Type), slog.String("account", ev.AccountID))
		res, err := a.svc.HandleEvent(ctx, ev)
		if err != nil {
			observe.Metrics{}.Count(ctx, MetricWebhookFailures, 1)
			return result{}, err
		}
		c.logAttrs = append(c.logAttrs, slog.String("eventOutcome", string(res.Outcome)))
		if res.Reason != "" {
			c.logAttrs = append(c.logAttrs, slog.String("eventReason", res.Reason))
		}
		return result{http.StatusOK, webhookView{Received: true, Outcome: res.Outcome, Reason: res.Reason}}, nil
	})
}

// ListPayments handles GET /payments?after=<cursor>&limit=<n>.
func (a *API) ListPayments(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		limit, err := queryLimit(req.QueryStringParameters, billing.MaxFeedPage)
		if err != nil {
			return result{}, err
		}
		entries, next, more, err := a.svc.ListPayments(ctx, c.caller, req.QueryStringParameters["after"], limit)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewFeed(entries, next, more)}, nil
	})
}

// serve runs one request: authenticate, apply the Idempotency-Key, call fn,
// write the answer, log one line. It never returns an error to the Lambda
// runtime: every outcome is an HTTP answer of the contract.
func (a *API) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, need access, fn func(context.Context, *call) (result, error)) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	c := &call{req: req}
	ctx, cancel := withMargin(ctx)
	defer cancel()
	ctx, measured := observe.Start(ctx)
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "panic", "route", req.RouteKey, "panic", fmt.Sprint(p))
			resp = a.fail(c, &billing.Error{Code: billing.CodeInternal, Message: "internal error"})
		}
		a.logRequest(ctx, c, resp.StatusCode, time.Since(start), measured)
		countFailure(ctx, c.err, resp.StatusCode)
		observe.WriteMetrics(ctx, a.log, a.service, a.function, measured)
	}()
	if need != publicAccess {
		if err := c.authenticate(a.tenantClaim, need); err != nil {
			return a.fail(c, err), nil
		}
	}
	run := func(ctx context.Context) events.APIGatewayV2HTTPResponse {
		res, err := fn(ctx, c)
		if err != nil {
			return a.fail(c, err)
		}
		resp := respond(res.status, res.body, nil)
		for k, v := range c.header {
			resp.Headers[k] = v
		}
		return resp
	}
	if key, ok := req.Headers["idempotency-key"]; ok && need != publicAccess && a.idem != nil && mutating(req) {
		return a.idempotent(ctx, c, key, run), nil
	}
	return run(ctx), nil
}

// withMargin ends upstream calls a little before the invocation's deadline,
// so that a slow Stripe, SES or DynamoDB ends in our own 503 (and a release
// of what the request held) rather than in a killed invocation.
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > 3*time.Second {
		return context.WithDeadline(ctx, dl.Add(-1500*time.Millisecond))
	}
	return context.WithCancel(ctx)
}

func mutating(req events.APIGatewayV2HTTPRequest) bool {
	switch req.RequestContext.HTTP.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// fail answers with the contract's error for err and keeps err for the log.
func (a *API) fail(c *call, err error) events.APIGatewayV2HTTPResponse {
	c.err = err
	status, body, h := errorResponse(err)
	return respond(status, body, h)
}

func respond(status int, body any, h http.Header) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Cache-Control": "no-store"},
	}
	for k := range h {
		resp.Headers[k] = h.Get(k)
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			resp.StatusCode = http.StatusInternalServerError
			b = []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
		}
		resp.Headers["Content-Type"] = "application/json; charset=utf-8"
		resp.Body = string(b)
	}
	return resp
}

// Metrics the HTTP layer counts itself.
const (
	MetricWebhookRejects  = "WebhookRejects"  // deliveries refused: bad signature, not an event, wrong version
	MetricWebhookFailures = "WebhookFailures" // deliveries answered 5xx (Stripe retries them)
)

// Failures a clinic notices, counted for the alarms: a route's 5xx
// answers, and requests that failed on Stripe or on SES.
const (
	MetricServerErrors    = observe.MetricServerErrors
	MetricStripeErrors    = "StripeErrors"
	MetricEmailSendErrors = "EmailSendErrors"
)

var failureMetrics = map[billing.Code]string{
	billing.CodePaymentProviderError:       MetricStripeErrors,
	billing.CodePaymentProviderUnavailable: MetricStripeErrors,
	billing.CodeEmailProviderError:         MetricEmailSendErrors,
	billing.CodeEmailProviderUnavailable:   MetricEmailSendErrors,
}

func countFailure(ctx context.Context, err error, status int) {
	if status >= 500 {
		observe.Metrics{}.Count(ctx, MetricServerErrors, 1)
	}
	if name, ok := failureMetrics[billing.ErrorCode(err)]; ok && err != nil {
		observe.Metrics{}.Count(ctx, name, 1)
	}
}

// logRequest writes the request's one log line: what was asked, what came
// of it, how long it took and where the time went (each upstream's calls and
// duration, and our own time). Never a name, an e-mail address or an amount;
// error texts from upstreams are stripped of e-mail addresses.
func (a *API) logRequest(ctx context.Context, c *call, status int, d time.Duration, m *observe.Request) {
	err := c.err
	outcome := "ok"
	if err != nil {
		outcome = string(billing.ErrorCode(err))
	}
	up := m.Upstream()
	upstream := make([]any, 0, len(up))
	for name, calls := range up {
		upstream = append(upstream, slog.Group(name, slog.Int("calls", calls.Count), slog.Float64("ms", observe.Millis(calls.Duration))))
	}
	attrs := []slog.Attr{
		slog.String("route", c.req.RouteKey),
		slog.String("apiRequestId", c.req.RequestContext.RequestID),
		slog.Int("status", status),
		slog.String("outcome", outcome),
		slog.Float64("latencyMs", observe.Millis(d)),
		slog.Float64("ownMs", observe.Millis(max(d-m.UpstreamTime(), 0))),
		slog.Group("upstream", upstream...),
	}
	if c.caller.Tenant != "" {
		attrs = append(attrs, slog.String("tenant", c.caller.Tenant))
	}
	if c.caller.Platform {
		attrs = append(attrs, slog.Bool("platform", true))
	}
	if id := c.req.PathParameters["invoiceId"]; id != "" && billing.ValidID(id) {
		attrs = append(attrs, slog.String("invoiceId", id))
	}
	if id := c.req.PathParameters["readerId"]; billing.ValidReaderID(id) {
		attrs = append(attrs, slog.String("readerId", id))
	}
	attrs = append(attrs, c.logAttrs...)
	level := slog.LevelInfo
	if err != nil {
		var r interface{ Reason() string }
		if errors.As(err, &r) {
			attrs = append(attrs, slog.String("reason", r.Reason()))
		}
		if status >= 500 {
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", observe.Redact(err.Error())))
		}
	}
	a.log.LogAttrs(ctx, level, "request", attrs...)
}

// ifMatch reads an If-Match header: the ETags of the invoice versions the
// client has seen. A weak tag (W/…) is refused as malformed, as are an
// unquoted tag and "*" (which would satisfy the precondition without naming
// a version): each is a client's mistake, not a version that changed, so
// it answers 400 rather than 412. A well-formed strong tag that is not one
// of ours simply never matches.
func ifMatch(h string) (billing.Precondition, error) {
	var p billing.Precondition
	if strings.TrimSpace(h) == "" {
		return p, nil
	}
	p.Given = true
	for _, part := range strings.Split(h, ",") {
		tag := strings.TrimSpace(part)
		switch {
		case tag == "*":
			return p, billing.Invalid("If-Match", "If-Match must carry the invoice's ETag as GET returned it, not *")
		case strings.HasPrefix(tag, "W/"):
			return p, billing.Invalid("If-Match", "If-Match must carry the invoice's strong ETag as GET returned it, not a weak tag (W/…)")
		case !entityTag(tag):
			return p, billing.Invalid("If-Match", `If-Match must be one or more ETags in double quotes, as GET returned them ("v3")`)
		}
		if v, ok := strings.CutPrefix(tag, `"v`); ok {
			if n, err := strconv.ParseInt(strings.TrimSuffix(v, `"`), 10, 64); err == nil && n > 0 {
				p.Versions = append(p.Versions, n)
			}
		}
	}
	return p, nil
}

// etag is the entity tag of an invoice version, as ifMatch reads it back.
func etag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// entityTag reports whether tag is a strong entity-tag of RFC 9110 section
// 8.8.3: double quotes around visible characters other than a quote.
func entityTag(tag string) bool {
	if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		return false
	}
	for i := 1; i < len(tag)-1; i++ {
		if c := tag[i]; c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}
