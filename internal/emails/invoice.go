package emails

import "fmt"

// Invoice is what the invoice e-mail shows. Every value is display text,
// formatted by the caller in the e-mail's language ("1 250,00 $",
// "20 novembre 2026"); the e-mail escapes each one where it lands.
type Invoice struct {
	Language    string // French or English; anything else is French
	Clinic      string
	PatientName string
	Number      string
	IssuedOn    string
	DueOn       string // "" when the invoice has no due date
	Lines       []Line // none: a summary, totals only
	Total       string
	BalanceDue  string
	NoteLines   []string // the clinic's message, a value per line; none: no message
	ReplyTo     string   // the clinic's address for questions
	PayURL      string   // the payment link, https; "" for an e-mail without the Pay button
}

// invoiceMail is the invoice e-mail's values, prepared once for both parts:
// the view's values on one line each, its words, and what is made of them.
type invoiceMail struct {
	Invoice
	mail
}

// InvoiceEmail renders the invoice e-mail. The subject names the invoice
// number and the clinic only: subjects show on lock screens and in mail
// logs. It returns ErrUnsafePayURL for a payment link that is not an https
// URL.
func InvoiceEmail(v Invoice) (Message, error) {
	if v.PayURL != "" {
		if err := checkPayURL(v.PayURL); err != nil {
			return Message{}, err
		}
	}
	m := invoiceMail{Invoice: invoiceValues(v)}
	m.Language, m.t = wording(v.Language)
	m.subject = fmt.Sprintf(m.t.InvoiceSubject, m.Number, m.Clinic)
	m.intro = fmt.Sprintf(m.t.InvoiceIntro, m.Number, m.Clinic)
	m.facts = invoiceFacts(m.t, &m.Invoice)
	m.totals = invoiceTotals(m.t, &m.Invoice)

	return m.message(invoiceHTML(&m), invoiceText(&m))
}

// invoiceValues is v with every value on one line (oneLine), for the
// e-mails that show an invoice (the invoice, the reminder). The payment link
// is kept as given: the caller checks it (checkPayURL). The language is
// left to wording.
func invoiceValues(v Invoice) Invoice {
	return Invoice{
		Clinic: oneLine(v.Clinic), PatientName: oneLine(v.PatientName), Number: oneLine(v.Number),
		IssuedOn: oneLine(v.IssuedOn), DueOn: oneLine(v.DueOn), Total: oneLine(v.Total), BalanceDue: oneLine(v.BalanceDue),
		Lines: oneLineItems(v.Lines), NoteLines: oneLines(v.NoteLines), ReplyTo: oneLine(v.ReplyTo), PayURL: v.PayURL,
	}
}

// invoiceFacts are an invoice's facts: its number, its date and its due
// date if it has one.
func invoiceFacts(t *words, v *Invoice) []row {
	facts := []row{{label: t.InvoiceNumber, value: v.Number}, {label: t.IssuedOn, value: v.IssuedOn}}
	if v.DueOn != "" {
		facts = append(facts, row{label: t.DueOn, value: v.DueOn})
	}
	return facts
}

// invoiceTotals are an invoice's totals: its total and its balance due.
func invoiceTotals(t *words, v *Invoice) []row {
	return []row{{label: t.Total, value: v.Total}, {label: t.BalanceDue, value: v.BalanceDue}}
}

// invoiceText is the plain-text part, piece for piece as invoiceHTML
// (invoice.templ).
func invoiceText(m *invoiceMail) string {
	x := m.openText(m.Clinic, m.PatientName, m.Lines)
	x.note(m.NoteLines)
	x.contact(m.ReplyTo)
	if m.PayURL != "" {
		x.pay(m.PayURL)
	}
	return x.String()
}
