package dynamostore

import (
	"fmt"
	"strings"
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
	accountSK     = "ACCOUNT"
)

func companyPK(companyID string) string { return "CO#" + companyID }
func invoiceSK(invoiceID string) string { return invoicePrefix + invoiceID }
func accountPK(accountID string) string { return "ACCT#" + accountID }

// searchPrefix starts the sort key of an invoice's search items, one per
// search key, in its company's partition: Q#<key>#<invoiceId>.
const searchPrefix = "Q#"

func searchSK(key, invoiceID string) string { return searchPrefix + key + "#" + invoiceID }

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

type locationRecord struct {
	ID        string `dynamodbav:"id"`
	AccountID string `dynamodbav:"accountId"`
}

type reminderPolicyRecord struct {
	BeforeDue          []int `dynamodbav:"beforeDue"`
	AfterDue           []int `dynamodbav:"afterDue"`
	IncludePaymentLink bool  `dynamodbav:"includePaymentLink"`
}

// workIndex is the scheduler's index (template.yaml's WorkDue: partition
// key workShard, sort key workAt), set only on items with work to do, so the
// index holds nothing else (sparse). The shard spreads the items over a few
// partitions; the scheduler reads them all.
type workIndex struct {
	WorkShard string `dynamodbav:"workShard,omitempty"`
	WorkAt    string `dynamodbav:"workAt,omitempty"`
}

// Index of the scheduler's work (template.yaml's WorkDue).
const (
	workDue    = "WorkDue"
	workShards = 4
)

