package docs_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
)

// TestHelpNamesWhatExists: every route and error code the help pages name
// exists in the API, and both languages name the same ones, so the help
// cannot send staff or the technical team to something gone or renamed.
func TestHelpNamesWhatExists(t *testing.T) {
	route := regexp.MustCompile("`((?:GET|PUT|POST|DELETE|PATCH) /[^`]*)`")
	code := regexp.MustCompile("`([a-z]+(?:_[a-z]+)+)`")
	var routes []string
	for _, r := range httpapi.Routes {
		routes = append(routes, r.Key())
	}
	named := map[string][]string{}
	for _, lang := range []string{"fr", "en"} {
		src, err := docs.Help.ReadFile("help/" + lang + ".md")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range route.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(routes, m[1]) {
				t.Errorf("%s.md names %q, which is no route of the API", lang, m[1])
			}
			named[lang] = append(named[lang], m[1])
		}
		for _, m := range code.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(billing.Codes, billing.Code(m[1])) {
				t.Errorf("%s.md names %q, which is no error code of the API", lang, m[1])
			}
			named[lang] = append(named[lang], m[1])
		}
	}
	if len(named["fr"]) < 5 || !slices.Equal(named["fr"], named["en"]) {
		t.Errorf("the help pages name different things:\nfr %v\nen %v", named["fr"], named["en"])
	}
}
