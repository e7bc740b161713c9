package cfntemplate_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/internal/httpapi"
)

// aliasFunction: the function a {"Ref": alias} names through its
// AWS::Lambda::Alias ("" when the logical id is not an alias).
func aliasFunction(t *testing.T, tr *cfntemplate.Translated, id string) string {
	r, ok := tr.Resource(id)
	if !ok || r.Type != "AWS::Lambda::Alias" {
		return ""
	}
	return refOf(raw(t, tr, r, "Properties", "FunctionName"))
}

// invokePermission: the alias may be invoked by the service principal.
func invokePermission(t *testing.T, tr *cfntemplate.Translated, alias, principal string) bool {
	for _, p := range tr.Resources("AWS::Lambda::Permission") {
		if refOf(raw(t, tr, p, "Properties", "FunctionName")) == alias && samtemplate.Get(p.Properties, "Principal").Value == principal {
			return true
		}
	}
	return false
}

// routeProblems: every route of the deployed API is the route table's
// (httpapi.Routes), integrated with its function's live alias (which API
// Gateway may invoke), behind the JWT authorizer with the scopes the
// template asks for, or public where the route table says so.
func routeProblems(t *testing.T, tr *cfntemplate.Translated, src *samtemplate.Template) []string {
	var out []string
	want := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		want[r.Key()] = r
	}
	scopes := map[string][]string{}
	for _, r := range src.Routes() {
		scopes[r.Key()] = r.Scopes
	}
	apis := tr.Resources("AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		return []string{fmt.Sprintf("%d HTTP APIs, want 1", len(apis))}
	}
	paths := samtemplate.Get(apis[0].Properties, "Body", "paths")
	seen := map[string]bool{}
	for _, path := range samtemplate.Keys(paths) {
		for _, method := range samtemplate.Keys(samtemplate.Get(paths, path)) {
			key := strings.ToUpper(method) + " " + path
			seen[key] = true
			route, ok := want[key]
			if !ok {
				out = append(out, key+": deployed, not in the route table")
				continue
			}
			op := samtemplate.Get(paths, path, method)
			var uri any
			if err := samtemplate.Get(op, "x-amazon-apigateway-integration", "uri").Decode(&uri); err != nil {
				t.Fatal(err)
			}
			vars := subVars(uri)
			alias := ""
			if len(vars) == 1 {
				alias = vars[0]
			}
			if fn := aliasFunction(t, tr, alias); fn != route.Function {
				out = append(out, fmt.Sprintf("%s: integrated with %v, want %s's live alias", key, uri, route.Function))
			} else if !invokePermission(t, tr, alias, "apigateway.amazonaws.com") {
				out = append(out, fmt.Sprintf("%s: API Gateway may not invoke %s", key, alias))
			}
			out = append(out, securityProblems(op, key, route.Public, scopes[key])...)
		}
	}
	for key := range want {
		if !seen[key] {
			out = append(out, key+": in the route table, not deployed")
		}
	}
	return append(out, authorizerProblems(t, tr, apis[0])...)
}

func securityProblems(op *yaml.Node, key string, public bool, scopes []string) []string {
	var sec []map[string][]string
	if err := samtemplate.Get(op, "security").Decode(&sec); err != nil || len(sec) != 1 {
		return []string{fmt.Sprintf("%s: security %v (%v), want one requirement", key, sec, err)}
	}
	if public {
		if _, ok := sec[0]["NONE"]; !ok {
			return []string{fmt.Sprintf("%s: public in the route table, security %v", key, sec)}
		}
		return nil
	}
	got, ok := sec[0]["FrontEndJwt"]
	if !ok {
		return []string{fmt.Sprintf("%s: not behind the JWT authorizer (security %v)", key, sec)}
	}
	if !slices.Equal(got, scopes) && !(len(got) == 0 && len(scopes) == 0) {
		return []string{fmt.Sprintf("%s: AuthorizationScopes %v deployed, %v in template.yaml", key, got, scopes)}
	}
	return nil
}

// authorizerProblems: the JWT authorizer reads the bearer token and
// checks the issuer and audiences of the parameters.
func authorizerProblems(t *testing.T, tr *cfntemplate.Translated, api samtemplate.Resource) []string {
	a := samtemplate.Get(api.Properties, "Body", "components", "securitySchemes", "FrontEndJwt", "x-amazon-apigateway-authorizer")
	want := map[string]string{
		"type":                      "jwt",
		"identitySource":            "$request.header.Authorization",
		"jwtConfiguration.issuer":   `map[Ref:JwtIssuer]`,
		"jwtConfiguration.audience": `map[Ref:JwtAudience]`,
	}
	var out []string
	for k, v := range want {
		n := samtemplate.Get(a, strings.Split(k, ".")...)
		var got any
		if n != nil {
			if err := n.Decode(&got); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(got) != v {
			out = append(out, fmt.Sprintf("authorizer FrontEndJwt %s is %v, want %s", k, got, v))
		}
	}
	return out
}

// TestDeployedRoutes: the routes AWS builds are the route table's, each
// integrated with its function's live alias (so CodeDeploy's traffic
// shifting applies), behind the JWT authorizer with its scopes.
func TestDeployedRoutes(t *testing.T) {
	t.Parallel()
	src, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		for _, p := range routeProblems(t, translated(t, env), src) {
			t.Errorf("%s: %s", env, p)
		}
	}
}

// TestRouteCheckCatchesALatestIntegration: a function without its alias
// is invoked at $LATEST, and the check says which route.
func TestRouteCheckCatchesALatestIntegration(t *testing.T) {
	t.Parallel()
	src := source(t)
	broken := replaceOnce(t, src, "    AutoPublishAlias: live\n", "")
	broken = replaceOnce(t, broken, "    AutoPublishAliasAllProperties: true\n", "")
	broken = regexp.MustCompile(`(?m)^    DeploymentPreference:\n(      .*\n|      #.*\n)+`).ReplaceAllString(broken, "")
	broken = regexp.MustCompile(`(?m)^      DeploymentPreference:\n        Alarms: .*\n(        Hooks:\n          PreTraffic: .*\n)?`).ReplaceAllString(broken, "")
	tpl, err := samtemplate.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	problems := routeProblems(t, translate(t, broken, "dev"), tpl)
	if len(problems) < len(httpapi.Routes) {
		t.Fatalf("routes on $LATEST: %v", problems)
	}
}
