package billing

import (
	"fmt"
	"strings"
	"time"
)

// messages is the wording of the e-mail and of the Stripe pages in one
// language.
type messages struct {
	Subject         string // format: invoice number, clinic name
	Greeting        string
	Intro           string // format: invoice number, clinic name
	InvoiceNumber   string
	IssuedOn        string
	DueOn           string
	Description     string
	Amount          string
	Total           string
	BalanceDue      string
	NoteHeading     string
	Questions       string
	PayIntro        string
	PayButton       string
	PayFallback     string
	ProductName     string // format: invoice number
	InactiveLink    string // format: clinic name
	PaidMessage     string // format: clinic name
	Colon           string // French puts a space before a colon
	months          [12]string
	dateWithDayLast bool
}

var catalog = map[Language]messages{
	French: {
		Subject:       "Facture %s – %s",
		Colon:         " :",
		Greeting:      "Bonjour",
		Intro:         "Veuillez trouver ci-dessous le détail de votre facture %s de %s.",
		InvoiceNumber: "Numéro de facture",
		IssuedOn:      "Date de la facture",
		DueOn:         "Date d'échéance",
		Description:   "Description",
		Amount:        "Montant",
		Total:         "Total",
		BalanceDue:    "Solde à payer",
		NoteHeading:   "Message de la clinique",
		Questions:     "Pour toute question, répondez à ce courriel ou écrivez à",
		PayIntro:      "Vous pouvez payer votre facture en ligne, de façon sécurisée, en cliquant sur le bouton ci-dessous. Le paiement en ligne couvre le montant total du solde.",
		PayButton:     "Payer la facture",
		PayFallback:   "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
		ProductName:   "Facture %s",
		InactiveLink:  "Ce lien de paiement n'est plus actif. Pour payer votre facture, communiquez avec %s.",
		PaidMessage:   "Merci! Votre paiement a été reçu par %s.",
		months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
			"août", "septembre", "octobre", "novembre", "décembre"},
	},
	English: {
		Subject:       "Invoice %s from %s",
		Colon:         ":",
		Greeting:      "Hello",
		Intro:         "Please find below the details of your invoice %s from %s.",
		InvoiceNumber: "Invoice number",
		IssuedOn:      "Invoice date",
		DueOn:         "Due date",
		Description:   "Description",
		Amount:        "Amount",
		Total:         "Total",
		BalanceDue:    "Balance due",
		NoteHeading:   "Message from the clinic",
		Questions:     "If you have any questions, reply to this e-mail or write to",
		PayIntro:      "You can pay your invoice online, securely, by clicking the button below. Online payment covers the full balance due.",
		PayButton:     "Pay Invoice",
		PayFallback:   "If the button does not work, copy this link into your browser:",
		ProductName:   "Invoice %s",
		InactiveLink:  "This payment link is no longer active. To pay your invoice, please contact %s.",
		PaidMessage:   "Thank you! Your payment was received by %s.",
		months: [12]string{"January", "February", "March", "April", "May", "June", "July",
			"August", "September", "October", "November", "December"},
		dateWithDayLast: true,
	},
}

func wording(lang Language) messages {
	if m, ok := catalog[lang]; ok {
		return m
	}
	return catalog[French]
}

// formatDate writes a YYYY-MM-DD date for a reader: "1er décembre 2026",
// "December 1, 2026".
func (m messages) formatDate(s string) string {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return s
	}
	month := m.months[d.Month()-1]
	if m.dateWithDayLast {
		return fmt.Sprintf("%s %d, %d", month, d.Day(), d.Year())
	}
	if d.Day() == 1 {
		return fmt.Sprintf("1er %s %d", month, d.Year())
	}
	return fmt.Sprintf("%d %s %d", d.Day(), month, d.Year())
}

// emailView is what the templates (and the renderers, see email_render.go)
// see. Every value is plain text, escaped where it is used.
type emailView struct {
	Lang        Language
	T           messages
	Subject     string
	Clinic      string
	PatientName string
	Number      string
	IssuedOn    string
	DueOn       string
	Lines       []emailLine
	Total       string
	BalanceDue  string
	NoteLines   []string
	ReplyTo     string
	PayURL      string
}

type emailLine struct{ Description, Amount string }

// RenderedEmail is the subject and both alternatives of an invoice e-mail.
type RenderedEmail struct {
	Subject string
	Text    string
	HTML    string
}

// RenderInvoiceEmail writes the invoice e-mail for a patient. payURL is empty
// when no payment link is included. The subject names the clinic and the
// invoice number only: subjects show in lock screens and mail logs.
func RenderInvoiceEmail(c *Company, inv *Invoice, lang Language, note, payURL string) (RenderedEmail, error) {
	v := emailViewFor(c, inv, lang, note, payURL)
	return RenderedEmail{Subject: v.Subject, Text: renderText(v), HTML: renderHTML(v)}, nil
}

// emailViewFor gathers the values the e-mail shows.
func emailViewFor(c *Company, inv *Invoice, lang Language, note, payURL string) *emailView {
	t := wording(lang)
	v := emailView{
		Lang:        lang,
		T:           t,
		Subject:     fmt.Sprintf(t.Subject, inv.Number, c.Name),
		Clinic:      c.Name,
		PatientName: inv.Patient.Name,
		Number:      inv.Number,
		IssuedOn:    t.formatDate(inv.IssuedOn),
		Total:       FormatMoney(inv.Total, inv.Currency, lang),
		BalanceDue:  FormatMoney(inv.BalanceDue, inv.Currency, lang),
		ReplyTo:     c.ReplyToEmail,
		PayURL:      payURL,
	}
	v.T.Intro = fmt.Sprintf(t.Intro, inv.Number, c.Name)
	if inv.DueOn != "" {
		v.DueOn = t.formatDate(inv.DueOn)
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, emailLine{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency, lang)})
	}
	if note = strings.TrimSpace(strings.ReplaceAll(note, "\r\n", "\n")); note != "" {
		v.NoteLines = strings.Split(strings.ReplaceAll(note, "\r", "\n"), "\n")
	}
	return &v
}
