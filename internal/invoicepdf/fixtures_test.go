package invoicepdf

import (
	"fmt"
	"strings"
)

// The documents the tests and the samples render.

const payURL = "https://buy.stripe.com/test_6oE9Bn3Yq0Zk8Ug5kk?prefilled_email=patient%40example.com"

// threeLines is a typical invoice: three services, French.
func threeLines() Document {
	return Document{
		Language:    French,
		ClinicName:  "Clinique de physiothérapie Sainte-Anne-des-Pins",
		ClinicEmail: "facturation@cliniquesainteanne.ca",
		PatientName: "Éloïse Bélanger-Côté",
		Number:      "F-2026-0042",
		IssuedOn:    "1er décembre 2026",
		DueOn:       "31 décembre 2026",
		Lines: []Line{
			{Description: "Évaluation initiale en physiothérapie « genou droit »", Amount: "125,00 $"},
			{Description: "Traitement de suivi (45 min) — thérapie manuelle et exercices à domicile", Amount: "95,00 $"},
			{Description: "Orthèse du genou, ajustée à l'essai", Amount: "1 030,00 $"},
		},
		Total:      "1 250,00 $",
		AmountPaid: "200,00 $",
		BalanceDue: "1 050,00 $",
		PaymentURL: payURL,
	}
}

func threeLinesEnglish() Document {
	d := threeLines()
	d.Language = English
	d.IssuedOn, d.DueOn = "December 1, 2026", "December 31, 2026"
	d.Lines = []Line{
		{Description: "Initial physiotherapy assessment (right knee)", Amount: "$125.00"},
		{Description: "Follow-up treatment (45 min) — manual therapy and home exercises", Amount: "$95.00"},
		{Description: "Knee brace, fitted at the patient's request", Amount: "$1,030.00"},
	}
	d.Total, d.AmountPaid, d.BalanceDue = "$1,250.00", "$200.00", "$1,050.00"
	return d
}

func summary(d Document) Document {
	d.Summary = true
	return d
}

// manyLines has n lines, some with descriptions long enough to wrap.
func manyLines(n int) Document {
	d := threeLines()
	d.Lines = nil
	for i := 1; i <= n; i++ {
		desc := fmt.Sprintf("Séance n° %d : traitement de physiothérapie", i)
		if i%7 == 0 {
			desc += " — réadaptation après chirurgie de l'épaule, exercices d'amplitude, renforcement progressif et conseils ergonomiques pour le poste de travail à l'ordinateur, suivi de l'évolution et ajustement du programme à domicile"
		}
		d.Lines = append(d.Lines, Line{Description: desc, Amount: "10,00 $"})
	}
	total := fmt.Sprintf("%d,00 $", 10*n)
	if 10*n >= 1000 {
		total = fmt.Sprintf("%d %03d,00 $", 10*n/1000, 10*n%1000)
	}
	d.Total, d.AmountPaid, d.BalanceDue = total, "", total
	return d
}

var samples = []struct {
	name string
	doc  func() Document
}{
	{"fr-lines", threeLines},
	{"en-lines", threeLinesEnglish},
	{"fr-summary", func() Document { return summary(threeLines()) }},
	{"en-summary-nolink", func() Document {
		d := summary(threeLinesEnglish())
		d.PaymentURL, d.DueOn, d.AmountPaid, d.PatientName = "", "", "", ""
		return d
	}},
	{"fr-100-lines", func() Document { return manyLines(100) }},
	{"fr-limits", limits},
}

// limits has every value at the contract's limit: names of 200 characters,
// a number of 64, descriptions of 500 (one without a space), the largest
// amounts.
func limits() Document {
	d := threeLines()
	d.ClinicName = runes(strings.Repeat("Centre de réadaptation ", 9), 200)
	d.PatientName = runes(strings.Repeat("Marie-Ève Gagnon-Thériault ", 8), 200)
	d.Number = runes(strings.Repeat("F-0123456789", 6), 64)
	d.Lines = []Line{
		{Description: runes(strings.Repeat("Séance d'ergothérapie à domicile, évaluation « fonctionnelle » ", 8), 500), Amount: "999 999,99 $"},
		{Description: strings.Repeat("x", 500), Amount: "1,00 $"},
	}
	d.Total, d.AmountPaid, d.BalanceDue = "1 000 000,99 $", "0,00 $", "1 000 000,99 $"
	d.PaymentURL = "https://buy.stripe.com/test_" + strings.Repeat("0123456789abcdef", 12)
	return d
}

// runes is the first n characters of s.
func runes(s string, n int) string { return string([]rune(s)[:n]) }
