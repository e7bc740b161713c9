package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// pdfText extracts an attached PDF's text with poppler's pdftotext (make
// test installs it), and keeps the PDF and a PNG of its first page in
// .build/pdf (git-ignored) to look at.
func pdfText(t *testing.T, name string, content string) (string, int) {
	t.Helper()
	pdf, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := samtemplate.RepoRoot()
	dir := filepath.Join(root, ".build", "pdf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (make poppler installs it): %v", err)
	}
	if png, err := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", path, filepath.Join(dir, name)).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, png)
	}
	return string(out), len(pdf)
}

// TestInvoicePDFAttached: a clinic that asks for it gets the invoice as a
// PDF with its e-mails (the invoice e-mail and the reminders), in the
// patient's language, accents intact, amounts as in the e-mail, the link
// clickable; a clinic that chose the summary sends no line description, in
// the e-mail or the PDF.
func TestInvoicePDFAttached(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lang, detail string
		want, never        []string
	}{
		{"fr-lines", "fr", "lines", []string{"Clinique Saint-Louis", "Hélène Côté", "Consultation", "125,00 $", "Solde"}, nil},
		{"en-lines", "en", "lines", []string{"Clinique Saint-Louis", "Hélène Côté", "Consultation", "$125.00", "Balance due"}, nil},
		{"fr-summary", "fr", "summary", []string{"Clinique Saint-Louis", "125,00 $"}, []string{"Consultation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t, tc.lang)
			settings(t, tn, map[string]any{"attachPdf": true, "emailDetail": tc.detail, "defaultLanguage": tc.lang})
			addr := patientAddress()
			id := invoiceFor(t, tn, addr, 12500, "2026-12-20", tc.lang)
			sent := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"includePaymentLink": true}).want(t, 202)
			link := sent.str("paymentLink", "url")
			m := mailByID(t, sent.str("messageId"))
			if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/pdf" ||
				!strings.HasSuffix(m.Attachments[0].Filename, "-F-"+id+".pdf") {
				t.Fatalf("attachments: %+v", m.Attachments)
			}
			text, size := pdfText(t, "email-"+tc.name, m.Attachments[0].Content)
			for _, w := range append(tc.want, "F-"+id, link) {
				if !strings.Contains(text, w) {
					t.Errorf("the PDF lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(text, w) || strings.Contains(m.Body.Text, w) || strings.Contains(m.Body.HTML, w) {
					t.Errorf("%q shows with emailDetail %s", w, tc.detail)
				}
			}
			if size > 200_000 {
				t.Errorf("the PDF is %d bytes", size)
			}
			t.Logf("%s: PDF of %d bytes", tc.name, size)
			emails, _ := emailsOf(t, tn, id)
			if emails[0]["pdf"] != true {
				t.Fatalf("%v", emails[0])
			}
		})
	}

	t.Run("reminder", func(t *testing.T) {
		t.Parallel()
		tn := newTenant(t, "fr")
		settings(t, tn, map[string]any{"attachPdf": true, "reminders": map[string]any{"afterDue": []int{1}}})
		due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 3)
		addr := patientAddress()
		id := invoiceFor(t, tn, addr, 12500, due.Format("2006-01-02"), "fr")
		runScheduler(t, tn, due.AddDate(0, 0, 1).Add(14*time.Hour))
		mails := mailsTo(t, addr)
		if len(mails) != 1 || len(mails[0].Attachments) != 1 {
			t.Fatalf("%+v", mails)
		}
		text, _ := pdfText(t, "reminder-fr", mails[0].Attachments[0].Content)
		if !strings.Contains(text, "F-"+id) || !strings.Contains(text, "Consultation") {
			t.Fatalf("%s", text)
		}
	})
}
