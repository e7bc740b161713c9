package httpapi

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

// FuzzRequestDecoding feeds arbitrary bodies to the decoding and validation
// of each request type: no panic, every refusal a contract error, and every
// accepted invoice within the contract's limits.
func FuzzRequestDecoding(f *testing.F) {
	f.Add(uint8(0), `{"number":"F-1","currency":"cad","total":12500,"balanceDue":12500,"issuedOn":"2026-11-20","patient":{"name":"M","email":"m@example.com"},"lines":[{"description":"C","amount":12500}]}`, false)
	f.Add(uint8(1), `{"name":"Clinique","replyToEmail":"a@clinique.example","defaultLanguage":"fr","stripeAccountId":"acct_1"}`, false)
	f.Add(uint8(2), `{"includePaymentLink":true,"to":"a@example.com","language":"en","message":"hi"}`, false)
	f.Add(uint8(0), `eyJudW1iZXIiOjF9`, true)
	f.Fuzz(func(t *testing.T, kind uint8, body string, b64 bool) {
		c := &call{req: events.APIGatewayV2HTTPRequest{Body: body, IsBase64Encoded: b64, Headers: map[string]string{"content-type": "application/json"}}}
		var validate func() error
		var inv *billing.InvoiceInput
		switch kind % 3 {
		case 0:
			validate = func() error {
				var body invoiceBody
				if err := c.decode(&body); err != nil {
					return err
				}
				inv = body.input()
				return inv.Validate()
			}
		case 1:
			validate = func() error {
				var body companyBody
				if err := c.decode(&body); err != nil {
					return err
				}
				return body.input().Validate()
			}
		case 2:
			validate = func() error {
				var body emailBody
				if err := c.decode(&body); err != nil {
					return err
				}
				return body.input("").Validate()
			}
		}
		err := validate()
		if err != nil {
			var e *billing.Error
			if !errors.As(err, &e) || (e.Code != billing.CodeInvalidRequest && e.Code != billing.CodePayloadTooLarge) || e.Message == "" {
				t.Fatalf("not a contract error: %v", err)
			}
			if _, ok := statusOf[e.Code]; !ok {
				t.Fatalf("code without a status: %s", e.Code)
			}
			return
		}
		if kind%3 == 0 {
			var sum int64
			for _, l := range inv.Lines {
				sum += *l.Amount
			}
			if *inv.Total < 1 || *inv.Total > billing.MaxAmount || *inv.BalanceDue < 0 || *inv.BalanceDue > *inv.Total || sum != *inv.Total ||
				len(inv.Lines) > billing.MaxInvoiceLines || strings.ContainsAny(inv.Patient.Name+inv.Patient.Email+inv.Number, "\r\n") {
				t.Fatalf("accepted an invoice outside the limits: %+v", inv)
			}
		}
	})
}

// FuzzClaims feeds arbitrary authorizer claims to authentication: a caller is
// let in only with a valid tenant id, to admin routes only with the scope,
// and to tenant routes never with the platform's scope.
func FuzzClaims(f *testing.F) {
	f.Add("clinic-1", "billing:admin", true)
	f.Add("clinic-1", "[openid billing:admin]", true)
	f.Add("../other", "", false)
	f.Add("", "billing:admin", true)
	f.Add("null", "billing:admin", true)
	f.Add("c1", "billing:admin]", true)
	f.Add("c1", "billing:admin\u00a0x", true)
	f.Add("", "billing:platform", true)
	f.Add("clinic-1", "billing:admin billing:platform", false)
	f.Fuzz(func(t *testing.T, tenant, scope string, admin bool) {
		need := tenantAccess
		if admin {
			need = adminAccess
		}
		c := &call{req: events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{DefaultTenantClaim: tenant, "scope": scope},
			}},
		}}}
		err := c.authenticate(DefaultTenantClaim, need)
		if err != nil {
			if code := billing.ErrorCode(err); code != billing.CodeForbidden && code != billing.CodeUnauthorized {
				t.Fatalf("unexpected code %s", code)
			}
			return
		}
		words := scopeWords(scope)
		if admin && slices.Contains(words, PlatformScope) {
			if !c.caller.Platform || (c.caller.Tenant != "" && c.caller.Tenant != tenant) {
				t.Fatalf("platform caller %+v from tenant %q, scope %q", c.caller, tenant, scope)
			}
			return
		}
		if !admin && (slices.Contains(words, PlatformScope) || c.caller.Platform) {
			t.Fatalf("the platform scope let in as a tenant's staff: tenant %q, scope %q", tenant, scope)
		}
		if c.caller.Tenant != tenant || !billing.ValidID(tenant) || tenant == "null" || tenant == "true" || tenant == "false" {
			t.Fatalf("let in with tenant %q", tenant)
		}
		if admin && !slices.Contains(words, AdminScope) {
			t.Fatalf("admin route without the scope: %q", scope)
		}
		// Each scope word is exact: nothing but the ASCII space separates,
		// and brackets go only as a pair around the whole claim.
		for _, w := range words {
			if strings.Contains(w, " ") || w == "" {
				t.Fatalf("scope word %q from %q", w, scope)
			}
		}
	})
}
