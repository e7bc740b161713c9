package emails

import "fmt"

// Receipt is what the payment receipt shows. Every value is display text formatted by the caller.
type Receipt struct {
	Language    string // French or English; anything else is French
	Clinic      string
	PatientName string
	Number      string // invoice number
	AmountPaid  string // "125,00 $"
	PaidOn      string // "27 novembre 2026"
	Method      string // "Visa •••• 4242", "Débit préautorisé •••• 6789"; "" when unknown (row left out)
	Total       string // the invoice's total
	BalanceLeft string // what remains due after this payment ("0,00 $")
	Lines       []Line // none: a summary (the clinic's emailDetail "summary": no line descriptions)
	ReplyTo     string
	Reference   string // Stripe's payment reference (pi_…), shown small; may be ""
}

// receiptMail is the receipt's values, prepared once for both parts: the
// view's values on one line each, its words, and what is made of them.
type receiptMail struct {
	Receipt
	mail
}

// ReceiptEmail renders the payment receipt, sent when a patient's online
// payment succeeds. The subject names the invoice number and the clinic
// only, as the invoice e-mail's: no amount, no patient. It has no Pay
// button.
func ReceiptEmail(v Receipt) (Message, error) {
	m := receiptMail{Receipt: Receipt{
		Clinic: oneLine(v.Clinic), PatientName: oneLine(v.PatientName), Number: oneLine(v.Number),
		AmountPaid: oneLine(v.AmountPaid), PaidOn: oneLine(v.PaidOn), Method: oneLine(v.Method),
		Total: oneLine(v.Total), BalanceLeft: oneLine(v.BalanceLeft), Lines: oneLineItems(v.Lines),
		ReplyTo: oneLine(v.ReplyTo), Reference: oneLine(v.Reference),
	}}
	m.Language, m.t = wording(v.Language)
	m.subject = fmt.Sprintf(m.t.ReceiptSubject, m.Number, m.Clinic)
	m.intro = fmt.Sprintf(m.t.ReceiptIntro, m.AmountPaid, m.Number)
	m.facts = []row{{label: m.t.InvoiceNumber, value: m.Number}, {label: m.t.PaidOn, value: m.PaidOn}}
	if m.Method != "" {
		m.facts = append(m.facts, row{label: m.t.PaymentMethod, value: m.Method})
	}
	if m.Reference != "" {
		m.facts = append(m.facts, row{label: m.t.PaymentReference, value: m.Reference, small: true})
	}
	m.totals = []row{{label: m.t.Total, value: m.Total}, {label: m.t.AmountPaid, value: m.AmountPaid}, {label: m.t.BalanceLeft, value: m.BalanceLeft}}

	return m.message(receiptHTML(&m), receiptText(&m))
}

// receiptText is the plain-text part, piece for piece as receiptHTML
// (receipt.templ).
func receiptText(m *receiptMail) string {
	x := m.openText(m.Clinic, m.PatientName, m.Lines)
	x.contact(m.ReplyTo)
	return x.String()
}
