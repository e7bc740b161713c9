package invoicepdf

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The PDFs are read back with poppler-utils (pdftotext, pdfinfo): the
// reference extractor, the one a patient's viewer behaves like, and the
// package that also gives pdftoppm for the samples. `make test` installs it
// (make poppler).

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: run `make poppler` (Debian package poppler-utils)", name)
	}
}

// writeTemp writes pdf to a file of the test's temporary folder.
func writeTemp(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	needTool(t, name)
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

// extractText is the text of the PDF in its physical layout.
func extractText(t *testing.T, pdf []byte) string {
	return run(t, "pdftotext", "-enc", "UTF-8", "-layout", writeTemp(t, pdf), "-")
}

// word is one word of the PDF with its box in points from the page's top
// left, as pdftotext -bbox gives it.
type word struct {
	page                   int
	xMin, yMin, xMax, yMax float64
	text                   string
}

var (
	pageRe = regexp.MustCompile(`<page width="([\d.]+)" height="([\d.]+)">`)
	wordRe = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
)

func extractWords(t *testing.T, pdf []byte) []word {
	out := run(t, "pdftotext", "-enc", "UTF-8", "-bbox", writeTemp(t, pdf), "-")
	var words []word
	page := 0
	for _, l := range strings.Split(out, "\n") {
		if pageRe.MatchString(l) {
			page++
			continue
		}
		m := wordRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		words = append(words, word{page: page, xMin: f(m[1]), yMin: f(m[2]), xMax: f(m[3]), yMax: f(m[4]), text: html.UnescapeString(m[5])})
	}
	return words
}

// textLine is the words at one height of one page, left to right.
type textLine struct {
	page  int
	y     float64
	words []word
}

func (l textLine) String() string {
	s := make([]string, len(l.words))
	for i, w := range l.words {
		s[i] = w.text
	}
	return strings.Join(s, " ")
}

// lines groups words into lines: same page, same baseline (yMax).
func lines(words []word) []textLine {
	ws := append([]word(nil), words...)
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].page != ws[j].page {
			return ws[i].page < ws[j].page
		}
		if math.Abs(ws[i].yMax-ws[j].yMax) > 1 {
			return ws[i].yMax < ws[j].yMax
		}
		return ws[i].xMin < ws[j].xMin
	})
	var out []textLine
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].page == w.page && math.Abs(out[n-1].y-w.yMax) <= 1 {
			out[n-1].words = append(out[n-1].words, w)
			continue
		}
		out = append(out, textLine{page: w.page, y: w.yMax, words: []word{w}})
	}
	return out
}

var spaces = regexp.MustCompile(`\s+`)

