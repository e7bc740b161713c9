package e2e

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/clinicpay/payments/infra/local/localapi"
)

func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	inv := newInvoice(t, tn)
	now := time.Now()
	good := jwt.MapClaims{"iss": localapi.Issuer, "aud": localapi.Audience, "exp": now.Add(time.Hour).Unix(), "billing_company_id": tn.ID}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	secret := []byte(localapi.DefaultSecret)
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"no token", "", 401, "unauthorized"},
		{"garbage", "not-a-jwt", 401, "unauthorized"},
		{"wrong secret", signed(t, jwt.SigningMethodHS256, []byte("other-secret"), good), 401, "unauthorized"},
		{"expired", signed(t, jwt.SigningMethodHS256, secret, with("exp", now.Add(-time.Minute).Unix())), 401, "unauthorized"},
		{"no expiry", signed(t, jwt.SigningMethodHS256, secret, with("exp", nil)), 401, "unauthorized"},
		{"wrong issuer", signed(t, jwt.SigningMethodHS256, secret, with("iss", "someone-else")), 401, "unauthorized"},
		{"wrong audience", signed(t, jwt.SigningMethodHS256, secret, with("aud", "other-api")), 401, "unauthorized"},
		{"alg none", signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), 401, "unauthorized"},
		{"no tenant claim", signed(t, jwt.SigningMethodHS256, secret, with("billing_company_id", nil)), 403, "forbidden"},
		{"malformed tenant claim", signed(t, jwt.SigningMethodHS256, secret, with("billing_company_id", "../x")), 403, "forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call(t, "GET", "/invoices/"+inv, tc.token, nil).wantError(t, tc.status, tc.code)
		})
	}
	t.Run("valid", func(t *testing.T) {
		call(t, "GET", "/invoices/"+inv, signed(t, jwt.SigningMethodHS256, secret, good), nil).want(t, 200)
	})
	t.Run("admin scope in a list of scopes", func(t *testing.T) {
		tok := signed(t, jwt.SigningMethodHS256, secret, with("scope", "openid billing:admin profile"))
		call(t, "GET", "/billing-companies/"+tn.ID, tok, nil).want(t, 200)
	})
	t.Run("billing-company routes need the admin scope", func(t *testing.T) {
		call(t, "GET", "/billing-companies/"+tn.ID, tn.Staff, nil).wantError(t, 403, "forbidden")
		call(t, "PUT", "/billing-companies/"+tn.ID, tn.Staff, map[string]any{
			"name": "X", "replyToEmail": "x@example.com", "defaultLanguage": "fr",
		}).wantError(t, 403, "forbidden")
		// Nothing changed.
		r := call(t, "GET", "/billing-companies/"+tn.ID, tn.Admin, nil).want(t, 200)
		if r.str("name") != "Clinique Saint-Louis" {
			t.Fatalf("company changed by a forbidden request: %s", r.Raw)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		call(t, "GET", "/nowhere", tn.Staff, nil).wantError(t, 404, "not_found")
	})
}
