package httpapi

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/idempotency"
)

func callWithClaims(claims map[string]string, scopes ...string) *call {
	return &call{req: events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
			Claims: claims, Scopes: scopes,
		}},
	}}}
}

// The platform's scope manages companies; it never acts as a clinic's
// staff on the tenant routes (invoices, links, e-mails, the feed), even
// when the token also names a tenant.
func TestPlatformScopeIsNoTenantsStaff(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]string
		scopes []string
		need   access
		ok     bool
	}{
		{"staff of the tenant", map[string]string{"billing_company_id": "c1"}, nil, tenantAccess, true},
		{"admin of the tenant", map[string]string{"billing_company_id": "c1", "scope": "billing:admin"}, nil, tenantAccess, true},
		{"platform naming a tenant", map[string]string{"billing_company_id": "c1", "scope": "billing:platform"}, nil, tenantAccess, false},
		{"platform and admin naming a tenant", map[string]string{"billing_company_id": "c1", "scope": "billing:admin billing:platform"}, nil, tenantAccess, false},
		{"platform in the authorizer's scopes", map[string]string{"billing_company_id": "c1"}, []string{"billing:platform"}, tenantAccess, false},
		{"platform without a tenant", map[string]string{"scope": "billing:platform"}, nil, tenantAccess, false},
		{"platform on a company route", map[string]string{"billing_company_id": "c1", "scope": "billing:platform"}, nil, adminAccess, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := callWithClaims(tc.claims, tc.scopes...)
			err := c.authenticate(DefaultTenantClaim, tc.need)
			if (err == nil) != tc.ok || (err != nil && billing.ErrorCode(err) != billing.CodeForbidden) {
				t.Fatalf("%v (caller %+v)", err, c.caller)
			}
		})
	}
}

// memIdempotency keeps Idempotency-Key records in memory, as the store
// does (no expiry: the test is shorter than a record's life).
type memIdempotency struct {
	recs map[string]idempotency.Request
}

func (m *memIdempotency) StartRequest(_ context.Context, rec *idempotency.Request, _ time.Time) (*idempotency.Request, error) {
	if old, ok := m.recs[rec.Scope+"/"+rec.Key]; ok {
		return &old, nil
	}
	m.recs[rec.Scope+"/"+rec.Key] = *rec
	return nil, nil
}

func (m *memIdempotency) CompleteRequest(_ context.Context, rec *idempotency.Request) error {
	done := *rec
	done.Status = idempotency.Completed
	m.recs[rec.Scope+"/"+rec.Key] = done
	return nil
}

func (m *memIdempotency) ReleaseRequest(_ context.Context, scope, key string) error {
	delete(m.recs, scope+"/"+key)
	return nil
}

// A replay is the first answer, headers included: a client reads the new
// version's ETag (or a Location) from the answer to its PUT, retried or not.
func TestReplayCarriesTheFirstAnswersHeaders(t *testing.T) {
	a := &API{idem: &memIdempotency{recs: map[string]idempotency.Request{}}, log: slog.Default()}
	c := callWithClaims(map[string]string{"billing_company_id": "c1"})
	c.req.RequestContext.HTTP.Method, c.req.RawPath, c.req.Body = "PUT", "/invoices/i1", `{"total":1}`
	if err := c.authenticate(DefaultTenantClaim, tenantAccess); err != nil {
		t.Fatal(err)
	}
	runs := 0
	run := func(context.Context) events.APIGatewayV2HTTPResponse {
		runs++
		resp := respond(201, map[string]any{"id": "i1"}, nil)
		resp.Headers["ETag"], resp.Headers["Location"] = `"v3"`, "/invoices/i1"
		return resp
	}
	first := a.idempotent(context.Background(), c, "key-1", run)
	again := a.idempotent(context.Background(), c, "key-1", run)
	if runs != 1 || again.StatusCode != 201 || again.Body != first.Body {
		t.Fatalf("runs %d, replay %d %s", runs, again.StatusCode, again.Body)
	}
	for _, h := range []string{"ETag", "Location", "Content-Type", "Cache-Control"} {
		if again.Headers[h] != first.Headers[h] || first.Headers[h] == "" {
			t.Errorf("%s: first %q, replay %q", h, first.Headers[h], again.Headers[h])
		}
	}
	if again.Headers["Idempotent-Replayed"] != "true" || first.Headers["Idempotent-Replayed"] != "" {
		t.Errorf("Idempotent-Replayed: first %q, replay %q", first.Headers["Idempotent-Replayed"], again.Headers["Idempotent-Replayed"])
	}
}
