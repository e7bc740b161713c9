// Package httpapi is the HTTP layer: it turns API Gateway HTTP API requests
// (payload format 2.0) into calls on billing.Service and the results into
// the contract's JSON, and maps error codes to statuses in one table.
//
// Each exported method of API is the whole handler of one Lambda function;
// the local API (infra/localapi) calls the very same methods.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

// Handler handles one HTTP API route.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// AdminScope is the scope the billing-company routes need.
const AdminScope = "billing:admin"

// DefaultTenantClaim names the claim that holds the billing company's id.
const DefaultTenantClaim = "billing_company_id"

// Config configures the HTTP layer.
type Config struct {
	// TenantClaim is the JWT claim naming the billing company.
	TenantClaim string
	Logger      *slog.Logger
}

// API serves the routes of the contract.
type API struct {
	svc         *billing.Service
	tenantClaim string
	log         *slog.Logger
}

// New returns the API over svc.
func New(svc *billing.Service, cfg Config) *API {
	a := &API{svc: svc, tenantClaim: cfg.TenantClaim, log: cfg.Logger}
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
	adminAccess                // and the billing:admin scope
)

// PutBillingCompany handles PUT /billing-companies/{companyId}.
func (a *API) PutBillingCompany(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		var in billing.CompanyInput
		if err := c.decode(&in); err != nil {
			return result{}, err
		}
		co, err := a.svc.PutCompany(ctx, c.tenant, c.pathParam("companyId"), &in)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewCompany(co)}, nil
	})
}

// GetBillingCompany handles GET /billing-companies/{companyId}.
func (a *API) GetBillingCompany(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		co, err := a.svc.GetCompany(ctx, c.tenant, c.pathParam("companyId"))
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewCompany(co)}, nil
	})
}

// PutInvoice handles PUT /invoices/{invoiceId}.
func (a *API) PutInvoice(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var in billing.InvoiceInput
		if err := c.decode(&in); err != nil {
			return result{}, err
		}
		inv, created, err := a.svc.PutInvoice(ctx, c.tenant, c.invoiceID(), &in)
		if err != nil {
			return result{}, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return result{status, viewInvoice(inv)}, nil
	})
}

// GetInvoice handles GET /invoices/{invoiceId}.
func (a *API) GetInvoice(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		inv, err := a.svc.GetInvoice(ctx, c.tenant, c.invoiceID())
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewInvoice(inv)}, nil
	})
}

// CreatePaymentLink handles POST /invoices/{invoiceId}/payment-link.
func (a *API) CreatePaymentLink(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		link, created, err := a.svc.CreateLink(ctx, c.tenant, c.invoiceID())
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
		link, err := a.svc.RegenerateLink(ctx, c.tenant, c.invoiceID())
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, viewLink(link)}, nil
	})
}

// RemovePaymentLink handles DELETE /invoices/{invoiceId}/payment-link.
func (a *API) RemovePaymentLink(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		if err := a.svc.RemoveLink(ctx, c.tenant, c.invoiceID()); err != nil {
			return result{}, err
		}
		return result{http.StatusNoContent, nil}, nil
	})
}

// SendInvoiceEmail handles POST /invoices/{invoiceId}/emails.
func (a *API) SendInvoiceEmail(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var in billing.EmailInput
		if err := c.decode(&in); err != nil {
			return result{}, err
		}
		sent, link, err := a.svc.SendEmail(ctx, c.tenant, c.invoiceID(), &in)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusAccepted, sentEmailView{
			MessageID: sent.MessageID, To: sent.To, Language: sent.Language,
			SentAt: timestamp(sent.SentAt), PaymentLink: viewLink(link),
		}}, nil
	})
}

// serve runs one request: authenticate, call fn, write the answer, log one
// line. It never returns an error to the Lambda runtime: every outcome is an
// HTTP answer of the contract.
func (a *API) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, need access, fn func(context.Context, *call) (result, error)) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	c := &call{req: req}
	var err error
	res := result{}
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "panic", "route", req.RouteKey, "panic", p)
			resp, err = a.respondError(&billing.Error{Code: billing.CodeInternal, Message: "internal error"})
		}
		a.logRequest(ctx, c, resp.StatusCode, err, time.Since(start))
	}()
	if err = c.authenticate(a.tenantClaim, need); err == nil {
		res, err = fn(ctx, c)
	}
	if err != nil {
		return a.respondError(err)
	}
	return respond(res.status, res.body, nil), nil
}

func (a *API) respondError(err error) (events.APIGatewayV2HTTPResponse, error) {
	status, body, h := errorResponse(err)
	return respond(status, body, h), nil
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

// logRequest writes the request's one log line: identifiers and outcome,
// never a name, an e-mail address or an amount.
func (a *API) logRequest(ctx context.Context, c *call, status int, err error, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("route", c.req.RouteKey),
		slog.String("apiRequestId", c.req.RequestContext.RequestID),
		slog.Int("status", status),
		slog.Float64("latencyMs", float64(d.Microseconds())/1000),
	}
	if c.tenant != "" {
		attrs = append(attrs, slog.String("tenant", c.tenant))
	}
	if id := c.req.PathParameters["invoiceId"]; id != "" && billing.ValidID(id) {
		attrs = append(attrs, slog.String("invoiceId", id))
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("code", string(billing.ErrorCode(err))))
		if status >= 500 {
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	}
	a.log.LogAttrs(ctx, level, "request", attrs...)
}
