package cfntemplate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
)

// contractHeaders reads docs/openapi.yaml: the request headers a browser
// sends (its header parameters, the bearer token, the JSON content type)
// and the response headers it must be able to read.
func contractHeaders(t *testing.T) (takes, answers []string) {
	t.Helper()
	var api yaml.Node
	if err := yaml.Unmarshal(docs.OpenAPI, &api); err != nil {
		t.Fatal(err)
	}
	takes = []string{"authorization", "content-type"}
	answers = []string{"idempotent-replayed"} // openapi.yaml, Idempotency-Key
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			if in := samtemplate.Get(n, "in"); in != nil && in.Value == "header" {
				// The webhook's signature comes from Stripe's servers, not a browser.
				if name := samtemplate.Get(n, "name").Value; name != "Stripe-Signature" {
					takes = append(takes, strings.ToLower(name))
				}
			}
			for _, k := range samtemplate.Keys(samtemplate.Get(n, "headers")) {
				answers = append(answers, strings.ToLower(k))
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	// components.headers is keyed by component names, not header names;
	// the responses that use them name the headers.
	if c := samtemplate.Get(api.Content[0], "components"); c != nil {
		for i := 0; i+1 < len(c.Content); i += 2 {
			if c.Content[i].Value == "headers" {
				c.Content = append(c.Content[:i], c.Content[i+2:]...)
				break
			}
		}
	}
	walk(&api)
	slices.Sort(takes)
	slices.Sort(answers)
	return slices.Compact(takes), slices.Compact(answers)
}

// deployedCORS is the API's CORS as CloudFormation builds it from the
// translation: x-amazon-apigateway-cors of the API's body, resolved.
func deployedCORS(tr *cfntemplate.Translated, st samtemplate.Stack) (map[string]any, error) {
	apis := tr.Resources("AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		return nil, fmt.Errorf("%d HTTP APIs in the translation, want 1", len(apis))
	}
	v, err := tr.Resolve(samtemplate.Get(apis[0].Properties, "Body", "x-amazon-apigateway-cors"), st)
	if err != nil {
		return nil, fmt.Errorf("x-amazon-apigateway-cors: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("x-amazon-apigateway-cors is %#v, not a CORS configuration", v)
	}
	return m, nil
}

// corsProblems: what a browser on an allowed origin would trip on. The
// origins are the parameter's, as a list; every header the contract takes
// is allowed and every header it answers with exposed; every method a
// route uses is allowed; preflights are cached.
func corsProblems(t *testing.T, tr *cfntemplate.Translated, st samtemplate.Stack, origins []string) []string {
	takes, answers := contractHeaders(t)
	cors, err := deployedCORS(tr, st)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	list := func(key string) []string {
		l, ok := cors[key].([]any)
		if !ok {
			out = append(out, fmt.Sprintf("%s is %#v, not a list", key, cors[key]))
		}
		var s []string
		for _, x := range l {
			s = append(s, strings.ToLower(fmt.Sprint(x)))
		}
		return s
	}
	if got := list("allowOrigins"); !slices.Equal(got, origins) {
		out = append(out, fmt.Sprintf("allowOrigins %v, want the parameter's %v", got, origins))
	}
	allowed, exposed, methods := list("allowHeaders"), list("exposeHeaders"), list("allowMethods")
	for _, h := range takes {
		if !slices.Contains(allowed, h) {
			out = append(out, "allowHeaders lacks "+h+", which the contract takes")
		}
	}
	for _, h := range answers {
		if !slices.Contains(exposed, h) {
			out = append(out, "exposeHeaders lacks "+h+", which the contract answers with")
		}
	}
	for _, m := range routeMethods(tr) {
		if !slices.Contains(methods, strings.ToLower(m)) {
			out = append(out, "allowMethods lacks "+m+", which a route uses")
		}
	}
	if age, _ := cors["maxAge"].(string); age == "" || age == "0" {
		out = append(out, fmt.Sprintf("maxAge %v: every request would be preflighted", cors["maxAge"]))
	}
	return out
}

// routeMethods lists the methods of the API's routes.
func routeMethods(tr *cfntemplate.Translated) []string {
	seen := map[string]bool{}
	for _, api := range tr.Resources("AWS::ApiGatewayV2::Api") {
		paths := samtemplate.Get(api.Properties, "Body", "paths")
		for _, p := range samtemplate.Keys(paths) {
			for _, m := range samtemplate.Keys(samtemplate.Get(paths, p)) {
				seen[strings.ToUpper(m)] = true
			}
		}
	}
	return sorted(seen)
}

func origins(t *testing.T, env string) []string {
	params, err := cfntemplate.Parameters(env)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.ToLower(params["CorsAllowedOrigins"]), ",")
}

// TestDeployedCORSCoversTheContract: the API AWS builds answers a
// browser's preflight for every header the contract takes and lets it
// read every header the contract answers with, from the environment's
// origins. A header left out works from curl and fails only in a browser.
func TestDeployedCORSCoversTheContract(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		tr := translated(t, env)
		for _, p := range corsProblems(t, tr, stackFor(t, tr, env), origins(t, env)) {
			t.Errorf("%s: %s", env, p)
		}
	}
}