func normalize(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// threeLinesWithPunctuation is threeLines with every character French text
// needs: accents, cedilla, capitals with accents, guillemets, both
// apostrophes.
func threeLinesWithPunctuation() Document {
	d := threeLines()
	d.Lines[2].Description = "Orthèse du genou, ajustée à l’essai (reçu n° 12, modèle d'Émilie)"
	return d
}

func TestRenderContent(t *testing.T) {
	fr := threeLinesWithPunctuation()
	en := threeLinesEnglish()
	frDescriptions := []string{fr.Lines[0].Description, fr.Lines[1].Description, fr.Lines[2].Description}
	enDescriptions := []string{en.Lines[0].Description, en.Lines[1].Description, en.Lines[2].Description}

	frCommon := []string{
		"FACTURE", "FACTURÉ À", "Numéro de facture", "Date de la facture", "Date d’échéance",
		"Clinique de physiothérapie", "Sainte-Anne-des-Pins", "facturation@cliniquesainteanne.ca",
		"Éloïse Bélanger-Côté", "F-2026-0042", "1er décembre 2026", "31 décembre 2026",
		"Total", "1 250,00 $", "Montant payé", "200,00 $", "Solde à payer", "1 050,00 $",
		"Pour toute question, écrivez à facturation@cliniquesainteanne.ca", "Page 1 de 1",
	}
	frLink := []string{"Paiement en ligne", "de façon sécurisée", "Payer la facture", payURL}
	enCommon := []string{
		"INVOICE", "BILL TO", "Invoice number", "Invoice date", "Due date",
		"Éloïse Bélanger-Côté", "F-2026-0042", "December 1, 2026", "December 31, 2026",
		"Total", "$1,250.00", "Amount paid", "$200.00", "Balance due", "$1,050.00",
		"If you have any questions, write to facturation@cliniquesainteanne.ca", "Page 1 of 1",
	}
	enLink := []string{"Pay online", "Pay Invoice", payURL}
	frWords := []string{"Facturé", "Solde à payer", "Paiement", "Montant", "Page 1 de"}
	enWords := []string{"Bill to", "BILL TO", "Balance due", "Pay online", "Amount", "Page 1 of"}

	enSummaryNoLink := summary(en)
	enSummaryNoLink.PaymentURL = ""

	cases := []struct {
		name string
		doc  Document
		want []string
		not  []string
	}{
		{"french with lines", fr,
			concat(frCommon, frLink, []string{"Description", "Montant", "125,00 $", "95,00 $", "1 030,00 $"}, frDescriptions),
			concat(enWords, []string{catalog[French].SummaryNote})},
		{"english with lines", en,
			concat(enCommon, enLink, []string{"Description", "Amount", "$125.00", "$95.00", "$1,030.00"}, enDescriptions),
			concat(frWords, []string{catalog[English].SummaryNote})},
		{"french summary", summary(fr),
			concat(frCommon, frLink, []string{catalog[French].SummaryNote}),
			concat(frDescriptions, enWords, []string{"Description", "125,00 $", "95,00 $", "1 030,00 $", "Évaluation", "Orthèse", "genou"})},
		{"english summary without link", enSummaryNoLink,
			concat(enCommon, []string{catalog[English].SummaryNote}),
			concat(enDescriptions, enLink, frWords, []string{"Description", "$125.00", "$95.00", "$1,030.00", "Knee", "https://"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pdf, err := Render(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			text := extractText(t, pdf)
			flat := normalize(text)
			for _, s := range c.want {
				// Wrapped text is checked on the flattened text; amounts
				// and short values must also appear exactly as given.
				if !strings.Contains(text, s) && !strings.Contains(flat, normalize(s)) {
					t.Errorf("missing %q in:\n%s", s, text)
				}
			}
			for _, s := range c.not {
				if strings.Contains(flat, normalize(s)) {
					t.Errorf("unexpected %q in:\n%s", s, text)
				}
			}
		})
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// annotRe reads fpdf's link annotations (page dictionaries are not
// compressed): the rectangle, in points from the bottom left, and the URI.
var annotRe = regexp.MustCompile(`/Subtype\s*/Link\s*/Rect\s*\[([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\][^<]*/A\s*<<\s*/S\s*/URI\s*/URI\s*\(([^)]*)\)`)

type annot struct {
	x1, y1, x2, y2 float64 // normalised: x1<x2, y1<y2, from the bottom left
	uri            string
}

func annotations(pdf []byte) []annot {
	var out []annot
	for _, m := range annotRe.FindAllSubmatch(pdf, -1) {
		f := func(b []byte) float64 { v, _ := strconv.ParseFloat(string(b), 64); return v }
		a := annot{x1: f(m[1]), y1: f(m[2]), x2: f(m[3]), y2: f(m[4]), uri: string(m[5])}
		if a.x1 > a.x2 {
			a.x1, a.x2 = a.x2, a.x1
		}
		if a.y1 > a.y2 {
			a.y1, a.y2 = a.y2, a.y1
		}
		out = append(out, a)
	}
	return out
}

func (a annot) covers(w word, pageH float64) bool {
	cx, cy := (w.xMin+w.xMax)/2, pageH-(w.yMin+w.yMax)/2
	return a.x1 <= cx && cx <= a.x2 && a.y1 <= cy && cy <= a.y2
}

func TestPaymentLinkIsAnAnnotation(t *testing.T) {
	longURL := "https://buy.stripe.com/test_" + strings.Repeat("0123456789abcdef", 12) + "?client_reference_id=inv-42"
	withLong := threeLinesEnglish()
	withLong.PaymentURL = longURL
	noLink := threeLines()
	noLink.PaymentURL = ""

	cases := []struct {
		name   string
		doc    Document
		url    string // "" = no payment link expected
		button string
	}{
		{"french", threeLines(), payURL, "Payer la facture"},
		{"english", threeLinesEnglish(), payURL, "Pay Invoice"},
		{"french summary", summary(threeLines()), payURL, "Payer la facture"},
		{"long URL wraps, every line a link", withLong, longURL, "Pay Invoice"},
		{"no link", noLink, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pdf, err := Render(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			// poppler's own reading of the annotations.
			info := run(t, "pdfinfo", "-url", writeTemp(t, pdf))
			annotated := strings.Contains(info, "Annotation    "+c.url)
			if c.url == "" {
				if strings.Contains(info, "https://") {
					t.Fatalf("a link without a payment URL:\n%s", info)
				}
				if !strings.Contains(info, "mailto:facturation@cliniquesainteanne.ca") {
					t.Fatalf("the clinic's address is not a mailto link:\n%s", info)
				}
				return
			}
			if !annotated {
				t.Fatalf("%s is not a link annotation:\n%s", c.url, info)
			}

			// The button and every line of the printed URL are covered by
			// a URI annotation for the URL.
			words := extractWords(t, pdf)
			var links []annot
			for _, a := range annotations(pdf) {
				if a.uri == c.url {
					links = append(links, a)
				}
			}
			covered := func(w word) bool {
				for _, a := range links {
					if a.covers(w, 792) {
						return true
					}
				}
				return false
			}
			var button []word
			for _, l := range lines(words) {
				if l.String() == c.button {
					button = l.words
				}
			}
			var urlText strings.Builder
			for _, w := range words {
				if strings.HasPrefix(w.text, "https://") || (urlText.Len() > 0 && !strings.Contains(w.text, " ") && strings.HasPrefix(c.url, urlText.String()+w.text)) {
					if !covered(w) {
						t.Errorf("URL text %q is not inside a link", w.text)
					}
					urlText.WriteString(w.text)
				}
			}
			if button == nil {
				t.Fatalf("no %q button", c.button)
			}
			for _, w := range button {
				if !covered(w) {
					t.Errorf("the %q button is not a link (annotations %+v)", c.button, links)
				}
			}
			if urlText.String() != c.url {
				t.Errorf("printed URL %q, want %q", urlText.String(), c.url)
			}
		})
	}
}

// TestAmountsRightAligned: every amount of the table and of the totals ends
// at the same x, and the description column never reaches the amounts.
func TestAmountsRightAligned(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  Document
	}{
		{"french", threeLinesWithPunctuation()},
		{"english", threeLinesEnglish()},
		{"french 100 lines", manyLines(100)},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.doc
			pdf, err := Render(d)
			if err != nil {
				t.Fatal(err)
			}
			amounts := map[string]bool{d.Total: true, d.BalanceDue: true}
			if d.AmountPaid != "" {
				amounts[d.AmountPaid] = true
			}
			for _, l := range d.Lines {
				amounts[l.Amount] = true
			}
			totals := 2 // total, balance due
			if d.AmountPaid != "" {
				totals++
			}
			var right []float64
			for _, l := range lines(extractWords(t, pdf)) {
				s := l.String()
				for a := range amounts {
					if strings.HasSuffix(s, " "+a) {
						right = append(right, l.words[len(l.words)-1].xMax)
						break
					}
				}
			}
			if want := len(d.Lines) + totals; len(right) != want {
				t.Fatalf("found %d lines ending with an amount, want %d", len(right), want)
			}
			for _, x := range right {
				if math.Abs(x-right[0]) > 0.5 {
					t.Fatalf("amounts end at different x: %v", right)
				}
			}
		})
	}
}

// TestManyLinesFlow: 100 lines, some long, flow onto further pages with the
// table header repeated, every description whole, in order, once, wrapped
// inside its column.
func TestManyLinesFlow(t *testing.T) {
	d := manyLines(100)
	pdf, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	words := extractWords(t, pdf)
	all := lines(words)
	pages := all[len(all)-1].page
	if pages < 3 {
		t.Fatalf("%d pages for 100 lines", pages)
	}

	// Where the amount column starts: the left edge of the header "Montant".
	amountLeft := 0.0
	for _, w := range words {
		if w.text == "Montant" {
			amountLeft = w.xMin
			break
		}
	}

	var column strings.Builder // the description column, page after page
	firstRow := map[int]float64{}
	header := map[int]float64{}
	for _, l := range all {
		for _, w := range l.words {
			if w.xMax < amountLeft {
				column.WriteString(w.text + " ")
			}
			if strings.HasPrefix(w.text, "Séance") {
				if _, ok := firstRow[l.page]; !ok {
					firstRow[l.page] = l.y
				}
			}
		}
		if s := l.String(); s == "Description Montant" {
			header[l.page] = l.y
		}
		if s := l.String(); strings.HasPrefix(s, "Pour toute question") && !strings.HasSuffix(s, fmt.Sprintf("Page %d de %d", l.page, pages)) {
			t.Errorf("page %d footer: %q", l.page, s)
		}
	}
	for p, y := range firstRow {
		hy, ok := header[p]
		if !ok || hy >= y {
			t.Errorf("page %d: no table header above the first row", p)
		}
	}
	flat := normalize(column.String())
	at := 0
	for i, l := range d.Lines {
		want := normalize(l.Description)
		n := strings.Index(flat[at:], want)
		if n < 0 {
			t.Fatalf("line %d %q not found whole, in order, in the description column", i+1, want)
		}
		at += n + len(want)
		if got := strings.Count(flat, fmt.Sprintf("Séance n° %d :", i+1)); got != 1 {
			t.Errorf("line %d printed %d times", i+1, got)
		}
	}

	// A long description takes several lines.
	ys := map[[2]float64]bool{}
	inLong := false
	for _, l := range all {
		s := l.String()
		if strings.HasPrefix(s, "Séance n° 7 :") {
			inLong = true
		} else if strings.HasPrefix(s, "Séance") {
			inLong = false
		}
		if inLong {
			ys[[2]float64{float64(l.page), l.y}] = true
		}
	}
	if len(ys) < 3 {
		t.Errorf("the long description of line 7 takes %d lines, want it wrapped on 3 or more", len(ys))
	}

	// Each page says which it is, and the continuation pages whose.
	text := extractText(t, pdf)
	for p := 1; p <= pages; p++ {
		if !strings.Contains(text, fmt.Sprintf("Page %d de %d", p, pages)) {
			t.Errorf("no \"Page %d de %d\"", p, pages)
		}
	}
	if got := strings.Count(text, "Facture F-2026-0042 (suite)"); got != pages-1 {
		t.Errorf("%d continuation headers for %d pages", got, pages)
	}
}

func TestDeterministic(t *testing.T) {
	for _, s := range samples {
		a, err := Render(s.doc())
		if err != nil {
			t.Fatal(err)
		}
		b, err := Render(s.doc())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", s.name)
		}
		if !bytes.Contains(a, []byte("/CreationDate (D:20000101000000)")) {
			t.Errorf("%s: not the fixed creation date", s.name)
		}
	}
	d := threeLines()
	d.Created = time.Date(2026, 12, 1, 14, 30, 0, 0, time.FixedZone("EST", -5*3600))
	pdf, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pdf, []byte("/CreationDate (D:20261201193000)")) {
		t.Error("Created is not the creation date (in UTC)")
	}
}

