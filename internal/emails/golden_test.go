package emails

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden e-mails in testdata/golden")

// sample is a realistic invoice e-mail in a language, with everything shown.
func sample(lang string) Invoice {
	v := Invoice{
		Language: lang, Clinic: "Clinique Saint-Louis", PatientName: "Émilie Côté", Number: "F-2026-0042",
		IssuedOn: "20 novembre 2026", DueOn: "1er décembre 2026",
		Lines: []Line{{"Consultation", "1 000,00 $"}, {"Rapport d'évaluation", "250,00 $"}},
		Total: "1 250,00 $", BalanceDue: "250,00 $",
		NoteLines: []string{"Merci de votre visite.", "À bientôt & au plaisir!"},
		ReplyTo:   "facturation@clinique-saint-louis.example",
		PayURL:    "https://buy.stripe.com/test_8wM5kA2b3cde",
	}
	if lang == English {
		v.IssuedOn, v.DueOn = "November 20, 2026", "December 1, 2026"
		v.Lines = []Line{{"Consultation", "$1,000.00"}, {"Rapport d'évaluation", "$250.00"}}
		v.Total, v.BalanceDue = "$1,250.00", "$250.00"
	}
	return v
}

const hostile = `<script>alert("x")</script> '" onmouseover=alert(1) x="& +`

// goldenCases are every variant of the invoice e-mail in both languages:
// with and without the payment link, the due date and the clinic's note; a
// summary (no lines); and hostile values in every field.
func goldenCases() map[string]Invoice {
	cases := map[string]Invoice{}
	for _, lang := range []string{French, English} {
		for _, link := range []bool{true, false} {
			for _, due := range []bool{true, false} {
				for _, note := range []bool{true, false} {
					v, name := sample(lang), "invoice-"+lang
					name += map[bool]string{true: "-link", false: "-nolink"}[link]
					name += map[bool]string{true: "-due", false: "-nodue"}[due]
					name += map[bool]string{true: "-note", false: "-nonote"}[note]
					if !link {
						v.PayURL = ""
					}
					if !due {
						v.DueOn = ""
					}
					if !note {
						v.NoteLines = nil
					}
					cases[name] = v
				}
			}
		}
		v := sample(lang)
		v.Lines = nil
		cases["invoice-"+lang+"-summary"] = v

		v = sample(lang)
		v.Clinic, v.PatientName, v.Number = "Clinique "+hostile, hostile, "F-<1>"
		amount := map[string]string{French: "125,00 $", English: "$125.00"}[lang]
		v.Lines = []Line{{hostile, amount}}
		v.Total, v.BalanceDue = amount, amount
		v.NoteLines = []string{hostile, "</p><p>" + hostile}
		v.ReplyTo, v.PayURL = "a+b@clinique.example", "https://buy.stripe.com/test_1?a=1&b='x'"
		cases["invoice-"+lang+"-hostile"] = v
	}
	return cases
}

// goldenMessages are the golden cases of every e-mail, rendered.
func goldenMessages(t *testing.T) map[string]Message {
	t.Helper()
	ms := map[string]Message{}
	add := func(name string, m Message, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ms[name] = m
	}
	for name, v := range goldenCases() {
		m, err := InvoiceEmail(v)
		add(name, m, err)
	}
	return ms
}

// TestGolden holds every e-mail to its files in testdata/golden, byte for
// byte (go test ./internal/emails -update rewrites them; review the diff).
func TestGolden(t *testing.T) {
	want := map[string]bool{}
	for name, m := range goldenMessages(t) {
		for ext, got := range map[string]string{".html": m.HTML, ".txt": m.Text} {
			path := filepath.Join("testdata", "golden", name+ext)
			want[filepath.Base(path)] = true
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./internal/emails -update writes it)", err)
			}
			if got != string(golden) {
				t.Errorf("%s differs from the golden file (go test ./internal/emails -update, then review the diff):\n got: %q\nwant: %q",
					path, diffAt(got, string(golden)), diffAt(string(golden), got))
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			if *update {
				os.Remove(filepath.Join("testdata", "golden", e.Name()))
				continue
			}
			t.Errorf("testdata/golden/%s belongs to no case", e.Name())
		}
	}
}

// diffAt shows a string from a little before where it first differs.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(i-60, 0):min(len(a), i+80)]
}
