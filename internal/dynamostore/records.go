package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// The records below are the stored schema. They are kept apart from the
// domain types so that renaming a Go field never silently renames an
// attribute in a live table.

// Key layout: one partition per billing company, so a tenant's data is
// always addressed through its own partition key.
const (
	companySK     = "COMPANY"
	invoicePrefix = "INV#"
)

func companyPK(companyID string) string { return "CO#" + companyID }
func invoiceSK(invoiceID string) string { return invoicePrefix + invoiceID }

type companyRecord struct {
	PK              string               `dynamodbav:"pk"`
	SK              string               `dynamodbav:"sk"`
	ID              string               `dynamodbav:"id"`
	Name            string               `dynamodbav:"name"`
	ReplyToEmail    string               `dynamodbav:"replyToEmail"`
	DefaultLanguage string               `dynamodbav:"defaultLanguage"`
	StripeAccountID string               `dynamodbav:"stripeAccountId,omitempty"`
	Stripe          *stripeAccountRecord `dynamodbav:"stripe,omitempty"`
	CreatedAt       time.Time            `dynamodbav:"createdAt"`
	UpdatedAt       time.Time            `dynamodbav:"updatedAt"`
}

type stripeAccountRecord struct {
	ChargesEnabled  bool     `dynamodbav:"chargesEnabled"`
	Country         string   `dynamodbav:"country"`
	DefaultCurrency string   `dynamodbav:"defaultCurrency"`
	Warnings        []string `dynamodbav:"warnings"`
}

type invoiceRecord struct {
	PK             string        `dynamodbav:"pk"`
	SK             string        `dynamodbav:"sk"`
	ID             string        `dynamodbav:"id"`
	Number         string        `dynamodbav:"number"`
	Currency       string        `dynamodbav:"currency"`
	Total          int64         `dynamodbav:"total"`
	BalanceDue     int64         `dynamodbav:"balanceDue"`
	IssuedOn       string        `dynamodbav:"issuedOn"`
	DueOn          string        `dynamodbav:"dueOn,omitempty"`
	Patient        patientRecord `dynamodbav:"patient"`
	Lines          []lineRecord  `dynamodbav:"lines"`
	Links          []linkRecord  `dynamodbav:"links,omitempty"`
	Emails         []emailRecord `dynamodbav:"emails,omitempty"`
	Plan           *planRecord   `dynamodbav:"plan,omitempty"`
	LastGeneration int           `dynamodbav:"lastGeneration"`
	Version        int64         `dynamodbav:"version"`
	CreatedAt      time.Time     `dynamodbav:"createdAt"`
	UpdatedAt      time.Time     `dynamodbav:"updatedAt"`
}

type patientRecord struct {
	Name     string `dynamodbav:"name"`
	Email    string `dynamodbav:"email"`
	Language string `dynamodbav:"language,omitempty"`
}

type lineRecord struct {
	Description string `dynamodbav:"description"`
	Amount      int64  `dynamodbav:"amount"`
}