// brokenCORS is the CORS block as it was: AllowOrigins alone an
// intrinsic function.
const brokenCORS = `      CorsConfiguration:
        AllowOrigins: !Split [",", !Ref CorsAllowedOrigins]
        AllowHeaders: [authorization, content-type, idempotency-key, if-match]
        AllowMethods: [GET, PUT, POST, DELETE, OPTIONS]
        ExposeHeaders: [etag, retry-after, idempotent-replayed]
        MaxAge: 600
`

// TestCORSCheckCatchesTheBrokenBlock: the block as it was deploys an API
// without the headers (SAM replaces the block by AllowOrigins), and the
// check says so; a !Ref of the origins, given their value, deploys one
// origin "a,b" and no list.
func TestCORSCheckCatchesTheBrokenBlock(t *testing.T) {
	t.Parallel()
	src := source(t)
	start := strings.Index(src, "      CorsConfiguration: !If\n")
	end := strings.Index(src, "        - !Ref AWS::NoValue\n")
	if start < 0 || end < start {
		t.Fatal("template.yaml's CorsConfiguration is no longer one !If")
	}
	end += len("        - !Ref AWS::NoValue\n")
	for name, block := range map[string]string{
		"!Split": brokenCORS,
		"!Ref":   strings.Replace(brokenCORS, `!Split [",", !Ref CorsAllowedOrigins]`, "!Ref CorsAllowedOrigins", 1),
	} {
		tr := translate(t, src[:start]+block+src[end:], "prod")
		problems := corsProblems(t, tr, stackFor(t, tr, "prod"), origins(t, "prod"))
		if len(problems) == 0 {
			t.Errorf("AllowOrigins %s: the check finds nothing wrong", name)
		}
		t.Logf("AllowOrigins %s: %v", name, problems)
	}
}

// TestLocalAPIAnswersAsTheDeployedAPI: make dev's API (localapi) reads the
// same CORS as the translation deploys.
func TestLocalAPIAnswersAsTheDeployedAPI(t *testing.T) {
	t.Parallel()
	tr := translated(t, "prod")
	want := origins(t, "prod")
	cors, err := deployedCORS(tr, stackFor(t, tr, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := localapi.CORSFromTemplate(want)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"allowOrigins": local.AllowOrigins, "allowHeaders": local.AllowHeaders,
		"allowMethods": local.AllowMethods, "exposeHeaders": local.ExposeHeaders, "maxAge": fmt.Sprint(local.MaxAge)}
	for k, v := range got {
		if fmt.Sprint(v) != fmt.Sprint(asStrings(cors[k])) {
			t.Errorf("%s: local %v, deployed %v", k, v, cors[k])
		}
	}
}

func asStrings(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = fmt.Sprint(x)
	}
	return out
}
