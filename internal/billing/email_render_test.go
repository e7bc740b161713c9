package billing

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
)

// The templates are the specification of the e-mail; production renders
// them by hand (email_render.go) and these tests hold it to html/template's
// and text/template's output, byte for byte.

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	specHTML = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/invoice.html.tmpl"))
	specText = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/invoice.txt.tmpl"))
)

func sameAsTemplates(t *testing.T, v *emailView) {
	t.Helper()
	var h, x bytes.Buffer
	if err := specHTML.Execute(&h, v); err != nil {
		t.Fatal(err)
	}
	if err := specText.Execute(&x, v); err != nil {
		t.Fatal(err)
	}
	if got := renderHTML(v); got != h.String() {
		t.Fatalf("HTML differs from html/template's:\n got: %q\nwant: %q", diffAt(got, h.String()), diffAt(h.String(), got))
	}
	if got := renderText(v); got != x.String() {
		t.Fatalf("text differs from text/template's:\n got: %q\nwant: %q", diffAt(got, x.String()), diffAt(x.String(), got))
	}
}

// diffAt shows a string from a little before where it first differs.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(i-40, 0)
	return a[start:min(len(a), i+60)]
}

func sampleView(lang Language, name, desc, note, url, replyTo string, due bool) *emailView {
	c := &Company{Name: "Clinique " + name, ReplyToEmail: replyTo}
	inv := &Invoice{Number: "F-" + name, Currency: "cad", Total: 125000, BalanceDue: 2500, IssuedOn: "2026-11-20",
		Patient: Patient{Name: name}, Lines: []Line{{Description: desc, Amount: 100000}, {Description: "Rapport", Amount: 25000}}}
	if due {
		inv.DueOn = "2026-12-01"
	}
	return emailViewFor(c, inv, lang, note, url)
}

func TestRenderersMatchTemplates(t *testing.T) {
	tests := []struct {
		name, desc, note, url, replyTo string
		due                            bool
	}{
		{"Marie Tremblay", "Consultation", "", "https://buy.stripe.com/test_1", "f@clinique.example", true},
		{`<script>alert("x")</script>`, `Physio & <soins> 'a' + "b"`, "ligne 1\nligne <2>\n\nfin", "", "a+b@clinique.example", false},
		{"Émilie Côté", "Ostéopathie", "  merci  ", "https://buy.stripe.com/test_x?a=1&b=é d", "é@x.example", true},
		{"x", "y", "z", "javascript:alert(1)", "f@clinique.example", false},
		{"\x00nul", "tab\there", "r\rn", "HTTPS://EXAMPLE.com/%41%zz<>\"'", "f\"@x.example", true},
	}
	for _, tc := range tests {
		for _, lang := range []Language{French, English} {
			sameAsTemplates(t, sampleView(lang, tc.name, tc.desc, tc.note, tc.url, tc.replyTo, tc.due))
		}
	}
}

func FuzzRenderersMatchTemplates(f *testing.F) {
	f.Add("Marie", "Consultation", "note", "https://buy.stripe.com/test_1", "f@clinique.example", true, false)
	f.Add("<b>", "&amp;", "a\nb", "mailto:x@y", "a+b@c.d", false, true)
	f.Fuzz(func(t *testing.T, name, desc, note, url, replyTo string, due, english bool) {
		if !utf8Valid(name, desc, note, url, replyTo) {
			return // the contract refuses invalid UTF-8 before any e-mail
		}
		lang := French
		if english {
			lang = English
		}
		sameAsTemplates(t, sampleView(lang, name, desc, note, url, replyTo, due))
	})
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			return false
		}
	}
	return true
}
