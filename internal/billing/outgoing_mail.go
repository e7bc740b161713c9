package billing

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/clinicpay/payments/internal/emails"
)

// Every e-mail leaves through sendMail: rendered in the patient's language
// with the clinic's emailDetail, the PDF attached when the clinic asks for
// it, and a reference header naming the invoice and the attempt, which
// SES's delivery events repeat.

// preparedMail is an e-mail decided before the invoice is held for it.
type preparedMail struct {
	kind      EmailKind
	to        string
	lang      Language
	wantsLink bool // carries the Pay button (a reminder under a policy that says so)
	pdf       bool // attaches the invoice
	render    func(inv *Invoice, payURL string) (emails.Message, error)
}

// prepareOutbound decides what an outbound says, or errNothingToSend when
// it is no longer owed.
func (s *Service) prepareOutbound(ctx context.Context, inv *Invoice, c *Company, o *Outbound, now time.Time) (preparedMail, error) {
	lang := inv.language(c)
	switch o.Kind {
	case EmailReceipt:
		p := inv.payment(o.PaymentIntentID)
		if p == nil || !p.counts() {
			return preparedMail{}, errNothingToSend
		}
		method := s.paymentMethod(ctx, inv, c, p)
		return preparedMail{kind: EmailReceipt, to: inv.Patient.Email, lang: lang,
			render: func(inv *Invoice, _ string) (emails.Message, error) {
				if p := inv.payment(o.PaymentIntentID); p != nil {
					return emails.ReceiptEmail(receiptView(c, inv, p, method, lang))
				}
				return emails.Message{}, errNothingToSend
			}}, nil
	case EmailReminder:
		if inv.reminderBlocker(c) != "" {
			return preparedMail{}, errNothingToSend
		}
		step := ReminderStep{Key: strings.TrimPrefix(o.Key, "reminder-")}
		overdue, days := step.overdue()
		if due, err := time.Parse(dateLayout, inv.DueOn); err == nil && overdue {
			// The days it is really overdue when it leaves (a step sent
			// late, after a policy change, says how late it is).
			days = max(1, int(now.Sub(due)/(24*time.Hour)))
		}
		return preparedMail{kind: EmailReminder, to: inv.Patient.Email, lang: lang, wantsLink: c.Reminders.IncludePaymentLink,
			pdf: c.AttachPDF && s.documents != nil,
			render: func(inv *Invoice, payURL string) (emails.Message, error) {
				return emails.ReminderEmail(emails.Reminder{Invoice: invoiceEmailView(c, inv, lang, "", payURL), Overdue: overdue, Days: days})
			}}, nil
	}
	return preparedMail{}, errNothingToSend
}

// paymentMethod asks Stripe how a payment was made; a receipt without the
// method is better than no receipt, so a failure leaves it out.
func (s *Service) paymentMethod(ctx context.Context, inv *Invoice, c *Company, p *Payment) *PaymentMethod {
	if s.payments == nil || p.PaymentIntentID == "" {
		return nil
	}
	account := c.StripeAccountID
	if l := inv.link(p.LinkGeneration); l != nil {
		account = l.AccountID
	}
	m, err := s.payments.PaymentMethod(ctx, account, p.PaymentIntentID)
	if err != nil {
		return nil
	}
	return m
}

// sendMail renders the e-mail for the invoice as it is now, attaches its
// PDF when asked, and sends it under ref. It returns SES's message id.
func (s *Service) sendMail(ctx context.Context, inv *Invoice, c *Company, m preparedMail, link *Link, ref mailRef) (string, error) {
	payURL := ""
	if link != nil && (m.wantsLink || m.kind == EmailInvoice) {
		payURL = link.URL
	}
	// A failure before the mailer is called sent nothing (ErrNotSent): a
	// marked attempt is cleared, not left to wait for SES's events.
	msg, err := m.render(inv, payURL)
	if err != nil {
		return "", &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("%w: %w", ErrNotSent, err)}
	}
	out := OutgoingEmail{FromName: c.Name, To: m.to, ReplyTo: c.ReplyToEmail, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML,
		Language: m.lang, Ref: ref.String()}
	if m.pdf && s.documents != nil {
		pdf, err := s.documents.InvoicePDF(invoiceDocument(c, inv, m.lang, payURL, s.clock()))
		if err != nil {
			return "", &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("%w: invoice pdf: %w", ErrNotSent, err)}
		}
		out.Attachments = []Attachment{{Filename: pdfName(inv, m.lang), ContentType: "application/pdf", Data: pdf}}
	}
	return s.mailer.Send(ctx, out)
}

