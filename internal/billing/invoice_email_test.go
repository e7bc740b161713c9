package billing

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/clinicpay/payments/internal/emails"
)

func TestRenderInvoiceEmail(t *testing.T) {
	c := &Company{Name: `Clinique "L'Érable" & fils`, ReplyToEmail: "f@clinique.example"}
	inv := &Invoice{
		Number: "F-9", Currency: "cad", Total: 12500, BalanceDue: 2500, IssuedOn: "2026-11-20",
		Patient: Patient{Name: "<Jean>"}, Lines: []Line{{Description: "Physio & <soins>", Amount: 12500}},
	}
	tests := []struct {
		lang     Language
		url      string
		subject  string
		contains []string
		absent   []string
	}{
		{French, "https://buy.stripe.com/test_1", `Facture F-9 – Clinique "L'Érable" & fils`,
			[]string{"Payer la facture", "125,00 $", "25,00 $", `href="https://buy.stripe.com/test_1"`, "&lt;Jean&gt;", "Physio &amp; &lt;soins&gt;", "Clinique &#34;L&#39;Érable&#34; &amp; fils"},
			[]string{"<Jean>", "<soins>", "Date d'échéance"}},
		{English, "", `Invoice F-9 from Clinique "L'Érable" & fils`,
			[]string{"$125.00", "$25.00", "Hello &lt;Jean&gt;"},
			[]string{"Pay Invoice", "pay-invoice"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.lang), func(t *testing.T) {
			r, err := RenderInvoiceEmail(c, inv, tc.lang, "", tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != tc.subject {
				t.Errorf("subject %q", r.Subject)
			}
			for _, s := range tc.contains {
				if !strings.Contains(r.HTML, s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(r.HTML, s) {
					t.Errorf("HTML has %q", s)
				}
			}
			if tc.url != "" && !strings.Contains(r.Text, tc.url) {
				t.Error("text lacks the link")
			}
		})
	}
}

func TestRenderRefusesScriptURLs(t *testing.T) {
	c := &Company{Name: "C", ReplyToEmail: "f@clinique.example"}
	inv := &Invoice{Number: "1", Currency: "cad", Total: 1, BalanceDue: 1, IssuedOn: "2026-11-20", Lines: []Line{{Description: "x", Amount: 1}}}
	r, err := RenderInvoiceEmail(c, inv, French, "", "javascript:alert(1)")
	if !errors.Is(err, emails.ErrUnsafePayURL) || strings.Contains(r.HTML, "javascript:") {
		t.Fatalf("a javascript: URL must be refused, got %v", err)
	}
}

// TestInvoiceEmailView: billing formats what the e-mail shows in the
// reader's language; internal/emails renders it.
func TestInvoiceEmailView(t *testing.T) {
	c := &Company{Name: "Clinique Saint-Louis", ReplyToEmail: "f@clinique.example"}
	inv := &Invoice{Number: "F-9", Currency: "cad", Total: 125000, BalanceDue: 2500, IssuedOn: "2026-11-20", DueOn: "2026-12-01",
		Patient: Patient{Name: "Émilie"}, Lines: []Line{{Description: "Physio", Amount: 100000}, {Description: "Rapport", Amount: 25000}}}
	got := invoiceEmailView(c, inv, French, "  ligne 1\r\nligne 2\rligne 3\n\n", "https://buy.stripe.com/test_1")
	want := emails.Invoice{
		Language: "fr", Clinic: "Clinique Saint-Louis", PatientName: "Émilie", Number: "F-9",
		IssuedOn: "20 novembre 2026", DueOn: "1er décembre 2026",
		Lines: []emails.Line{{Description: "Physio", Amount: "1 000,00 $"}, {Description: "Rapport", Amount: "250,00 $"}},
		Total: "1 250,00 $", BalanceDue: "25,00 $", NoteLines: []string{"ligne 1", "ligne 2", "ligne 3"},
		ReplyTo: "f@clinique.example", PayURL: "https://buy.stripe.com/test_1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("French view:\n got: %+v\nwant: %+v", got, want)
	}
	inv.DueOn = ""
	got = invoiceEmailView(c, inv, English, " \n ", "")
	if got.Language != "en" || got.IssuedOn != "November 20, 2026" || got.DueOn != "" || got.Total != "$1,250.00" ||
		got.Lines[1].Amount != "$250.00" || got.NoteLines != nil || got.PayURL != "" {
		t.Fatalf("English view: %+v", got)
	}
}
