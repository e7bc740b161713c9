package devconsole

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/docs"
	"github.com/clinicpay/payments/internal/billing"
)

// TestEveryErrorCodeIsWorded: every error code the API can return has its
// wording in French and in English in the console's dictionary, so that
// staff never read a bare code or the API's English text; a new code in
// internal/billing/errors.go fails here until it is worded.
func TestEveryErrorCodeIsWorded(t *testing.T) {
	src, err := static.ReadFile("static/assets/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	frAt, enAt := strings.Index(text, "\n  fr: {"), strings.Index(text, "\n  en: {")
	if frAt < 0 || enAt < frAt {
		t.Fatal("i18n.js: no fr then en dictionary")
	}
	blocks := map[string]string{"fr": text[frAt:enAt], "en": text[enAt:]}
	key := regexp.MustCompile(`'err\.([a-z_]+)':\s*'((?:[^'\\]|\\.)*)'`)
	for lang, block := range blocks {
		worded := map[string]string{}
		for _, m := range key.FindAllStringSubmatch(block, -1) {
			worded[m[1]] = m[2]
		}
		for _, c := range billing.Codes {
			if strings.TrimSpace(worded[string(c)]) == "" {
				t.Errorf("%s: error code %s has no wording (add 'err.%s' to i18n.js)", lang, c, c)
			}
		}
		for code := range worded {
			if !slices.Contains(billing.Codes, billing.Code(code)) && code != "network_error" {
				t.Errorf("%s: 'err.%s' words a code the API does not have", lang, code)
			}
		}
	}
}

// TestHelpIsServed: the console's help link opens the help rendered, in
// either language, and no other.
// Every screenshot the help pages show is shipped with them.
func TestHelpImagesExist(t *testing.T) {
	for _, lang := range []string{"fr", "en"} {
		src, err := docs.Help.ReadFile("help/" + lang + ".md")
		if err != nil {
			t.Fatal(err)
		}
		refs := regexp.MustCompile(`\]\((images/[^)]+)\)`).FindAllStringSubmatch(string(src), -1)
		if len(refs) == 0 {
			t.Errorf("%s.md shows no screenshot", lang)
		}
		for _, m := range refs {
			if _, err := fs.Stat(docs.Help, "help/"+m[1]); err != nil {
				t.Errorf("%s.md: %s: %v", lang, m[1], err)
			}
		}
	}
}

func TestHelpIsServed(t *testing.T) {
	h := New(Config{Company: "clinic-demo"})
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/help/fr", 200, "<h2>Les paiements sont inscrits automatiquement</h2>"},
		{"/help/en", 200, "<h2>Payments are recorded automatically</h2>"},
		{"/help/de", 404, ""},
		{"/help/images/confirm-remove.png", 200, "\x89PNG"},
		{"/help/images/nothing.png", 404, ""},
		{"/help/images/..%2fen.md", 404, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		r.Host = "localhost:3001"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %.300s", tc.path, w.Code, w.Body)
		}
	}
}
