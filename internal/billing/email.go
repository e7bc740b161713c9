package billing

import (
	"fmt"
	"strings"
	"time"

	"github.com/clinicpay/payments/internal/emails"
)

// The invoice e-mail: billing formats what it shows in the patient's
// language (amounts, dates, the note's lines) and internal/emails writes it
// (wording, templates, escaping).

// RenderInvoiceEmail writes the invoice e-mail for a patient. payURL is empty
// when no payment link is included; one that is not an https URL is refused.
func RenderInvoiceEmail(c *Company, inv *Invoice, lang Language, note, payURL string) (emails.Message, error) {
	return emails.InvoiceEmail(invoiceEmailView(c, inv, lang, note, payURL))
}

// invoiceEmailView gathers the values the e-mail shows, formatted.
func invoiceEmailView(c *Company, inv *Invoice, lang Language, note, payURL string) emails.Invoice {
	v := emails.Invoice{
		Language:    string(lang),
		Clinic:      c.Name,
		PatientName: inv.Patient.Name,
		Number:      inv.Number,
		IssuedOn:    formatDate(lang, inv.IssuedOn),
		Total:       FormatMoney(inv.Total, inv.Currency, lang),
		BalanceDue:  FormatMoney(inv.BalanceDue, inv.Currency, lang),
		ReplyTo:     c.ReplyToEmail,
		PayURL:      payURL,
	}
	if inv.DueOn != "" {
		v.DueOn = formatDate(lang, inv.DueOn)
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, emails.Line{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency, lang)})
	}
	if note = strings.TrimSpace(strings.ReplaceAll(note, "\r\n", "\n")); note != "" {
		v.NoteLines = strings.Split(strings.ReplaceAll(note, "\r", "\n"), "\n")
	}
	return v
}

// months are the month names of each language, for dates in e-mails.
var months = map[Language][12]string{
	French: {"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
		"août", "septembre", "octobre", "novembre", "décembre"},
	English: {"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"},
}

// formatDate writes a YYYY-MM-DD date for a reader: "1er décembre 2026",
// "December 1, 2026".
func formatDate(lang Language, s string) string {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return s
	}
	if lang == English {
		return fmt.Sprintf("%s %d, %d", months[English][d.Month()-1], d.Day(), d.Year())
	}
	month := months[French][d.Month()-1]
	if d.Day() == 1 {
		return fmt.Sprintf("1er %s %d", month, d.Year())
	}
	return fmt.Sprintf("%d %s %d", d.Day(), month, d.Year())
}