// pdfName is the attachment's file name: facture-F-2026-0042.pdf, with
// anything but letters, digits, dots and dashes in the number replaced.
func pdfName(inv *Invoice, lang Language) string {
	base := "facture-"
	if lang == English {
		base = "invoice-"
	}
	var b strings.Builder
	for _, r := range inv.Number {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), ".")
	if name == "" {
		name = inv.ID
	}
	if len(name) > 80 {
		name = name[:80]
	}
	return base + name + ".pdf"
}

// receiptView is what the receipt shows, formatted.
func receiptView(c *Company, inv *Invoice, p *Payment, m *PaymentMethod, lang Language) emails.Receipt {
	v := emails.Receipt{
		Language: string(lang), Clinic: c.Name, PatientName: inv.Patient.Name, Number: inv.Number,
		AmountPaid: FormatMoney(p.Amount, p.Currency, lang), PaidOn: formatDate(lang, p.PaidAt.Format(dateLayout)),
		Total: FormatMoney(inv.Total, inv.Currency, lang), BalanceLeft: FormatMoney(inv.BalanceDue, inv.Currency, lang),
		ReplyTo: c.ReplyToEmail, Reference: p.PaymentIntentID, Method: methodText(m, lang),
	}
	if p.PaidAt.IsZero() {
		v.PaidOn = formatDate(lang, p.RecordedAt.Format(dateLayout))
	}
	if !c.summary() {
		for _, l := range inv.Lines {
			v.Lines = append(v.Lines, emails.Line{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency, lang)})
		}
	}
	return v
}

// cardBrands are the brands' names as people write them.
var cardBrands = map[string]string{
	"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
	"diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay", "interac": "Interac",
}

// methodText writes how a patient paid: "Visa •••• 4242", "Débit
// préautorisé – TD Canada Trust •••• 6789" (the bank left out when
// unknown); "" when unknown or when Stripe's values are not what a receipt
// may show (a last four that is not four digits at most).
func methodText(m *PaymentMethod, lang Language) string {
	if m == nil || !lastFour(m.Last4) {
		return ""
	}
	name := ""
	switch m.Type {
	case "card":
		name = cardBrands[strings.ToLower(m.Brand)]
		if name == "" {
			name = map[Language]string{French: "Carte", English: "Card"}[lang]
		}
	case "acss_debit":
		name = map[Language]string{French: "Débit préautorisé", English: "Pre-authorized debit"}[lang]
		if bank := bankName(m.Bank); bank != "" {
			name += " – " + bank
		}
	default:
		return ""
	}
	return name + " •••• " + m.Last4
}

// lastFour: one to four digits, the most a receipt shows of a number.
func lastFour(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// bankName is a bank's name on one line, at most 60 characters; "" when
// it has no letter (Stripe's value is shown, never trusted).
func bankName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = strings.TrimSpace(string(r[:60]))
	}
	if !strings.ContainsFunc(s, unicode.IsLetter) {
		return ""
	}
	return s
}

// invoiceDocument is what the invoice's PDF shows, formatted as the e-mail.
func invoiceDocument(c *Company, inv *Invoice, lang Language, payURL string, now time.Time) InvoiceDocument {
	d := InvoiceDocument{
		Language: lang, ClinicName: c.Name, ClinicEmail: c.ReplyToEmail, PatientName: inv.Patient.Name, Number: inv.Number,
		IssuedOn: formatDate(lang, inv.IssuedOn), Summary: c.summary(), Total: FormatMoney(inv.Total, inv.Currency, lang),
		BalanceDue: FormatMoney(inv.BalanceDue, inv.Currency, lang), PaymentURL: payURL, Created: now,
	}
	if inv.DueOn != "" {
		d.DueOn = formatDate(lang, inv.DueOn)
	}
	if paid := inv.NetPaidOnline(); paid > 0 {
		d.AmountPaid = FormatMoney(paid, inv.Currency, lang)
	}
	if !d.Summary {
		for _, l := range inv.Lines {
			d.Lines = append(d.Lines, DocumentLine{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency, lang)})
		}
	}
	return d
}
