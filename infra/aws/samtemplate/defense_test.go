package samtemplate_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/internal/httpapi"
)

// candidateScopes are the scopes the API knows: staff admins, and the
// platform's operators (issue 8).
var candidateScopes = []string{httpapi.AdminScope, "billing:platform"}

// TestScopedRoutesAreScopedInTheTemplate: a route the code refuses without
// a scope has AuthorizationScopes in the template, so API Gateway refuses
// it first, naming every scope the code accepts; a route the code serves
// to any staff token has none (or staff would be refused in AWS).
func TestScopedRoutesAreScopedInTheTemplate(t *testing.T) {
	deployed := map[string]samtemplate.Route{}
	for _, r := range load(t).Routes() {
		deployed[r.Key()] = r
	}
	api := httpapi.New(nil, httpapi.Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	for _, route := range httpapi.Routes {
		if route.Public {
			continue
		}
		handler := route.Handler(api)
		refused := func(scope string) bool {
			claims := map[string]string{httpapi.DefaultTenantClaim: "clinic-1"}
			if scope != "" {
				claims["scope"] = scope
			}
			ev := events.APIGatewayV2HTTPRequest{RouteKey: route.Key(), RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: route.Method},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}},
			}}
			resp, _ := handler(context.Background(), ev)
			return resp.StatusCode == 403
		}
		tplScopes := deployed[route.Key()].Scopes
		if !refused("") {
			if len(tplScopes) > 0 {
				t.Errorf("%s: any staff token may use it, but the template requires %v", route.Key(), tplScopes)
			}
			continue
		}
		if len(tplScopes) == 0 {
			t.Errorf("%s: the code requires a scope; the template has no AuthorizationScopes", route.Key())
		}
		for _, s := range candidateScopes {
			if !refused(s) && !slices.Contains(tplScopes, s) {
				t.Errorf("%s: the code accepts %s, the template's AuthorizationScopes %v do not", route.Key(), s, tplScopes)
			}
		}
		for _, s := range tplScopes {
			if !slices.Contains(candidateScopes, s) {
				t.Errorf("%s: unknown scope %s in the template", route.Key(), s)
			}
		}
	}
	for _, key := range []string{"PUT /billing-companies/{companyId}", "GET /billing-companies/{companyId}"} {
		if got := deployed[key].Scopes; !slices.Equal(got, candidateScopes) {
			t.Errorf("%s: AuthorizationScopes %v, want %v", key, got, candidateScopes)
		}
	}
}

// TestLogGroupsNamedFromTheStack: two stacks can live in one region, and
// deleting or replacing one keeps its logs, except after a failed first
// create (RetainExceptOnCreate), whose kept groups would stop the retry
// on their names.
func TestLogGroupsNamedFromTheStack(t *testing.T) {
	tpl := load(t)
	groups := resources(tpl, "AWS::Logs::LogGroup")
	for name, g := range groups {
		n := samtemplate.Get(g.Properties, "LogGroupName")
		if n == nil || n.Tag != "!Sub" || !strings.Contains(n.Value, "${AWS::StackName}") {
			t.Errorf("%s: LogGroupName must be derived from ${AWS::StackName}", name)
		}
		if v := samtemplate.Get(g.Node, "DeletionPolicy"); v == nil || v.Value != "RetainExceptOnCreate" {
			t.Errorf("%s: DeletionPolicy must be RetainExceptOnCreate", name)
		}
		if v := samtemplate.Get(g.Node, "UpdateReplacePolicy"); v == nil || v.Value != "Retain" {
			t.Errorf("%s: UpdateReplacePolicy must be Retain", name)
		}
	}
	for _, fn := range tpl.Resources("AWS::Serverless::Function") {
		ids := refsIn(samtemplate.Get(fn.Properties, "LoggingConfig", "LogGroup"))
		if len(ids) != 1 || groups[ids[0]].Name == "" {
			t.Errorf("%s: LoggingConfig.LogGroup must name a log group of the template", fn.Name)
		}
	}
}
