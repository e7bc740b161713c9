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

// sampleReceipt is a realistic receipt in a language, with everything shown:
// the second payment of the sample invoice, which settles it.
func sampleReceipt(lang string) Receipt {
	inv := sample(lang)
	v := Receipt{
		Language: lang, Clinic: inv.Clinic, PatientName: inv.PatientName, Number: inv.Number,
		AmountPaid: "250,00 $", PaidOn: "27 novembre 2026", Method: "Visa •••• 4242",
		Total: inv.Total, BalanceLeft: "0,00 $", Lines: inv.Lines,
		ReplyTo: inv.ReplyTo, Reference: "pi_3QxYzA2eZvKYlo2C0a1b2c3d",
	}
	if lang == English {
		v.AmountPaid, v.PaidOn, v.BalanceLeft = "$250.00", "November 27, 2026", "$0.00"
	}
	return v
}

// receiptGoldenCases are the receipt in both languages: with and without
// the payment method and the reference; a summary (no lines), paid by
// pre-authorized debit (bank unknown) with a balance left; a debit naming
// its bank; and hostile values in every field.
func receiptGoldenCases() map[string]Receipt {
	cases := map[string]Receipt{}
	for _, lang := range []string{French, English} {
		for _, method := range []bool{true, false} {
			for _, ref := range []bool{true, false} {
				v, name := sampleReceipt(lang), "receipt-"+lang
				name += map[bool]string{true: "-method", false: "-nomethod"}[method]
				name += map[bool]string{true: "-ref", false: "-noref"}[ref]
				if !method {
					v.Method = ""
				}
				if !ref {
					v.Reference = ""
				}
				cases[name] = v
			}
		}
		v := sampleReceipt(lang)
		v.Lines = nil
		v.Method = map[string]string{French: "Débit préautorisé •••• 6789", English: "Pre-authorized debit •••• 6789"}[lang]
		v.AmountPaid = map[string]string{French: "125,00 $", English: "$125.00"}[lang]
		v.BalanceLeft = v.AmountPaid
		cases["receipt-"+lang+"-summary"] = v

		// A pre-authorized debit, as billing's methodText names it: the
		// bank and the debited account's last four, no card.
		v = sampleReceipt(lang)
		v.Method = map[string]string{French: "Débit préautorisé – TD Canada Trust •••• 6789",
			English: "Pre-authorized debit – TD Canada Trust •••• 6789"}[lang]
		cases["receipt-"+lang+"-debit"] = v

		v = sampleReceipt(lang)
		v.Clinic, v.PatientName, v.Number = "Clinique "+hostile, hostile, "F-<1>"
		amount := map[string]string{French: "125,00 $", English: "$125.00"}[lang]
		v.Lines = []Line{{hostile, amount}}
		v.Total, v.AmountPaid, v.BalanceLeft = amount, amount, hostile
		v.PaidOn, v.Method, v.Reference = hostile, hostile, "pi_<1>&'\""
		v.ReplyTo = "a+b@clinique.example"
		cases["receipt-"+lang+"-hostile"] = v
	}
	return cases
}

// reminderGoldenCases are the reminder in both languages: 3 days before the
// due date, overdue by 1 day and by 7 days (singular and plural), each with
// and without the payment link; a summary (no lines); and hostile values in
// every field. The sample's note is set and never shown.
func reminderGoldenCases() map[string]Reminder {
	cases := map[string]Reminder{}
	for _, lang := range []string{French, English} {
		for _, when := range []struct {
			name    string
			overdue bool
			days    int
		}{{"due3", false, 3}, {"overdue1", true, 1}, {"overdue7", true, 7}} {
			for _, link := range []bool{true, false} {
				v := Reminder{Invoice: sample(lang), Overdue: when.overdue, Days: when.days}
				name := "reminder-" + lang + "-" + when.name + map[bool]string{true: "-link", false: "-nolink"}[link]
				if !link {
					v.PayURL = ""
				}
				cases[name] = v
			}
		}
		v := Reminder{Invoice: sample(lang), Overdue: true, Days: 7}
		v.Lines = nil
		cases["reminder-"+lang+"-summary"] = v

		v = Reminder{Invoice: goldenCases()["invoice-"+lang+"-hostile"], Overdue: true, Days: 7}
		v.DueOn = hostile
		cases["reminder-"+lang+"-hostile"] = v
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
	for name, v := range receiptGoldenCases() {
		m, err := ReceiptEmail(v)
		add(name, m, err)
	}
	for name, v := range reminderGoldenCases() {
		m, err := ReminderEmail(v)
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