type linkRecord struct {
	Generation int       `dynamodbav:"generation"`
	ID         string    `dynamodbav:"id"`
	URL        string    `dynamodbav:"url"`
	PriceID    string    `dynamodbav:"priceId"`
	AccountID  string    `dynamodbav:"accountId"`
	Amount     int64     `dynamodbav:"amount"`
	Currency   string    `dynamodbav:"currency"`
	Language   string    `dynamodbav:"language"`
	Status     string    `dynamodbav:"status"`
	Reason     string    `dynamodbav:"reason,omitempty"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	EndedAt    time.Time `dynamodbav:"endedAt,omitempty"`
}

type emailRecord struct {
	MessageID      string    `dynamodbav:"messageId"`
	To             string    `dynamodbav:"to"`
	Language       string    `dynamodbav:"language"`
	SentAt         time.Time `dynamodbav:"sentAt"`
	LinkGeneration int       `dynamodbav:"linkGeneration,omitempty"`
}

type planRecord struct {
	Token      string          `dynamodbav:"token"`
	LeaseUntil time.Time       `dynamodbav:"leaseUntil"`
	Create     *linkSpecRecord `dynamodbav:"create,omitempty"`
	End        *linkEndRecord  `dynamodbav:"end,omitempty"`
	Email      bool            `dynamodbav:"email,omitempty"`
}

type linkSpecRecord struct {
	Generation          int    `dynamodbav:"generation"`
	AccountID           string `dynamodbav:"accountId"`
	Amount              int64  `dynamodbav:"amount"`
	Currency            string `dynamodbav:"currency"`
	Language            string `dynamodbav:"language"`
	ProductName         string `dynamodbav:"productName"`
	InactiveMessage     string `dynamodbav:"inactiveMessage"`
	ConfirmationMessage string `dynamodbav:"confirmationMessage"`
}

type linkEndRecord struct {
	Generation int    `dynamodbav:"generation"`
	Status     string `dynamodbav:"status"`
	Reason     string `dynamodbav:"reason,omitempty"`
}

func toCompanyRecord(c *billing.Company) companyRecord {
	r := companyRecord{
		PK: companyPK(c.ID), SK: companySK, ID: c.ID, Name: c.Name, ReplyToEmail: c.ReplyToEmail,
		DefaultLanguage: string(c.DefaultLanguage), StripeAccountID: c.StripeAccountID,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if s := c.Stripe; s != nil {
		r.Stripe = &stripeAccountRecord{s.ChargesEnabled, s.Country, s.DefaultCurrency, s.Warnings}
	}
	return r
}

func (r *companyRecord) company() *billing.Company {
	c := &billing.Company{
		ID: r.ID, Name: r.Name, ReplyToEmail: r.ReplyToEmail, DefaultLanguage: billing.Language(r.DefaultLanguage),
		StripeAccountID: r.StripeAccountID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if s := r.Stripe; s != nil {
		c.Stripe = &billing.StripeAccount{ChargesEnabled: s.ChargesEnabled, Country: s.Country, DefaultCurrency: s.DefaultCurrency, Warnings: s.Warnings}
		if c.Stripe.Warnings == nil {
			c.Stripe.Warnings = []string{}
		}
	}
	return c
}

func toInvoiceRecord(inv *billing.Invoice) invoiceRecord {
	r := invoiceRecord{
		PK: companyPK(inv.CompanyID), SK: invoiceSK(inv.ID), ID: inv.ID,
		Number: inv.Number, Currency: inv.Currency, Total: inv.Total, BalanceDue: inv.BalanceDue,
		IssuedOn: inv.IssuedOn, DueOn: inv.DueOn,
		Patient:        patientRecord{inv.Patient.Name, inv.Patient.Email, string(inv.Patient.Language)},
		LastGeneration: inv.LastGeneration, Version: inv.Version, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt,
	}
	for _, l := range inv.Lines {
		r.Lines = append(r.Lines, lineRecord{l.Description, l.Amount})
	}
	for _, l := range inv.Links {
		r.Links = append(r.Links, linkRecord{
			Generation: l.Generation, ID: l.ID, URL: l.URL, PriceID: l.PriceID, AccountID: l.AccountID,
			Amount: l.Amount, Currency: l.Currency, Language: string(l.Language), Status: string(l.Status),
			Reason: l.Reason, CreatedAt: l.CreatedAt, EndedAt: l.EndedAt,
		})
	}
	for _, e := range inv.Emails {
		r.Emails = append(r.Emails, emailRecord{e.MessageID, e.To, string(e.Language), e.SentAt, e.LinkGeneration})
	}
	if p := inv.Plan; p != nil {
		r.Plan = &planRecord{Token: p.Token, LeaseUntil: p.LeaseUntil, Email: p.Email}
		if c := p.Create; c != nil {
			r.Plan.Create = &linkSpecRecord{c.Generation, c.AccountID, c.Amount, c.Currency, string(c.Language),
				c.ProductName, c.InactiveMessage, c.ConfirmationMessage}
		}
		if e := p.End; e != nil {
			r.Plan.End = &linkEndRecord{e.Generation, string(e.Status), e.Reason}
		}
	}
	return r
}

func (r *invoiceRecord) invoice(companyID string) *billing.Invoice {
	inv := &billing.Invoice{
		CompanyID: companyID, ID: r.ID, Number: r.Number, Currency: r.Currency, Total: r.Total,
		BalanceDue: r.BalanceDue, IssuedOn: r.IssuedOn, DueOn: r.DueOn,
		Patient:        billing.Patient{Name: r.Patient.Name, Email: r.Patient.Email, Language: billing.Language(r.Patient.Language)},
		LastGeneration: r.LastGeneration, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, l := range r.Lines {
		inv.Lines = append(inv.Lines, billing.Line{Description: l.Description, Amount: l.Amount})
	}
	for _, l := range r.Links {
		inv.Links = append(inv.Links, billing.Link{
			Generation: l.Generation, ID: l.ID, URL: l.URL, PriceID: l.PriceID, AccountID: l.AccountID,
			Amount: l.Amount, Currency: l.Currency, Language: billing.Language(l.Language),
			Status: billing.LinkStatus(l.Status), Reason: l.Reason, CreatedAt: l.CreatedAt, EndedAt: l.EndedAt,
		})
	}
	for _, e := range r.Emails {
		inv.Emails = append(inv.Emails, billing.SentEmail{
			MessageID: e.MessageID, To: e.To, Language: billing.Language(e.Language), SentAt: e.SentAt, LinkGeneration: e.LinkGeneration,
		})
	}
	if p := r.Plan; p != nil {
		inv.Plan = &billing.LinkPlan{Token: p.Token, LeaseUntil: p.LeaseUntil, Email: p.Email}
		if c := p.Create; c != nil {
			inv.Plan.Create = &billing.LinkSpec{
				Generation: c.Generation, AccountID: c.AccountID, Amount: c.Amount, Currency: c.Currency,
				Language: billing.Language(c.Language), ProductName: c.ProductName,
				InactiveMessage: c.InactiveMessage, ConfirmationMessage: c.ConfirmationMessage,
			}
		}
		if e := p.End; e != nil {
			inv.Plan.End = &billing.LinkEnd{Generation: e.Generation, Status: billing.LinkStatus(e.Status), Reason: e.Reason}
		}
	}
	return inv
}
