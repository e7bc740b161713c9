package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range billing.Codes {
		if _, ok := statusOf[c]; !ok {
			t.Errorf("no status for %s", c)
		}
	}
	if len(statusOf) != len(billing.Codes) {
		t.Errorf("statusOf has %d codes, billing.Codes %d", len(statusOf), len(billing.Codes))
	}
}

func TestInternalErrorsHideTheirCause(t *testing.T) {
	status, body, _ := errorResponse(&billing.Error{Code: billing.CodeInternal, Message: "dynamodb: secret table arn"})
	b, _ := json.Marshal(body)
	if status != 500 || strings.Contains(string(b), "arn") {
		t.Fatalf("%d %s", status, b)
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		claim string
		want  bool
	}{
		{"billing:admin", true},
		{"openid billing:admin", true},
		{"[openid billing:admin]", true},
		{"billing:admin2", false},
		{"", false},
		// Only a matched pair of brackets around the whole claim goes, and
		// only the ASCII space separates words.
		{"billing:admin]", false},
		{"[billing:admin", false},
		{"billing:admin\u00a0x", false},
		{"openid\tbilling:admin", false},
		{"openid  billing:admin", true},
	}
	for _, tc := range tests {
		c := &call{req: events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"billing_company_id": "c1", "scope": tc.claim},
			}},
		}}}
		err := c.authenticate(DefaultTenantClaim, adminAccess)
		if (err == nil) != tc.want {
			t.Errorf("scope %q: %v", tc.claim, err)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		body  string
		b64   bool
		code  billing.Code
		field string
	}{
		{`{"TOTAL":1}`, false, billing.CodeInvalidRequest, "TOTAL"},
		{`{"patient":{"Email":"a@b.co"}}`, false, billing.CodeInvalidRequest, "patient.Email"},
		{`{"number":"1","number":"2"}`, false, billing.CodeInvalidRequest, "number"},
		{"{\"number\":\"\xff\"}", false, billing.CodeInvalidRequest, "body"},
		{`{"number":"1"}`, false, "", ""},
		{`eyJudW1iZXIiOiIxIn0=`, true, "", ""},
		{`not base64!`, true, billing.CodeInvalidRequest, "body"},
		{``, false, billing.CodeInvalidRequest, "body"},
		{`{`, false, billing.CodeInvalidRequest, "body"},
		{`{"number":1}`, false, billing.CodeInvalidRequest, "number"},
		{`{"patient":{"nom":"x"}}`, false, billing.CodeInvalidRequest, "patient.nom"},
		{`{"lines":[{"description":"a","amount":1,"tax":2}]}`, false, billing.CodeInvalidRequest, "lines[0].tax"},
		{`{} {}`, false, billing.CodeInvalidRequest, "body"},
		{`{"number":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, false, billing.CodePayloadTooLarge, ""},
	}
	for _, tc := range tests {
		c := &call{req: events.APIGatewayV2HTTPRequest{Body: tc.body, IsBase64Encoded: tc.b64, Headers: jsonHeaders}}
		var in invoiceBody
		err := c.decode(&in)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%.40q: %v", tc.body, err)
			}
			continue
		}
		var e *billing.Error
		if err == nil || !asError(err, &e) || e.Code != tc.code || e.Field != tc.field {
			t.Errorf("%.40q: %v, want %s %s", tc.body, err, tc.code, tc.field)
		}
	}
}

var jsonHeaders = map[string]string{"content-type": "application/json"}

func TestContentType(t *testing.T) {
	tests := []struct {
		contentType string
		ok          bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON; charset=UTF-8", true},
		{"", false},
		{"text/xml", false},
		{"text/plain", false},
		{"application/json; charset=latin1", false},
		{"application/x-www-form-urlencoded", false},
	}
	for _, tc := range tests {
		c := &call{req: events.APIGatewayV2HTTPRequest{Body: `{"number":"1"}`, Headers: map[string]string{"content-type": tc.contentType}}}
		var in invoiceBody
		err := c.decode(&in)
		if tc.ok != (err == nil) || (!tc.ok && billing.ErrorCode(err) != billing.CodeUnsupportedMediaType) {
			t.Errorf("%q: %v", tc.contentType, err)
		}
	}
}

func TestTenantClaim(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"clinic-1", true}, {"", false}, {"null", false}, {"true", false}, {"false", false},
		{"[a b]", false}, {"{}", false}, {"../x", false},
	} {
		c := &call{req: events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"billing_company_id": tc.value, "sub": "x"},
			}},
		}}}
		err := c.authenticate(DefaultTenantClaim, tenantAccess)
		if (err == nil) != tc.ok || (err != nil && billing.ErrorCode(err) != billing.CodeForbidden) {
			t.Errorf("tenant %q: %v", tc.value, err)
		}
	}
}

func TestIfMatch(t *testing.T) {
	for _, tc := range []struct {
		header   string
		given    bool
		versions []int64
		invalid  bool
	}{
		{"", false, nil, false},
		{`"v3"`, true, []int64{3}, false},
		{`"v3", "v4"`, true, []int64{3, 4}, false},
		{`"3"`, true, nil, false}, // a strong tag, not ours: never matches (412)
		{`"v0"`, true, nil, false},
		{`W/"v3"`, true, nil, true},
		{`v3`, true, nil, true},
		{`"v3`, true, nil, true},
		{`"v 3"`, true, nil, true},
		{`"v3", W/"v4"`, true, nil, true},
		{`*`, true, nil, true},
	} {
		p, err := ifMatch(tc.header)
		if tc.invalid {
			if billing.ErrorCode(err) != billing.CodeInvalidRequest {
				t.Errorf("%q: %v, want invalid_request", tc.header, err)
			}
			continue
		}
		if err != nil || p.Given != tc.given || fmt.Sprint(p.Versions) != fmt.Sprint(tc.versions) {
			t.Errorf("%q: %+v %v", tc.header, p, err)
		}
	}
}

func asError(err error, e **billing.Error) bool {
	x, ok := err.(*billing.Error)
	*e = x
	return ok
}

func TestServeNeverFailsTheInvocation(t *testing.T) {
	a := New(billing.NewService(billing.Deps{}), Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	resp, err := a.GetInvoice(context.Background(), events.APIGatewayV2HTTPRequest{})
	if err != nil || resp.StatusCode != 401 || !strings.Contains(resp.Body, `"unauthorized"`) {
		t.Fatalf("%v %+v", err, resp)
	}
}
