// Package invoicepdf renders a clinic invoice as a PDF, in French or English,
// in Go (github.com/go-pdf/fpdf, no external program), with the Go fonts
// embedded so that every French character prints.
//
// It knows nothing of invoices as the service stores them: the caller passes
// a Document of strings already formatted for the reader (amounts as
// billing.FormatMoney writes them, dates as the e-mail writes them): it
// imports nothing of the service. internal/wiring/pdfwire hands it to
// billing (billing.Documents) in the functions that attach the PDF only, so
// the others carry neither this code nor its fonts.
//
// The output is deterministic: the same Document gives the same bytes (fixed
// dates, no random ids), so tests and golden files can compare it. A typical
// invoice is about 33 KB, mostly the two font subsets.
//
// Licences: github.com/go-pdf/fpdf is MIT; the Go fonts are BSD-style
// (Bigelow & Holmes, see FONTS-LICENSE).
package invoicepdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Language is the language of the labels.
type Language string

// The languages a Document may be in.
const (
	French  Language = "fr"
	English Language = "en"
)

// Line is one line of the invoice, as the reader sees it.
type Line struct {
	Description string
	Amount      string // formatted: "125,00 $", "$125.00"
}

// Document is what the PDF shows. Every value is plain text, already
// formatted for the reader in Language: Render formats nothing.
type Document struct {
	Language    Language // French or English: the labels
	ClinicName  string   // required
	ClinicEmail string   // the clinic's reply-to address; optional
	PatientName string   // optional: empty leaves out the "Bill to" block
	Number      string   // the invoice number; required
	IssuedOn    string   // "1er décembre 2026", "December 1, 2026"; required
	DueOn       string   // optional

	// Summary is the clinic's emailDetail "summary" choice (Quebec's Law 25,
	// the minimum necessary: a line may name a health service, and e-mail is
	// not a secure channel). When set, Lines are never printed, whatever
	// they hold: only the number, dates, totals and the link are.
	Summary bool
	Lines   []Line

	Total      string // required
	AmountPaid string // optional: empty leaves out the row
	BalanceDue string // required

	// PaymentURL, when set, is printed as a clickable link (a PDF link
	// annotation with a URI action) and as text. Only http and https.
	PaymentURL string

	// Created is the document's creation date in the PDF's metadata (the
	// e-mail's date, say). Zero gives a fixed date, never the clock.
	Created time.Time
}

// ErrInvalid is wrapped by the errors Render returns for a Document it
// refuses.
var ErrInvalid = errors.New("invoicepdf: invalid document")

// fixedDate is the metadata date of a Document without Created.
var fixedDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Render returns the invoice as a PDF.
func Render(d Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes the invoice as a PDF to w.
func Write(w io.Writer, d Document) error {
	if err := d.check(); err != nil {
		return err
	}
	d = d.cleaned()
	return newRenderer(d).render(w)
}

func (d Document) check() error {
	if _, ok := catalog[d.Language]; !ok {
		return fmt.Errorf("%w: language %q is not fr or en", ErrInvalid, d.Language)
	}
	for _, f := range []struct{ name, value string }{
		{"ClinicName", d.ClinicName},
		{"Number", d.Number},
		{"IssuedOn", d.IssuedOn},
		{"Total", d.Total},
		{"BalanceDue", d.BalanceDue},
	} {
		if strings.TrimSpace(f.value) == "" {
			return fmt.Errorf("%w: %s is empty", ErrInvalid, f.name)
		}
	}
	if d.PaymentURL != "" {
		u, err := url.Parse(d.PaymentURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: PaymentURL is not an http(s) URL", ErrInvalid)
		}
	}
	return nil
}

// cleaned returns d with control characters turned into spaces, so a stray
// tab or line break in a name cannot break the layout, and invalid UTF-8
// into U+FFFD.
func (d Document) cleaned() Document {
	for _, p := range []*string{&d.ClinicName, &d.ClinicEmail, &d.PatientName, &d.Number,
		&d.IssuedOn, &d.DueOn, &d.Total, &d.AmountPaid, &d.BalanceDue} {
		*p = clean(*p)
	}
	if d.Summary {
		d.Lines = nil
	}
	lines := make([]Line, len(d.Lines))
	for i, l := range d.Lines {
		lines[i] = Line{Description: clean(l.Description), Amount: clean(l.Amount)}
	}
	d.Lines = lines
	return d
}

func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune { // Map turns invalid UTF-8 into U+FFFD
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}
