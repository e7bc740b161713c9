package httpapi

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// The views are the JSON the contract shows; domain types carry no JSON tags
// so that storage and wire formats can change independently.

type companyView struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	ReplyToEmail    string           `json:"replyToEmail"`
	DefaultLanguage billing.Language `json:"defaultLanguage"`
	StripeAccountID *string          `json:"stripeAccountId"`
	ChargesEnabled  *bool            `json:"chargesEnabled,omitempty"`
	Country         *string          `json:"country,omitempty"`
	DefaultCurrency *string          `json:"defaultCurrency,omitempty"`
	Warnings        []string         `json:"warnings"`
	CreatedAt       string           `json:"createdAt"`
	UpdatedAt       string           `json:"updatedAt"`
}

func viewCompany(c *billing.Company) companyView {
	v := companyView{
		ID: c.ID, Name: c.Name, ReplyToEmail: c.ReplyToEmail, DefaultLanguage: c.DefaultLanguage,
		Warnings: c.Warnings(), CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt),
	}
	if c.Connected() {
		v.StripeAccountID = &c.StripeAccountID
		if s := c.Stripe; s != nil {
			v.ChargesEnabled, v.Country, v.DefaultCurrency = &s.ChargesEnabled, &s.Country, &s.DefaultCurrency
		}
	}
	return v
}

type invoiceView struct {
	ID          string      `json:"id"`
	Number      string      `json:"number"`
	Currency    string      `json:"currency"`
	Total       int64       `json:"total"`
	BalanceDue  int64       `json:"balanceDue"`
	IssuedOn    string      `json:"issuedOn"`
	DueOn       *string     `json:"dueOn"`
	Patient     patientView `json:"patient"`
	Lines       []lineView  `json:"lines"`
	Status      string      `json:"status"`
	PaymentLink *linkView   `json:"paymentLink"`
	Links       []linkView  `json:"links"`
	Emails      []emailView `json:"emails"`
	CreatedAt   string      `json:"createdAt"`
	UpdatedAt   string      `json:"updatedAt"`
}

type patientView struct {
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Language *billing.Language `json:"language"`
}

type lineView struct {
	Description string `json:"description"`
	Amount      int64  `json:"amount"`
}

type linkView struct {
	ID        string             `json:"id"`
	URL       string             `json:"url"`
	Amount    int64              `json:"amount"`
	Currency  string             `json:"currency"`
	Status    billing.LinkStatus `json:"status"`
	Reason    string             `json:"reason,omitempty"`
	CreatedAt string             `json:"createdAt"`
	EndedAt   string             `json:"endedAt,omitempty"`
}

type emailView struct {
	MessageID     string           `json:"messageId"`
	To            string           `json:"to"`
	Language      billing.Language `json:"language"`
	SentAt        string           `json:"sentAt"`
	PaymentLinkID *string          `json:"paymentLinkId"`
}

// sentEmailView is the 202 answer to POST /invoices/{id}/emails.
type sentEmailView struct {
	MessageID   string           `json:"messageId"`
	To          string           `json:"to"`
	Language    billing.Language `json:"language"`
	SentAt      string           `json:"sentAt"`
	PaymentLink *linkView        `json:"paymentLink"`
}

func viewLink(l *billing.Link) *linkView {
	if l == nil {
		return nil
	}
	v := &linkView{
		ID: l.ID, URL: l.URL, Amount: l.Amount, Currency: l.Currency, Status: l.Status,
		Reason: l.Reason, CreatedAt: timestamp(l.CreatedAt),
	}
	if !l.EndedAt.IsZero() {
		v.EndedAt = timestamp(l.EndedAt)
	}
	return v
}

func viewInvoice(inv *billing.Invoice) invoiceView {
	v := invoiceView{
		ID: inv.ID, Number: inv.Number, Currency: inv.Currency, Total: inv.Total, BalanceDue: inv.BalanceDue,
		IssuedOn: inv.IssuedOn,
		Patient:  patientView{Name: inv.Patient.Name, Email: inv.Patient.Email},
		Lines:    make([]lineView, 0, len(inv.Lines)),
		Status:   inv.Status(), PaymentLink: viewLink(inv.ActiveLink()),
		Links:     make([]linkView, 0, len(inv.Links)),
		Emails:    make([]emailView, 0, len(inv.Emails)),
		CreatedAt: timestamp(inv.CreatedAt), UpdatedAt: timestamp(inv.UpdatedAt),
	}
	if inv.DueOn != "" {
		v.DueOn = &inv.DueOn
	}
	if inv.Patient.Language != "" {
		v.Patient.Language = &inv.Patient.Language
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, lineView{Description: l.Description, Amount: l.Amount})
	}
	linkIDs := map[int]string{}
	for i := range inv.Links {
		v.Links = append(v.Links, *viewLink(&inv.Links[i]))
		linkIDs[inv.Links[i].Generation] = inv.Links[i].ID
	}
	// Newest first: staff look for the last e-mail sent.
	for i := len(inv.Emails) - 1; i >= 0; i-- {
		e := inv.Emails[i]
		ev := emailView{MessageID: e.MessageID, To: e.To, Language: e.Language, SentAt: timestamp(e.SentAt)}
		if id, ok := linkIDs[e.LinkGeneration]; ok && e.LinkGeneration > 0 {
			ev.PaymentLinkID = &id
		}
		v.Emails = append(v.Emails, ev)
	}
	return v
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
