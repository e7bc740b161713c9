package httpapi

import (
	"slices"
	"strings"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// The views are the JSON the contract shows; domain types carry no JSON tags
// so that storage and wire formats can change independently.

type companyView struct {
	ID               string           `json:"id"`
	Name             string           `json:"name"`
	ReplyToEmail     string           `json:"replyToEmail"`
	DefaultLanguage  billing.Language `json:"defaultLanguage"`
	StripeAccountID  *string          `json:"stripeAccountId"`
	ChargesEnabled   *bool            `json:"chargesEnabled,omitempty"`
	DetailsSubmitted *bool            `json:"detailsSubmitted,omitempty"`
	Country          *string          `json:"country,omitempty"`
	DefaultCurrency  *string          `json:"defaultCurrency,omitempty"`
	Warnings         []string         `json:"warnings"`
	SendReceipts     bool             `json:"sendReceipts"`
	AttachPDF        bool             `json:"attachPdf"`
	EmailDetail      string           `json:"emailDetail"`
	Reminders        reminderPolicy   `json:"reminders"`
	Address          *addressView     `json:"address"`
	CreatedAt        string           `json:"createdAt"`
	UpdatedAt        string           `json:"updatedAt"`
}

// addressView is the clinic's address, null until its admin gives it.
type addressView struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

type reminderPolicy struct {
	BeforeDue          []int `json:"beforeDue"`
	AfterDue           []int `json:"afterDue"`
	IncludePaymentLink bool  `json:"includePaymentLink"`
}

func viewCompany(c *billing.Company) companyView {
	v := companyView{
		ID: c.ID, Name: c.Name, ReplyToEmail: c.ReplyToEmail, DefaultLanguage: c.DefaultLanguage,
		Warnings: c.Warnings(), CreatedAt: timestamp(c.CreatedAt), UpdatedAt: timestamp(c.UpdatedAt),
		SendReceipts: c.SendReceipts, AttachPDF: c.AttachPDF, EmailDetail: string(c.EmailDetail),
		Reminders: reminderPolicy{BeforeDue: nonNilInts(c.Reminders.BeforeDue), AfterDue: nonNilInts(c.Reminders.AfterDue),
			IncludePaymentLink: c.Reminders.IncludePaymentLink},
	}
	if v.EmailDetail == "" {
		v.EmailDetail = string(billing.DetailLines)
	}
	if c.StripeAccountID != "" {
		v.StripeAccountID = &c.StripeAccountID
	}
	if a := c.Address; a != nil {
		v.Address = &addressView{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country}
	}
	if s := c.Stripe; s != nil && c.StripeAccountID != "" {
		v.ChargesEnabled, v.DetailsSubmitted, v.Country, v.DefaultCurrency = &s.ChargesEnabled, &s.DetailsSubmitted, &s.Country, &s.DefaultCurrency
	}
	return v
}

func nonNilInts(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// onboardingView is the answer to POST /billing-companies/{id}/stripe-onboarding.
type onboardingView struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

// webhookView is the answer to a Stripe delivery.
type webhookView struct {
	Received bool                 `json:"received"`
	Outcome  billing.EventOutcome `json:"outcome"`
	Reason   string               `json:"reason,omitempty"`
}

type invoiceView struct {
	ID            string      `json:"id"`
	Number        string      `json:"number"`
	Currency      string      `json:"currency"`
	Total         int64       `json:"total"`
	BalanceDue    int64       `json:"balanceDue"`
	IssuedOn      string      `json:"issuedOn"`
	DueOn         *string     `json:"dueOn"`
	Patient       patientView `json:"patient"`
	Lines         []lineView  `json:"lines"`
	Status        string      `json:"status"`
	NetPaidOnline int64       `json:"netPaidOnline"`
	Overpaid      int64       `json:"overpaid"`
	PaymentLink   *linkView   `json:"paymentLink"`
	// PaymentLinkBlocked says why no link can be made now (the error a
	// link request would get), null when one can.
	PaymentLinkBlocked *blockerView `json:"paymentLinkBlocked"`
	Links              []linkView   `json:"links"`
	Emails             []emailView  `json:"emails"`
	// LastEmailStatus is the status of the last e-mail sent, null when
	// none was.
	LastEmailStatus *string       `json:"lastEmailStatus"`
	PendingEmails   []pendingView `json:"pendingEmails"`
	Reminders       remindersView `json:"reminders"`
	Payments        []paymentView `json:"payments"`
	ReaderPayment   *attemptView  `json:"readerPayment"` // the last reader attempt, null when none
	ReaderRefund    *attemptView  `json:"readerRefund"`  // the last refund asked of a reader, null when none
	ETag            string        `json:"etag"`
	CreatedAt       string        `json:"createdAt"`
	UpdatedAt       string        `json:"updatedAt"`
}

type blockerView struct {
	Code    billing.Code `json:"code"`
	Message string       `json:"message"`
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
	Kind          string           `json:"kind"`
	Step          string           `json:"step,omitempty"`
	To            string           `json:"to"`
	Language      billing.Language `json:"language"`
	SentAt        string           `json:"sentAt"`
	PaymentLinkID *string          `json:"paymentLinkId"`
	PDF           bool             `json:"pdf"`
	Status        string           `json:"status"`
	StatusAt      string           `json:"statusAt,omitempty"`
	BounceType    string           `json:"bounceType,omitempty"`
	BounceSubType string           `json:"bounceSubType,omitempty"`
}

// pendingView is a receipt or reminder owed and not yet recorded sent.
type pendingView struct {
	Kind     string `json:"kind"`
	Key      string `json:"key"`
	Since    string `json:"since"`
	Attempts int    `json:"attempts"`
	InFlight bool   `json:"inFlight"`
}

// remindersView is the invoice's reminders: paused or not, the next step
// that will go, or why none will.
type remindersView struct {
	Paused  bool               `json:"paused"`
	Next    *reminderStepView  `json:"next"`
	Blocked *string            `json:"blocked"`
	Plan    []reminderStepView `json:"plan"`
}

type reminderStepView struct {
	Step string `json:"step"`
	At   string `json:"at"`
	Done bool   `json:"done"`
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

// viewInvoice is the invoice as the contract shows it; company (nil when
// unknown) says whether a link can be made.
func viewInvoice(inv *billing.Invoice, company *billing.Company) invoiceView {
	v := invoiceView{
		ID: inv.ID, Number: inv.Number, Currency: inv.Currency, Total: inv.Total, BalanceDue: inv.BalanceDue,
		IssuedOn: inv.IssuedOn,
		Patient:  patientView{Name: inv.Patient.Name, Email: inv.Patient.Email},
		Lines:    make([]lineView, 0, len(inv.Lines)),
		Status:   inv.Status(), NetPaidOnline: inv.NetPaidOnline(), Overpaid: inv.Overpaid, PaymentLink: viewLink(inv.ActiveLink()),
		Payments:  make([]paymentView, 0, len(inv.Payments)),
		Links:     make([]linkView, 0, len(inv.Links)),
		ETag:      etag(inv.Version),
		CreatedAt: timestamp(inv.CreatedAt), UpdatedAt: timestamp(inv.UpdatedAt),
	}
	v.ReaderPayment = viewAttempt(inv.ReaderPayment())
	v.ReaderRefund = viewRefundAttempt(inv.ReaderRefund())
	if b := billing.LinkBlocker(inv, company); b != nil {
		v.PaymentLinkBlocked = &blockerView{Code: b.Code, Message: b.Message}
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
	for i := range inv.Payments {
		v.Payments = append(v.Payments, viewPayment(&inv.Payments[i], linkIDs))
	}
	v.Emails = viewEmails(inv.Emails, linkIDs)
	if len(v.Emails) > 0 {
		v.LastEmailStatus = &v.Emails[0].Status
	}
	v.PendingEmails = make([]pendingView, 0, len(inv.Outbox))
	for _, o := range inv.Outbox {
		v.PendingEmails = append(v.PendingEmails, pendingView{Kind: string(o.Kind), Key: o.Key, Since: timestamp(o.CreatedAt),
			Attempts: o.Tries, InFlight: o.Attempt != ""})
	}
	v.Reminders = viewReminders(inv, company)
	return v
}

// viewEmails is the invoice's e-mails, newest first: staff look for the
// last one sent.
func viewEmails(emails []billing.SentEmail, linkIDs map[int]string) []emailView {
	out := make([]emailView, 0, len(emails))
	for i := len(emails) - 1; i >= 0; i-- {
		e := emails[i]
		ev := emailView{MessageID: e.MessageID, Kind: string(e.EmailKind()), To: e.To, Language: e.Language, SentAt: timestamp(e.SentAt),
			PDF: e.PDF, Status: string(e.Status()), StatusAt: timestamp(e.StatusAt()), BounceType: e.Delivery.BounceType,
			BounceSubType: e.Delivery.BounceSubType}
		if e.EmailKind() == billing.EmailReminder {
			ev.Step = strings.TrimPrefix(e.Key, "reminder-")
		}
		if id, ok := linkIDs[e.LinkGeneration]; ok && e.LinkGeneration > 0 {
			ev.PaymentLinkID = &id
		}
		out = append(out, ev)
	}
	return out
}

// viewReminders is the invoice's reminder plan, what was done of it and
// what comes next (or what blocks it).
func viewReminders(inv *billing.Invoice, company *billing.Company) remindersView {
	v := remindersView{Paused: inv.Reminders.Paused, Plan: make([]reminderStepView, 0, len(inv.Reminders.Plan))}
	for _, st := range inv.Reminders.Plan {
		v.Plan = append(v.Plan, reminderStepView{Step: st.Key, At: timestamp(st.At), Done: slices.Contains(inv.Reminders.Done, st.Key)})
	}
	if next := inv.NextReminder(company); next != nil {
		v.Next = &reminderStepView{Step: next.Key, At: timestamp(next.At)}
	} else if b := inv.RemindersBlocked(company); b != "" && len(inv.Reminders.Plan) > 0 {
		v.Blocked = &b
	}
	return v
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

type paymentView struct {
	PaymentIntentID string `json:"paymentIntentId,omitempty"`
	SessionID       string `json:"sessionId,omitempty"`
	PaymentLinkID   string `json:"paymentLinkId,omitempty"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	// ChargedAmount and ChargedCurrency: what the patient was charged, when
	// Stripe's Adaptive Pricing presented another currency.
	ChargedAmount   int64         `json:"chargedAmount,omitempty"`
	ChargedCurrency string        `json:"chargedCurrency,omitempty"`
	Status          string        `json:"status"`
	Reason          string        `json:"reason,omitempty"`
	Refunded        int64         `json:"refunded"`
	Refunds         []refundView  `json:"refunds"`
	ViaInactiveLink bool          `json:"viaInactiveLink"`
	Disputes        []disputeView `json:"disputes"`
	RecordedAt      string        `json:"recordedAt"`
	PaidAt          string        `json:"paidAt,omitempty"`
	RefundedAt      string        `json:"refundedAt,omitempty"`
	// Channel is online_link or in_person; Method a reader payment's.
	Channel string      `json:"channel"`
	Method  *methodView `json:"method,omitempty"`
}

type refundView struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
}

type disputeView struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
	Open   bool   `json:"open"`
}

func viewPayment(p *billing.Payment, linkIDs map[int]string) paymentView {
	v := paymentView{
		PaymentIntentID: p.PaymentIntentID, SessionID: p.SessionID, PaymentLinkID: p.LinkID, Amount: p.Amount,
		Currency: p.Currency, Status: string(p.State), Refunded: p.Refunded(), ViaInactiveLink: p.ViaInactiveLink,
		Refunds:  make([]refundView, 0, len(p.Refunds)),
		Disputes: make([]disputeView, 0, len(p.Disputes)), RecordedAt: timestamp(p.RecordedAt),
		PaidAt: timestamp(p.PaidAt), RefundedAt: timestamp(p.RefundedAt),
		Channel: p.ChannelName(), Method: viewMethod(p.Method),
	}
	if p.Review != "" && p.State != billing.PaymentFailed {
		v.Status, v.Reason = "needs_review", p.Review
	}
	if p.ChargedCurrency != "" && (p.ChargedCurrency != p.Currency || p.ChargedAmount != p.Amount) {
		v.ChargedAmount, v.ChargedCurrency = p.ChargedAmount, p.ChargedCurrency
	}
	if v.PaymentLinkID == "" {
		v.PaymentLinkID = linkIDs[p.LinkGeneration]
	}
	for _, r := range p.Refunds {
		v.Refunds = append(v.Refunds, refundView{ID: r.ID, Amount: r.Amount, Status: string(r.Status)})
	}
	for _, d := range p.Disputes {
		v.Disputes = append(v.Disputes, disputeView{ID: d.ID, Amount: d.Amount, Status: d.Status, Open: d.Open()})
	}
	return v
}

// feedView is the answer to GET /payments.
type feedView struct {
	Payments   []feedEntryView `json:"payments"`
	NextCursor string          `json:"nextCursor"`
	HasMore    bool            `json:"hasMore"`
}

type feedEntryView struct {
	Cursor          string   `json:"cursor"`
	RecordedAt      string   `json:"recordedAt"`
	InvoiceID       string   `json:"invoiceId"`
	Kind            string   `json:"kind"`
	Amount          int64    `json:"amount"`
	NetChange       int64    `json:"netChange"`
	Currency        string   `json:"currency"`
	BalanceDue      int64    `json:"balanceDue"`
	Overpaid        int64    `json:"overpaid"`
	Status          string   `json:"status"`
	PaymentIntentID string   `json:"paymentIntentId,omitempty"`
	RefundID        string   `json:"refundId,omitempty"`
	Reason          string   `json:"reason,omitempty"`
	DisputeID       string   `json:"disputeId,omitempty"`
	DisputeStatus   string   `json:"disputeStatus,omitempty"`
	EventID         string   `json:"eventId"`
	Flags           []string `json:"flags"`
	// Email is the e-mail an email_bounced or email_complained entry is
	// about.
	Email *feedEmailView `json:"email,omitempty"`
	// Channel is how the payment the entry is about was made.
	Channel string `json:"channel,omitempty"`
}

type feedEmailView struct {
	MessageID     string `json:"messageId"`
	To            string `json:"to"`
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	BounceType    string `json:"bounceType,omitempty"`
	BounceSubType string `json:"bounceSubType,omitempty"`
}

func viewFeed(entries []billing.FeedEntry, next string, more bool) feedView {
	v := feedView{Payments: make([]feedEntryView, 0, len(entries)), NextCursor: next, HasMore: more}
	for _, e := range entries {
		flags := e.Flags
		if flags == nil {
			flags = []string{}
		}
		fv := feedEntryView{
			Cursor: billing.EncodeCursor(e.Seq), RecordedAt: timestamp(e.RecordedAt), InvoiceID: e.InvoiceID,
			Kind: e.Kind, Amount: e.Amount, NetChange: e.NetChange, Currency: e.Currency, BalanceDue: e.BalanceDue, Overpaid: e.Overpaid,
			Status: e.Status, PaymentIntentID: e.PaymentIntentID, RefundID: e.RefundID, Reason: e.Reason,
			DisputeID: e.DisputeID, DisputeStatus: e.DisputeStatus,
			EventID: e.EventID, Flags: flags, Channel: e.Channel,
		}
		if m := e.Email; m != nil {
			fv.Email = &feedEmailView{MessageID: m.MessageID, To: m.To, Kind: string(m.Kind), Status: string(m.Status),
				BounceType: m.BounceType, BounceSubType: m.BounceSubType}
		}
		v.Payments = append(v.Payments, fv)
	}
	return v
}

// invoiceListView is the answer to GET /invoices.
type invoiceListView struct {
	Invoices   []invoiceSummaryView `json:"invoices"`
	NextCursor string               `json:"nextCursor"`
	HasMore    bool                 `json:"hasMore"`
}

type invoiceSummaryView struct {
	ID            string      `json:"id"`
	Number        string      `json:"number"`
	Currency      string      `json:"currency"`
	Total         int64       `json:"total"`
	BalanceDue    int64       `json:"balanceDue"`
	NetPaidOnline int64       `json:"netPaidOnline"`
	Status        string      `json:"status"`
	HasActiveLink bool        `json:"hasActiveLink"`
	Patient       patientView `json:"patient"`
	IssuedOn      string      `json:"issuedOn"`
	DueOn         *string     `json:"dueOn"`
	ETag          string      `json:"etag"`
	CreatedAt     string      `json:"createdAt"`
	UpdatedAt     string      `json:"updatedAt"`
}

func viewInvoiceList(p *billing.InvoicePage) invoiceListView {
	v := invoiceListView{Invoices: make([]invoiceSummaryView, 0, len(p.Invoices)), NextCursor: p.Next, HasMore: p.More}
	for _, s := range p.Invoices {
		sv := invoiceSummaryView{
			ID: s.ID, Number: s.Number, Currency: s.Currency, Total: s.Total, BalanceDue: s.BalanceDue,
			NetPaidOnline: s.NetPaidOnline, Status: s.Status, HasActiveLink: s.HasActiveLink,
			Patient:  patientView{Name: s.Patient.Name, Email: s.Patient.Email},
			IssuedOn: s.IssuedOn, ETag: etag(s.Version),
			CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt),
		}
		if s.DueOn != "" {
			sv.DueOn = &s.DueOn
		}
		if s.Patient.Language != "" {
			sv.Patient.Language = &s.Patient.Language
		}
		v.Invoices = append(v.Invoices, sv)
	}
	return v
}
