package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

type companyRecord struct {
	PK              string               `dynamodbav:"pk"`
	SK              string               `dynamodbav:"sk"`
	ID              string               `dynamodbav:"id"`
	Name            string               `dynamodbav:"name"`
	ReplyToEmail    string               `dynamodbav:"replyToEmail"`
	DefaultLanguage string               `dynamodbav:"defaultLanguage"`
	StripeAccountID string               `dynamodbav:"stripeAccountId,omitempty"`
	Stripe          *stripeAccountRecord `dynamodbav:"stripe,omitempty"`
	// NoReceipts is stored rather than sendReceipts so that a company saved
	// before receipts existed sends them (the default).
	NoReceipts         bool                  `dynamodbav:"noReceipts,omitempty"`
	AttachPDF          bool                  `dynamodbav:"attachPdf,omitempty"`
	EmailDetail        string                `dynamodbav:"emailDetail,omitempty"`
	Reminders          *reminderPolicyRecord `dynamodbav:"reminders,omitempty"`
	RemindersChangedAt time.Time             `dynamodbav:"remindersChangedAt,omitempty"`
	Address            *addressRecord        `dynamodbav:"address,omitempty"`
	Location           *locationRecord       `dynamodbav:"terminalLocation,omitempty"`
	Version            int64                 `dynamodbav:"version"`
	CreatedAt          time.Time             `dynamodbav:"createdAt"`
	UpdatedAt          time.Time             `dynamodbav:"updatedAt"`

	workIndex
}

type addressRecord struct {
	Line1      string `dynamodbav:"line1"`
	Line2      string `dynamodbav:"line2,omitempty"`
	City       string `dynamodbav:"city"`
	State      string `dynamodbav:"state"`
	PostalCode string `dynamodbav:"postalCode"`
	Country    string `dynamodbav:"country"`
}

// locationRecord is the clinic's Stripe Terminal Location, with the account
// it was made on.
type locationRecord struct {
	ID          string `dynamodbav:"id"`
	AccountID   string `dynamodbav:"accountId"`
	AddressHash string `dynamodbav:"addressHash,omitempty"`
}

type reminderPolicyRecord struct {
	BeforeDue          []int `dynamodbav:"beforeDue"`
	AfterDue           []int `dynamodbav:"afterDue"`
	IncludePaymentLink bool  `dynamodbav:"includePaymentLink"`
}

type stripeAccountRecord struct {
	ChargesEnabled    bool      `dynamodbav:"chargesEnabled"`
	DetailsSubmitted  bool      `dynamodbav:"detailsSubmitted"`
	Country           string    `dynamodbav:"country"`
	DefaultCurrency   string    `dynamodbav:"defaultCurrency"`
	Warnings          []string  `dynamodbav:"warnings"`
	Deauthorized      bool      `dynamodbav:"deauthorized,omitempty"`
	CreatedByPlatform bool      `dynamodbav:"createdByPlatform,omitempty"`
	AsOf              time.Time `dynamodbav:"asOf"`
}

// accountClaimRecord says which company holds a Stripe account: one item
// per account, written in the same transaction as the company, so two
// companies can never hold one account.
type accountClaimRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	AccountID string `dynamodbav:"accountId"`
	CompanyID string `dynamodbav:"companyId"`
}

func toCompanyRecord(c *billing.Company) companyRecord {
	r := companyRecord{
		PK: companyPK(c.ID), SK: companySK, ID: c.ID, Name: c.Name, ReplyToEmail: c.ReplyToEmail,
		DefaultLanguage: string(c.DefaultLanguage), StripeAccountID: c.StripeAccountID,
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if s := c.Stripe; s != nil {
		r.Stripe = &stripeAccountRecord{s.ChargesEnabled, s.DetailsSubmitted, s.Country, s.DefaultCurrency, s.Warnings,
			s.Deauthorized, s.CreatedByPlatform, s.AsOf}
	}
	r.NoReceipts, r.AttachPDF, r.RemindersChangedAt = !c.SendReceipts, c.AttachPDF, c.RemindersChangedAt
	if c.EmailDetail != billing.DetailLines {
		r.EmailDetail = string(c.EmailDetail)
	}
	if p := c.Reminders; !p.Empty() {
		r.Reminders = &reminderPolicyRecord{p.BeforeDue, p.AfterDue, p.IncludePaymentLink}
	}
	if a := c.Address; a != nil {
		r.Address = &addressRecord{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country}
	}
	if l := c.Location; l != nil {
		r.Location = &locationRecord{l.ID, l.AccountID, l.AddressHash}
	}
	r.workIndex = newWorkIndex(r.PK, r.SK, c.RemindersChangedAt)
	return r
}

func (r *companyRecord) company() *billing.Company {
	c := &billing.Company{
		ID: r.ID, Name: r.Name, ReplyToEmail: r.ReplyToEmail, DefaultLanguage: billing.Language(r.DefaultLanguage),
		StripeAccountID: r.StripeAccountID, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if s := r.Stripe; s != nil {
		c.Stripe = &billing.StripeAccount{ChargesEnabled: s.ChargesEnabled, DetailsSubmitted: s.DetailsSubmitted,
			Country: s.Country, DefaultCurrency: s.DefaultCurrency, Warnings: s.Warnings,
			Deauthorized: s.Deauthorized, CreatedByPlatform: s.CreatedByPlatform, AsOf: s.AsOf}
		if c.Stripe.Warnings == nil {
			c.Stripe.Warnings = []string{}
		}
	}
	c.SendReceipts, c.AttachPDF, c.RemindersChangedAt = !r.NoReceipts, r.AttachPDF, r.RemindersChangedAt
	c.EmailDetail = billing.EmailDetail(r.EmailDetail)
	if c.EmailDetail == "" {
		c.EmailDetail = billing.DetailLines
	}
	c.Reminders = billing.ReminderPolicy{BeforeDue: []int{}, AfterDue: []int{}, IncludePaymentLink: true}
	if p := r.Reminders; p != nil {
		c.Reminders = billing.ReminderPolicy{BeforeDue: nonNil(p.BeforeDue), AfterDue: nonNil(p.AfterDue), IncludePaymentLink: p.IncludePaymentLink}
	}
	if a := r.Address; a != nil {
		c.Address = &billing.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	if l := r.Location; l != nil {
		c.Location = &billing.TerminalLocation{ID: l.ID, AccountID: l.AccountID, AddressHash: l.AddressHash}
	}
	return c
}

func nonNil(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}
