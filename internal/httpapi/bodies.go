package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/clinicpay/payments/internal/billing"
)

// The bodies are the JSON the contract accepts, decoded strictly by
// call.decode (which reads the field names from these tags), then turned
// into the domain's inputs. The domain's input types carry no JSON tags, as
// its views carry none: the wire format is this package's alone.

// invoiceBody is the body of PUT /invoices/{invoiceId}.
type invoiceBody struct {
	Number     string       `json:"number"`
	Currency   string       `json:"currency"`
	Total      *int64       `json:"total"`
	BalanceDue *int64       `json:"balanceDue"`
	IssuedOn   string       `json:"issuedOn"`
	DueOn      *string      `json:"dueOn"`
	Patient    *patientBody `json:"patient"`
	Lines      []lineBody   `json:"lines"`
}

type patientBody struct {
	Name     string           `json:"name"`
	Email    string           `json:"email"`
	Language billing.Language `json:"language"`
}

type lineBody struct {
	Description string `json:"description"`
	Amount      *int64 `json:"amount"`
}

func (b *invoiceBody) input() *billing.InvoiceInput {
	in := &billing.InvoiceInput{
		Number: b.Number, Currency: b.Currency, Total: b.Total, BalanceDue: b.BalanceDue,
		IssuedOn: b.IssuedOn, DueOn: b.DueOn,
	}
	if p := b.Patient; p != nil {
		in.Patient = &billing.PatientInput{Name: p.Name, Email: p.Email, Language: p.Language}
	}
	if b.Lines != nil {
		in.Lines = make([]billing.LineInput, len(b.Lines))
		for i, l := range b.Lines {
			in.Lines[i] = billing.LineInput{Description: l.Description, Amount: l.Amount}
		}
	}
	return in
}

// companyBody is the body of PUT /billing-companies/{companyId}.
type companyBody struct {
	Name            string           `json:"name"`
	ReplyToEmail    string           `json:"replyToEmail"`
	DefaultLanguage billing.Language `json:"defaultLanguage"`
	// StripeAccountID tells absent (keep) from null (disconnect).
	StripeAccountID optionalString       `json:"stripeAccountId"`
	SendReceipts    *bool                `json:"sendReceipts"`
	AttachPDF       *bool                `json:"attachPdf"`
	EmailDetail     *billing.EmailDetail `json:"emailDetail"`
	Reminders       *reminderPolicyBody  `json:"reminders"`
	Address         *addressBody         `json:"address"`
}

// addressBody is a clinic's street address, the address object of
// companyBody.
type addressBody struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// readerBody is the body of POST /readers.
type readerBody struct {
	RegistrationCode string `json:"registrationCode"`
	Label            string `json:"label"`
}

func (b *readerBody) input() *billing.ReaderInput {
	return &billing.ReaderInput{RegistrationCode: b.RegistrationCode, Label: b.Label}
}

// reminderPolicyBody is the reminders object of companyBody:
// {"beforeDue":[3],"afterDue":[1,7,14],"includePaymentLink":true}.
type reminderPolicyBody struct {
	BeforeDue          []int `json:"beforeDue"`
	AfterDue           []int `json:"afterDue"`
	IncludePaymentLink *bool `json:"includePaymentLink"`
}

func (b *companyBody) input() *billing.CompanyInput {
	in := &billing.CompanyInput{
		Name: b.Name, ReplyToEmail: b.ReplyToEmail, DefaultLanguage: b.DefaultLanguage,
		StripeAccountID: billing.OptionalString(b.StripeAccountID),
		SendReceipts:    b.SendReceipts, AttachPDF: b.AttachPDF, EmailDetail: b.EmailDetail,
	}
	if r := b.Reminders; r != nil {
		in.Reminders = &billing.ReminderPolicyInput{BeforeDue: r.BeforeDue, AfterDue: r.AfterDue, IncludePaymentLink: r.IncludePaymentLink}
	}
	if a := b.Address; a != nil {
		in.Address = &billing.AddressInput{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	return in
}

// optionalString is a JSON field that may be absent, null or a string.
type optionalString billing.OptionalString

// UnmarshalJSON implements json.Unmarshaler; it only runs when the key is
// present, which is how absent differs from null.
func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	o.Value = &s
	return nil
}

// emailBody is the body of POST /invoices/{invoiceId}/emails.
type emailBody struct {
	IncludePaymentLink bool              `json:"includePaymentLink"`
	To                 *string           `json:"to"`
	Language           *billing.Language `json:"language"`
	Message            *string           `json:"message"`
}

// input is the e-mail request; requestKey is its Idempotency-Key, if any.
func (b *emailBody) input(requestKey string) *billing.EmailInput {
	return &billing.EmailInput{
		IncludePaymentLink: b.IncludePaymentLink, To: b.To, Language: b.Language, Message: b.Message,
		RequestKey: requestKey,
	}
}

// remindersBody is the body of PUT /invoices/{invoiceId}/reminders.
type remindersBody struct {
	Paused *bool `json:"paused"`
}

func (b *remindersBody) input() *billing.RemindersInput {
	return &billing.RemindersInput{Paused: b.Paused}
}
