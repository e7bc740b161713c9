package dynamostore

import (
	"strings"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

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
	EmailAttempts  []emailAttemptRecord  `dynamodbav:"emailAttempts,omitempty"`
	Payments       []paymentRecord       `dynamodbav:"payments,omitempty"`
	Overpaid       int64                 `dynamodbav:"overpaid,omitempty"`
	Ledger         *ledgerRecord         `dynamodbav:"ledger,omitempty"`
	Lease          *leaseRecord          `dynamodbav:"lease,omitempty"`
	ReaderAttempts []readerAttemptRecord `dynamodbav:"readerAttempts,omitempty"`
	ReaderRefunds  []readerRefundRecord  `dynamodbav:"readerRefunds,omitempty"`
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

// searchRecord is one of an invoice's search items (keys.go): all its
// search keys, under one of them.
type searchRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	InvoiceID string `dynamodbav:"invoiceId"`
	Keys      string `dynamodbav:"keys"`
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
	r.ReaderRefunds = toRefundAttemptRecords(inv.ReaderRefunds)
	r.EmailAttempts = toEmailAttemptRecords(inv.EmailAttempts)
	if l := inv.Ledger; l.Set {
		r.Ledger = &ledgerRecord{Balance: l.Balance, Overpaid: l.Overpaid, Counted: l.Counted, Refunds: l.Refunds, Lost: l.Lost}
	}
	if l := inv.Lease; l != nil {
		r.Lease = toLeaseRecord(l)
	}
	return r
}

func toLeaseRecord(l *billing.Lease) *leaseRecord {
	r := &leaseRecord{Token: l.Token, Until: l.Until}
	if c := l.Change; c != nil {
		r.Change = &linkChangeRecord{}
		if n := c.Make; n != nil {
			r.Change.Make = &newLinkRecord{n.RequestKey, n.Generation, n.AccountID, n.Amount, n.Currency, string(n.Language),
				n.Page.ProductName, n.Page.InactiveMessage, n.Page.ConfirmationMessage}
		}
		if e := c.End; e != nil {
			r.Change.End = &linkEndRecord{e.RequestKey, e.Generation, string(e.Status), e.Reason}
		}
	}
	return r
}

// lease is the invoice's lease: the link it makes is the invoice's own.
func (r *leaseRecord) lease(companyID, invoiceID string) *billing.Lease {
	l := &billing.Lease{Token: r.Token, Until: r.Until}
	if c := r.Change; c != nil {
		l.Change = &billing.LinkChange{}
		if n := c.Make; n != nil {
			l.Change.Make = &billing.NewLink{
				CompanyID: companyID, InvoiceID: invoiceID, Generation: n.Generation, AccountID: n.AccountID,
				Amount: n.Amount, Currency: n.Currency, Language: billing.Language(n.Language), RequestKey: n.RequestKey,
				Page: billing.PageText{ProductName: n.ProductName, InactiveMessage: n.InactiveMessage, ConfirmationMessage: n.ConfirmationMessage},
			}
		}
		if e := c.End; e != nil {
			l.Change.End = &billing.LinkEnd{Generation: e.Generation, Status: billing.LinkStatus(e.Status), Reason: e.Reason, RequestKey: e.RequestKey}
		}
	}
	return l
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
	inv.ReaderRefunds = refundAttempts(r.ReaderRefunds)
	inv.EmailAttempts = emailAttempts(r.EmailAttempts)
	if l := r.Ledger; l != nil {
		inv.Ledger = billing.MoneyLedger{Balance: l.Balance, Overpaid: l.Overpaid, Counted: l.Counted, Refunds: l.Refunds, Lost: l.Lost, Set: true}
	}
	if l := r.Lease; l != nil {
		inv.Lease = l.lease(companyID, r.ID)
	}
	return inv
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
