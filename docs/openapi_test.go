package docs_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatal("openapi.yaml must be OpenAPI 3.1")
	}
	return doc
}

// TestRoutesAreTheSameEverywhere: the routes of openapi.yaml, of
// template.yaml and of the local router are one set, with the same
// authentication choice.
func TestRoutesAreTheSameEverywhere(t *testing.T) {
	doc := load(t)
	var spec, public []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			spec = append(spec, key)
			if op.Security != nil && len(*op.Security) == 0 {
				public = append(public, key)
			}
		}
	}
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	var deployed, deployedPublic []string
	for _, r := range tpl.Routes() {
		deployed = append(deployed, r.Key())
		if r.Public {
			deployedPublic = append(deployedPublic, r.Key())
		}
	}
	var local, localPublic []string
	for _, r := range httpapi.Routes {
		local = append(local, r.Key())
		if r.Public {
			localPublic = append(localPublic, r.Key())
		}
	}
	for _, s := range [][]string{spec, public, deployed, deployedPublic, local, localPublic} {
		sort.Strings(s)
	}
	if !slices.Equal(spec, deployed) || !slices.Equal(spec, local) {
		t.Fatalf("routes differ:\nopenapi.yaml  %v\ntemplate.yaml %v\nlocal router  %v", spec, deployed, local)
	}
	if !slices.Equal(public, deployedPublic) || !slices.Equal(public, localPublic) {
		t.Fatalf("public routes differ: %v %v %v", public, deployedPublic, localPublic)
	}
}

// TestErrorCodesAreTheDomains: the spec's error codes are billing.Codes.
func TestErrorCodesAreTheDomains(t *testing.T) {
	doc := load(t)
	codes := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	var spec, domain []string
	for _, c := range codes {
		spec = append(spec, c.(string))
	}
	for _, c := range billing.Codes {
		domain = append(domain, string(c))
	}
	sort.Strings(spec)
	sort.Strings(domain)
	if !slices.Equal(spec, domain) {
		t.Fatalf("openapi.yaml codes %v\nbilling.Codes      %v", strings.Join(spec, " "), strings.Join(domain, " "))
	}
}

// TestCORSIsTheTemplates: the CORS rules openapi.yaml states (x-cors) are
// the template's CorsConfiguration, which API Gateway and the local API
// apply.
func TestCORSIsTheTemplates(t *testing.T) {
	doc := load(t)
	var stated struct {
		AllowHeaders  []string `json:"allowHeaders"`
		AllowMethods  []string `json:"allowMethods"`
		ExposeHeaders []string `json:"exposeHeaders"`
		MaxAge        int      `json:"maxAge"`
	}
	raw, err := json.Marshal(doc.Extensions["x-cors"])
	if err != nil || json.Unmarshal(raw, &stated) != nil || len(stated.AllowHeaders) == 0 {
		t.Fatalf("openapi.yaml states no x-cors: %s %v", raw, err)
	}
	// The rules the template gives a front end's origin (none without one).
	tpl, err := localapi.CORSFromTemplate([]string{"https://billing.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what           string
		stated, served []string
	}{
		{"allowed headers", stated.AllowHeaders, tpl.AllowHeaders},
		{"methods", stated.AllowMethods, tpl.AllowMethods},
		{"exposed headers", stated.ExposeHeaders, tpl.ExposeHeaders},
	} {
		if !slices.Equal(c.stated, c.served) {
			t.Errorf("CORS %s: openapi.yaml %v, template.yaml %v", c.what, c.stated, c.served)
		}
	}
	if stated.MaxAge != tpl.MaxAge {
		t.Errorf("CORS max age: openapi.yaml %d, template.yaml %d", stated.MaxAge, tpl.MaxAge)
	}
}