// workAt is the index's sort key: a fixed-width UTC time, so text order is
// time order.
func workAtKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// newWorkIndex is the index entry of an item whose work falls at t (none
// for the zero time).
func newWorkIndex(pk, sk string, t time.Time) workIndex {
	if t.IsZero() {
		return workIndex{}
	}
	var h uint32 = 2166136261 // FNV-1a: a stable spread of items over shards
	for _, b := range []byte(pk + "|" + sk) {
		h = (h ^ uint32(b)) * 16777619
	}
	return workIndex{WorkShard: fmt.Sprintf("W%d", h%workShards), WorkAt: workAtKey(t)}
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

type invoiceRecord struct {
	PK             string                `dynamodbav:"pk"`
	SK             string                `dynamodbav:"sk"`
	ID             string                `dynamodbav:"id"`
	Number         string                `dynamodbav:"number"`
	Currency       string                `dynamodbav:"currency"`
	Total          int64                 `dynamodbav:"total"`
	BalanceDue     int64                 `dynamodbav:"balanceDue"`
	IssuedOn       string                `dynamodbav:"issuedOn"`
	DueOn          string                `dynamodbav:"dueOn,omitempty"`
	Patient        patientRecord         `dynamodbav:"patient"`
	Lines          []lineRecord          `dynamodbav:"lines"`
	Links          []linkRecord          `dynamodbav:"links,omitempty"`
	Emails         []emailRecord         `dynamodbav:"emails,omitempty"`
	Payments       []paymentRecord       `dynamodbav:"payments,omitempty"`
	Overpaid       int64                 `dynamodbav:"overpaid,omitempty"`
	Ledger         *ledgerRecord         `dynamodbav:"ledger,omitempty"`
	Lease          *leaseRecord          `dynamodbav:"lease,omitempty"`
	ReaderAttempts []readerAttemptRecord `dynamodbav:"readerAttempts,omitempty"`
	LastGeneration int                   `dynamodbav:"lastGeneration"`
	Version        int64                 `dynamodbav:"version"`
	CreatedAt      time.Time             `dynamodbav:"createdAt"`
	UpdatedAt      time.Time             `dynamodbav:"updatedAt"`

	Outbox    []outboundRecord `dynamodbav:"outbox,omitempty"`
	Reminders *reminderState   `dynamodbav:"reminders,omitempty"`

	// Derived on every write, for the invoice list's index (invoiceOrder
	// is its sort key: only invoices have it) and its filters.
	InvoiceOrder  string `dynamodbav:"invoiceOrder"`
	Status        string `dynamodbav:"status"`
	HasActiveLink bool   `dynamodbav:"hasActiveLink"`
	NetPaidOnline int64  `dynamodbav:"netPaidOnline"`
	// The search keys the invoice's search items are under, space-joined
	// (see searchItems): PutInvoice rewrites those items when it changes.
	SearchKeys string `dynamodbav:"searchKeys,omitempty"`
	// And for the scheduler's (the invoice's NextWorkAt).
	workIndex
}

type outboundRecord struct {
	Key             string    `dynamodbav:"key"`
	Kind            string    `dynamodbav:"kind"`
	PaymentIntentID string    `dynamodbav:"paymentIntentId,omitempty"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
	Attempt         string    `dynamodbav:"attempt,omitempty"`
	AttemptAt       time.Time `dynamodbav:"attemptAt,omitempty"`
	PastAttempts    []string  `dynamodbav:"pastAttempts,omitempty"`
	To              string    `dynamodbav:"to,omitempty"`
	Language        string    `dynamodbav:"language,omitempty"`
	LinkGeneration  int       `dynamodbav:"linkGeneration,omitempty"`
	PDF             bool      `dynamodbav:"pdf,omitempty"`
	Tries           int       `dynamodbav:"tries,omitempty"`
}

type reminderState struct {
	Paused bool                 `dynamodbav:"paused,omitempty"`
	Plan   []reminderStepRecord `dynamodbav:"plan,omitempty"`
	Done   []string             `dynamodbav:"done,omitempty"`
}

type reminderStepRecord struct {
	Key string    `dynamodbav:"key"`
	At  time.Time `dynamodbav:"at"`
}

// Index of a company's invoices, newest first (template.yaml's
// InvoicesByCreation: partition key pk, sort key invoiceOrder).
const invoicesByCreation = "InvoicesByCreation"

// invoiceOrder sorts invoices by creation, then id: a fixed-width UTC
// timestamp, so text order is time order.
func invoiceOrder(created time.Time, id string) string {
	return created.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + id
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
	RequestKey string    `dynamodbav:"requestKey,omitempty"`
	EndKey     string    `dynamodbav:"endRequestKey,omitempty"`
	// The paid link's message at Stripe (billing's paid_link.go).
	PaidNotice      string    `dynamodbav:"paidNotice,omitempty"`
	PaidNoticeAt    time.Time `dynamodbav:"paidNoticeAt,omitempty"`
	PaidNoticeTries int       `dynamodbav:"paidNoticeTries,omitempty"`
}

type emailRecord struct {
	MessageID      string    `dynamodbav:"messageId"`
	To             string    `dynamodbav:"to"`
	Language       string    `dynamodbav:"language"`
	SentAt         time.Time `dynamodbav:"sentAt"`
	LinkGeneration int       `dynamodbav:"linkGeneration,omitempty"`
	RequestKey     string    `dynamodbav:"requestKey,omitempty"`
	Kind           string    `dynamodbav:"kind,omitempty"`
	Key            string    `dynamodbav:"key,omitempty"`
	PDF            bool      `dynamodbav:"pdf,omitempty"`
	Status         string    `dynamodbav:"status,omitempty"`
	StatusAt       time.Time `dynamodbav:"statusAt,omitempty"`
	BounceType     string    `dynamodbav:"bounceType,omitempty"`
	BounceSubType  string    `dynamodbav:"bounceSubType,omitempty"`
	Earlier        []string  `dynamodbav:"earlierAttempts,omitempty"`
}

// ledgerRecord is billing.MoneyLedger.
type ledgerRecord struct {
	Balance  int64            `dynamodbav:"balance"`
	Overpaid int64            `dynamodbav:"overpaid"`
	Counted  []string         `dynamodbav:"counted,omitempty"`
	Refunds  map[string]bool  `dynamodbav:"refunds,omitempty"`
	Lost     map[string]int64 `dynamodbav:"lost,omitempty"`
}

type leaseRecord struct {
	Token  string            `dynamodbav:"token"`
	Until  time.Time         `dynamodbav:"until"`
	Change *linkChangeRecord `dynamodbav:"change,omitempty"`
}

type linkChangeRecord struct {
	Make *newLinkRecord `dynamodbav:"make,omitempty"`
	End  *linkEndRecord `dynamodbav:"end,omitempty"`
}

type newLinkRecord struct {
	RequestKey          string `dynamodbav:"requestKey,omitempty"`
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
	RequestKey string `dynamodbav:"requestKey,omitempty"`
	Generation int    `dynamodbav:"generation"`
	Status     string `dynamodbav:"status"`
	Reason     string `dynamodbav:"reason,omitempty"`
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
		r.Location = &locationRecord{l.ID, l.AccountID}
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
		c.Location = &billing.TerminalLocation{ID: l.ID, AccountID: l.AccountID}
	}
	return c
}

func nonNil(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

func toInvoiceRecord(inv *billing.Invoice) invoiceRecord {
	r := invoiceRecord{
		PK: companyPK(inv.CompanyID), SK: invoiceSK(inv.ID), ID: inv.ID,
		Number: inv.Number, Currency: inv.Currency, Total: inv.Total, BalanceDue: inv.BalanceDue,
		IssuedOn: inv.IssuedOn, DueOn: inv.DueOn,
		Patient:        patientRecord{inv.Patient.Name, inv.Patient.Email, string(inv.Patient.Language)},
		LastGeneration: inv.LastGeneration, Version: inv.Version, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt,
		InvoiceOrder: invoiceOrder(inv.CreatedAt, inv.ID), Status: inv.Status(), HasActiveLink: inv.ActiveLink() != nil,
		NetPaidOnline: inv.NetPaidOnline(),
		SearchKeys:    strings.Join(billing.SearchKeys(inv.Number, inv.Patient.Name), " "),
	}
	for _, l := range inv.Lines {
		r.Lines = append(r.Lines, lineRecord{l.Description, l.Amount})
	}
	for _, l := range inv.Links {
		r.Links = append(r.Links, linkRecord{
			Generation: l.Generation, ID: l.ID, URL: l.URL, PriceID: l.PriceID, AccountID: l.AccountID,
			Amount: l.Amount, Currency: l.Currency, Language: string(l.Language), Status: string(l.Status),
			Reason: l.Reason, CreatedAt: l.CreatedAt, EndedAt: l.EndedAt, RequestKey: l.RequestKey, EndKey: l.EndRequestKey,
			PaidNotice: string(l.PaidNotice), PaidNoticeAt: l.PaidNoticeAt, PaidNoticeTries: l.PaidNoticeTries,
		})
	}
	for _, e := range inv.Emails {
		r.Emails = append(r.Emails, emailRecord{e.MessageID, e.To, string(e.Language), e.SentAt, e.LinkGeneration, e.RequestKey,
			string(e.Kind), e.Key, e.PDF, string(e.Delivery.Status), e.Delivery.At, e.Delivery.BounceType, e.Delivery.BounceSubType, e.EarlierAttempts})
	}
	for _, o := range inv.Outbox {
		r.Outbox = append(r.Outbox, outboundRecord{o.Key, string(o.Kind), o.PaymentIntentID, o.CreatedAt, o.Attempt, o.AttemptAt,
			o.PastAttempts, o.To, string(o.Language), o.LinkGeneration, o.PDF, o.Tries})
	}
	if rm := inv.Reminders; rm.Paused || len(rm.Plan) > 0 || len(rm.Done) > 0 {
		r.Reminders = &reminderState{Paused: rm.Paused, Done: rm.Done}
		for _, st := range rm.Plan {
			r.Reminders.Plan = append(r.Reminders.Plan, reminderStepRecord{st.Key, st.At})
		}
	}
	r.workIndex = newWorkIndex(r.PK, r.SK, inv.NextWorkAt())
	for i := range inv.Payments {
		r.Payments = append(r.Payments, toPaymentRecord(&inv.Payments[i]))
	}
	r.Overpaid = inv.Overpaid
	r.ReaderAttempts = toAttemptRecords(inv.ReaderAttempts)
	if l := inv.Ledger; l.Set {
		r.Ledger = &ledgerRecord{Balance: l.Balance, Overpaid: l.Overpaid, Counted: l.Counted, Refunds: l.Refunds, Lost: l.Lost}
	}
	if l := inv.Lease; l != nil {
		r.Lease = &leaseRecord{Token: l.Token, Until: l.Until}
		if c := l.Change; c != nil {
			r.Lease.Change = &linkChangeRecord{}
			if n := c.Make; n != nil {
				r.Lease.Change.Make = &newLinkRecord{n.RequestKey, n.Generation, n.AccountID, n.Amount, n.Currency, string(n.Language),
					n.Page.ProductName, n.Page.InactiveMessage, n.Page.ConfirmationMessage}
			}
			if e := c.End; e != nil {
				r.Lease.Change.End = &linkEndRecord{e.RequestKey, e.Generation, string(e.Status), e.Reason}
			}
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
			RequestKey: l.RequestKey, EndRequestKey: l.EndKey,
			PaidNotice: billing.PaidNotice(l.PaidNotice), PaidNoticeAt: l.PaidNoticeAt, PaidNoticeTries: l.PaidNoticeTries,
		})
	}
	for _, e := range r.Emails {
		inv.Emails = append(inv.Emails, billing.SentEmail{
			MessageID: e.MessageID, To: e.To, Language: billing.Language(e.Language), SentAt: e.SentAt, LinkGeneration: e.LinkGeneration,
			RequestKey: e.RequestKey, Kind: billing.EmailKind(e.Kind), Key: e.Key, PDF: e.PDF,
			Delivery:        billing.EmailDelivery{Status: billing.EmailStatus(e.Status), At: e.StatusAt, BounceType: e.BounceType, BounceSubType: e.BounceSubType},
			EarlierAttempts: e.Earlier,
		})
	}
	for _, o := range r.Outbox {
		inv.Outbox = append(inv.Outbox, billing.Outbound{Key: o.Key, Kind: billing.EmailKind(o.Kind), PaymentIntentID: o.PaymentIntentID,
			CreatedAt: o.CreatedAt, Attempt: o.Attempt, AttemptAt: o.AttemptAt, PastAttempts: o.PastAttempts, To: o.To, Language: billing.Language(o.Language),
			LinkGeneration: o.LinkGeneration, PDF: o.PDF, Tries: o.Tries})
	}
	if rm := r.Reminders; rm != nil {
		inv.Reminders = billing.ReminderState{Paused: rm.Paused, Done: rm.Done}
		for _, st := range rm.Plan {
			inv.Reminders.Plan = append(inv.Reminders.Plan, billing.ReminderStep{Key: st.Key, At: st.At.UTC()})
		}
	}
	for i := range r.Payments {
		inv.Payments = append(inv.Payments, r.Payments[i].payment())
	}
	inv.Overpaid = r.Overpaid
	inv.ReaderAttempts = attempts(r.ReaderAttempts)
	if l := r.Ledger; l != nil {
		inv.Ledger = billing.MoneyLedger{Balance: l.Balance, Overpaid: l.Overpaid, Counted: l.Counted, Refunds: l.Refunds, Lost: l.Lost, Set: true}
	}
	if l := r.Lease; l != nil {
		inv.Lease = &billing.Lease{Token: l.Token, Until: l.Until}
		if c := l.Change; c != nil {
			inv.Lease.Change = &billing.LinkChange{}
			if n := c.Make; n != nil {
				inv.Lease.Change.Make = &billing.NewLink{
					CompanyID: companyID, InvoiceID: r.ID, Generation: n.Generation, AccountID: n.AccountID,
					Amount: n.Amount, Currency: n.Currency, Language: billing.Language(n.Language), RequestKey: n.RequestKey,
					Page: billing.PageText{ProductName: n.ProductName, InactiveMessage: n.InactiveMessage, ConfirmationMessage: n.ConfirmationMessage},
				}
			}
			if e := c.End; e != nil {
				inv.Lease.Change.End = &billing.LinkEnd{Generation: e.Generation, Status: billing.LinkStatus(e.Status), Reason: e.Reason, RequestKey: e.RequestKey}
			}
		}
	}
	return inv
}

type paymentRecord struct {
	PaymentIntentID string          `dynamodbav:"paymentIntentId,omitempty"`
	SessionID       string          `dynamodbav:"sessionId,omitempty"`
	ChargeID        string          `dynamodbav:"chargeId,omitempty"`
	LinkID          string          `dynamodbav:"linkId,omitempty"`
	LinkGeneration  int             `dynamodbav:"linkGeneration,omitempty"`
	Amount          int64           `dynamodbav:"amount"`
	Currency        string          `dynamodbav:"currency,omitempty"`
	ChargedAmount   int64           `dynamodbav:"chargedAmount,omitempty"`
	ChargedCurrency string          `dynamodbav:"chargedCurrency,omitempty"`
	State           string          `dynamodbav:"state,omitempty"`
	Review          string          `dynamodbav:"review,omitempty"`
	Refunds         []refundRecord  `dynamodbav:"refunds,omitempty"`
	ChargeRefunds   *snapshotRecord `dynamodbav:"chargeRefunds,omitempty"`
	Disputes        []disputeRecord `dynamodbav:"disputes,omitempty"`
	ViaInactiveLink bool            `dynamodbav:"viaInactiveLink,omitempty"`
	Channel         string          `dynamodbav:"channel,omitempty"`
	Method          *methodRecord   `dynamodbav:"method,omitempty"`
	RecordedAt      time.Time       `dynamodbav:"recordedAt"`
	PaidAt          time.Time       `dynamodbav:"paidAt,omitempty"`
	RefundedAt      time.Time       `dynamodbav:"refundedAt,omitempty"`
}

type refundRecord struct {
	ID        string    `dynamodbav:"id"`
	Amount    int64     `dynamodbav:"amount"`
	Status    string    `dynamodbav:"status"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

type snapshotRecord struct {
	Amount int64     `dynamodbav:"amount"`
	At     time.Time `dynamodbav:"at"`
}

type disputeRecord struct {
	ID        string    `dynamodbav:"id"`
	Amount    int64     `dynamodbav:"amount"`
	Status    string    `dynamodbav:"status"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func toPaymentRecord(p *billing.Payment) paymentRecord {
	r := paymentRecord{
		PaymentIntentID: p.PaymentIntentID, SessionID: p.SessionID, ChargeID: p.ChargeID, LinkID: p.LinkID,
		LinkGeneration: p.LinkGeneration, Amount: p.Amount, Currency: p.Currency,
		ChargedAmount: p.ChargedAmount, ChargedCurrency: p.ChargedCurrency, State: string(p.State), Review: p.Review,
		ViaInactiveLink: p.ViaInactiveLink, RecordedAt: p.RecordedAt, PaidAt: p.PaidAt, RefundedAt: p.RefundedAt,
		Channel: p.Channel, Method: toMethodRecord(p.Method),
	}
	for _, x := range p.Refunds {
		r.Refunds = append(r.Refunds, refundRecord{x.ID, x.Amount, string(x.Status), x.CreatedAt, x.UpdatedAt})
	}
	if s := p.ChargeRefunds; s != nil {
		r.ChargeRefunds = &snapshotRecord{s.Amount, s.At}
	}
	for _, d := range p.Disputes {
		r.Disputes = append(r.Disputes, disputeRecord{d.ID, d.Amount, d.Status, d.UpdatedAt})
	}
	return r
}

func (r *paymentRecord) payment() billing.Payment {
	p := billing.Payment{
		PaymentIntentID: r.PaymentIntentID, SessionID: r.SessionID, ChargeID: r.ChargeID, LinkID: r.LinkID,
		LinkGeneration: r.LinkGeneration, Amount: r.Amount, Currency: r.Currency,
		ChargedAmount: r.ChargedAmount, ChargedCurrency: r.ChargedCurrency, State: billing.PaymentState(r.State), Review: r.Review,
		ViaInactiveLink: r.ViaInactiveLink, RecordedAt: r.RecordedAt, PaidAt: r.PaidAt, RefundedAt: r.RefundedAt,
		Channel: r.Channel, Method: r.Method.method(),
	}
	for _, x := range r.Refunds {
		p.Refunds = append(p.Refunds, billing.Refund{ID: x.ID, Amount: x.Amount, Status: billing.RefundStatus(x.Status), CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt})
	}
	if s := r.ChargeRefunds; s != nil {
		p.ChargeRefunds = &billing.Snapshot{Amount: s.Amount, At: s.At}
	}
	for _, d := range r.Disputes {
		p.Disputes = append(p.Disputes, billing.Dispute{ID: d.ID, Amount: d.Amount, Status: d.Status, UpdatedAt: d.UpdatedAt})
	}
	return p
}

// Webhook items.
const (
	eventSK    = "EVENT"
	refSK      = "REF"
	feedHeadSK = "FEED"
	feedPrefix = "FEED#"
	// eventRetention: Stripe retries a delivery for up to three days; the
	// record outlives that comfortably, then TTL removes it.
	eventRetention = 90 * 24 * time.Hour
)

func eventPK(id string) string                   { return "EVT#" + id }
func refPK(account, paymentIntent string) string { return "PAY#" + account + "#" + paymentIntent }
func feedSK(seq int64) string                    { return fmt.Sprintf("%s%019d", feedPrefix, seq) }

type eventRecord struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	ID         string    `dynamodbav:"id"`
	Type       string    `dynamodbav:"type"`
	AccountID  string    `dynamodbav:"accountId"`
	Outcome    string    `dynamodbav:"outcome"`
	Reason     string    `dynamodbav:"reason,omitempty"`
	CompanyID  string    `dynamodbav:"companyId,omitempty"`
	InvoiceID  string    `dynamodbav:"invoiceId,omitempty"`
	ReceivedAt time.Time `dynamodbav:"receivedAt"`
	ExpiresAt  int64     `dynamodbav:"expiresAt"`
}

type refRecord struct {
	PK              string         `dynamodbav:"pk"`
	SK              string         `dynamodbav:"sk"`
	AccountID       string         `dynamodbav:"accountId"`
	PaymentIntentID string         `dynamodbav:"paymentIntentId"`
	CompanyID       string         `dynamodbav:"companyId,omitempty"`
	InvoiceID       string         `dynamodbav:"invoiceId,omitempty"`
	Pending         *paymentRecord `dynamodbav:"pending,omitempty"`
	Version         int64          `dynamodbav:"version"`
	// ExpiresAt (TTL) is set while the reference only holds facts waiting
	// for a payment that may never come (a refund of another platform's
	// charge, a forged event); it is removed once the payment is seen.
	ExpiresAt int64 `dynamodbav:"expiresAt,omitempty"`
}

type feedHeadRecord struct {
	Seq int64 `dynamodbav:"seq"`
}

type feedRecord struct {
	PK              string           `dynamodbav:"pk"`
	SK              string           `dynamodbav:"sk"`
	Seq             int64            `dynamodbav:"seq"`
	RecordedAt      time.Time        `dynamodbav:"recordedAt"`
	InvoiceID       string           `dynamodbav:"invoiceId"`
	Kind            string           `dynamodbav:"kind"`
	Amount          int64            `dynamodbav:"amount"`
	NetChange       int64            `dynamodbav:"netChange"`
	Currency        string           `dynamodbav:"currency"`
	BalanceDue      int64            `dynamodbav:"balanceDue"`
	Overpaid        int64            `dynamodbav:"overpaid"`
	Status          string           `dynamodbav:"status"`
	PaymentIntentID string           `dynamodbav:"paymentIntentId,omitempty"`
	RefundID        string           `dynamodbav:"refundId,omitempty"`
	Reason          string           `dynamodbav:"reason,omitempty"`
	DisputeID       string           `dynamodbav:"disputeId,omitempty"`
	DisputeStatus   string           `dynamodbav:"disputeStatus,omitempty"`
	EventID         string           `dynamodbav:"eventId"`
	Flags           []string         `dynamodbav:"flags,omitempty"`
	Email           *feedEmailRecord `dynamodbav:"email,omitempty"`
	Channel         string           `dynamodbav:"channel,omitempty"`
}

type feedEmailRecord struct {
	MessageID     string `dynamodbav:"messageId"`
	To            string `dynamodbav:"to"`
	Kind          string `dynamodbav:"kind"`
	Status        string `dynamodbav:"status"`
	BounceType    string `dynamodbav:"bounceType,omitempty"`
	BounceSubType string `dynamodbav:"bounceSubType,omitempty"`
}

func toEventRecord(e *billing.EventRecord) eventRecord {
	return eventRecord{
		PK: eventPK(e.ID), SK: eventSK, ID: e.ID, Type: e.Type, AccountID: e.AccountID, Outcome: string(e.Outcome),
		Reason: e.Reason, CompanyID: e.CompanyID, InvoiceID: e.InvoiceID, ReceivedAt: e.ReceivedAt,
		ExpiresAt: e.ReceivedAt.Add(eventRetention).Unix(),
	}
}

func (r *eventRecord) event() *billing.EventRecord {
	return &billing.EventRecord{ID: r.ID, Type: r.Type, AccountID: r.AccountID, Outcome: billing.EventOutcome(r.Outcome),
		Reason: r.Reason, CompanyID: r.CompanyID, InvoiceID: r.InvoiceID, ReceivedAt: r.ReceivedAt}
}

func toRefRecord(ref *billing.PaymentRef, now time.Time) refRecord {
	r := refRecord{PK: refPK(ref.AccountID, ref.PaymentIntentID), SK: refSK, AccountID: ref.AccountID,
		PaymentIntentID: ref.PaymentIntentID, CompanyID: ref.CompanyID, InvoiceID: ref.InvoiceID, Version: ref.Version}
	if ref.InvoiceID == "" {
		r.ExpiresAt = now.Add(eventRetention).Unix()
	}
	if ref.Pending != nil {
		p := toPaymentRecord(ref.Pending)
		r.Pending = &p
	}
	return r
}

func (r *refRecord) ref() *billing.PaymentRef {
	ref := &billing.PaymentRef{AccountID: r.AccountID, PaymentIntentID: r.PaymentIntentID, CompanyID: r.CompanyID,
		InvoiceID: r.InvoiceID, Version: r.Version}
	if r.Pending != nil {
		p := r.Pending.payment()
		ref.Pending = &p
	}
	return ref
}

func toFeedRecord(companyID string, e *billing.FeedEntry) feedRecord {
	r := feedRecord{
		PK: companyPK(companyID), SK: feedSK(e.Seq), Seq: e.Seq, RecordedAt: e.RecordedAt, InvoiceID: e.InvoiceID,
		Kind: e.Kind, Amount: e.Amount, NetChange: e.NetChange, Currency: e.Currency, BalanceDue: e.BalanceDue, Overpaid: e.Overpaid,
		Status: e.Status, PaymentIntentID: e.PaymentIntentID, RefundID: e.RefundID, Reason: e.Reason,
		DisputeID: e.DisputeID, DisputeStatus: e.DisputeStatus, EventID: e.EventID, Flags: e.Flags, Channel: e.Channel,
	}
	if m := e.Email; m != nil {
		r.Email = &feedEmailRecord{m.MessageID, m.To, string(m.Kind), string(m.Status), m.BounceType, m.BounceSubType}
	}
	return r
}

func (r *feedRecord) entry() billing.FeedEntry {
	e := billing.FeedEntry{
		Seq: r.Seq, RecordedAt: r.RecordedAt, InvoiceID: r.InvoiceID, Kind: r.Kind, Amount: r.Amount, NetChange: r.NetChange,
		Currency: r.Currency, BalanceDue: r.BalanceDue, Overpaid: r.Overpaid, Status: r.Status,
		PaymentIntentID: r.PaymentIntentID, RefundID: r.RefundID, Reason: r.Reason, DisputeID: r.DisputeID, DisputeStatus: r.DisputeStatus,
		EventID: r.EventID, Flags: r.Flags, Channel: r.Channel,
	}
	if m := r.Email; m != nil {
		e.Email = &billing.FeedEmail{MessageID: m.MessageID, To: m.To, Kind: billing.EmailKind(m.Kind), Status: billing.EmailStatus(m.Status),
			BounceType: m.BounceType, BounceSubType: m.BounceSubType}
	}
	return e
}

// summary is an invoice as the list's index holds it.
func (r *invoiceRecord) summary() billing.InvoiceSummary {
	return billing.InvoiceSummary{
		ID: r.ID, Number: r.Number, Currency: r.Currency, Total: r.Total, BalanceDue: r.BalanceDue,
		NetPaidOnline: r.NetPaidOnline, Status: r.Status, HasActiveLink: r.HasActiveLink,
		Patient:  billing.Patient{Name: r.Patient.Name, Email: r.Patient.Email, Language: billing.Language(r.Patient.Language)},
		IssuedOn: r.IssuedOn, DueOn: r.DueOn, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
