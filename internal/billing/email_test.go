package billing

import (
	"strings"
	"testing"
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
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Fatal("html/template should neutralise a javascript: URL")
	}
}
