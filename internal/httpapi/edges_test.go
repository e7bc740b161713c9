package httpapi

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
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