// TestSize: a typical invoice is a few tens of KB (the fonts, subset to the
// characters used, are most of it), far under SES's 10 MB for the e-mail.
func TestSize(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  Document
		max  int
	}{
		{"three lines", threeLines(), 64 << 10},
		{"100 lines", manyLines(100), 128 << 10},
	} {
		pdf, err := Render(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", c.name, len(pdf))
		if len(pdf) > c.max {
			t.Errorf("%s: %d bytes, want at most %d", c.name, len(pdf), c.max)
		}
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Document)
	}{
		{"unknown language", func(d *Document) { d.Language = "de" }},
		{"no language", func(d *Document) { d.Language = "" }},
		{"no clinic", func(d *Document) { d.ClinicName = " " }},
		{"no number", func(d *Document) { d.Number = "" }},
		{"no issue date", func(d *Document) { d.IssuedOn = "" }},
		{"no total", func(d *Document) { d.Total = "" }},
		{"no balance", func(d *Document) { d.BalanceDue = "" }},
		{"javascript link", func(d *Document) { d.PaymentURL = "javascript:alert(1)" }},
		{"relative link", func(d *Document) { d.PaymentURL = "/pay/123" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := threeLines()
			c.change(&d)
			if _, err := Render(d); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestControlCharacters: a tab or a line break in a value is a space, not
// a broken layout; invalid UTF-8 is a replacement character.
func TestControlCharacters(t *testing.T) {
	d := threeLines()
	d.PatientName = "Éloïse\tBélanger\r\nCôté"
	d.Lines[0].Description = "Évaluation\ninitiale"
	d.Lines[1].Description = "Suivi \xff bis"
	pdf, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	text := extractText(t, pdf)
	for _, s := range []string{"Éloïse Bélanger Côté", "Évaluation initiale", "Suivi \uFFFD bis"} {
		if !strings.Contains(normalize(text), s) {
			t.Errorf("missing %q in:\n%s", s, text)
		}
	}
}
