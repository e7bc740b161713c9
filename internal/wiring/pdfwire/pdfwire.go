// Package pdfwire gives billing the invoice's PDF (internal/invoicepdf).
// Only the functions that attach it (the invoice e-mail, the reminders)
// import it, so the others do not carry the PDF code and its fonts.
package pdfwire

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/invoicepdf"
)

// Documents renders invoices as PDFs.
func Documents() billing.Documents { return documents{} }

type documents struct{}

func (documents) InvoicePDF(d billing.InvoiceDocument) ([]byte, error) {
	doc := invoicepdf.Document{
		Language: invoicepdf.Language(d.Language), ClinicName: d.ClinicName, ClinicEmail: d.ClinicEmail,
		PatientName: d.PatientName, Number: d.Number, IssuedOn: d.IssuedOn, DueOn: d.DueOn, Summary: d.Summary,
		Total: d.Total, AmountPaid: d.AmountPaid, BalanceDue: d.BalanceDue, PaymentURL: d.PaymentURL, Created: d.Created,
	}
	for _, l := range d.Lines {
		doc.Lines = append(doc.Lines, invoicepdf.Line{Description: l.Description, Amount: l.Amount})
	}
	return invoicepdf.Render(doc)
}
