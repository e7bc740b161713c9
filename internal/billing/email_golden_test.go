package billing

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden e-mails in testdata/golden")

// goldenCases are the invoice e-mail's variants in both languages: with and
// without the payment link, the due date and the clinic's note, and one with
// hostile values in every field.
func goldenCases() map[string]*emailView {
	cases := map[string]*emailView{}
	for _, lang := range []Language{French, English} {
		for _, link := range []bool{true, false} {
			for _, due := range []bool{true, false} {
				for _, note := range []bool{true, false} {
					c := &Company{Name: "Clinique Saint-Louis", ReplyToEmail: "facturation@clinique-saint-louis.example"}
					inv := &Invoice{Number: "F-2026-0042", Currency: "cad", Total: 125000, BalanceDue: 25000, IssuedOn: "2026-11-20",
						Patient: Patient{Name: "Émilie Côté"},
						Lines:   []Line{{Description: "Consultation", Amount: 100000}, {Description: "Rapport d'évaluation", Amount: 25000}}}
					name, url, text := "invoice-"+string(lang), "", ""
					if link {
						name, url = name+"-link", "https://buy.stripe.com/test_8wM5kA2b3cde"
					} else {
						name += "-nolink"
					}
					if due {
						name, inv.DueOn = name+"-due", "2026-12-01"
					} else {
						name += "-nodue"
					}
					if note {
						name, text = name+"-note", "Merci de votre visite.\nÀ bientôt & au plaisir!"
					} else {
						name += "-nonote"
					}
					cases[name] = emailViewFor(c, inv, lang, text, url)
				}
			}
		}
		hostile := `<script>alert("x")</script> '" onmouseover=alert(1) x="& +`
		c := &Company{Name: "Clinique " + hostile, ReplyToEmail: "a+b@clinique.example"}
		inv := &Invoice{Number: "F-<1>", Currency: "cad", Total: 12500, BalanceDue: 12500, IssuedOn: "2026-11-20", DueOn: "2026-12-01",
			Patient: Patient{Name: hostile}, Lines: []Line{{Description: hostile, Amount: 12500}}}
		cases["invoice-"+string(lang)+"-hostile"] = emailViewFor(c, inv, lang, hostile+"\n</p><p>"+hostile,
			"https://buy.stripe.com/test_1?a=1&b='x'")
	}
	return cases
}

// TestInvoiceEmailGolden holds the rendered e-mails to the files in
// testdata/golden (go test -run Golden -update rewrites them).
func TestInvoiceEmailGolden(t *testing.T) {
	for name, v := range goldenCases() {
		sameAsTemplates(t, v)
		for ext, got := range map[string]string{".html": renderHTML(v), ".txt": renderText(v)} {
			path := filepath.Join("testdata", "golden", name+ext)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file:\n got: %q\nwant: %q", path, diffAt(got, string(want)), diffAt(string(want), got))
			}
		}
	}
}
