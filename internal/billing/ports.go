package billing

import (
	"context"
	"errors"
	"time"
)

// Store keeps billing companies and invoices. Every invoice write is
// conditional on the version read, so concurrent writers can't lose each
// other's changes.
type Store interface {
	// GetCompany returns ErrNotFound (wrapped) when the company has no record.
	GetCompany(ctx context.Context, companyID string) (*Company, error)
	// SaveCompany writes c if the stored version is c.Version-1 (no record
	// for version 1), else ErrVersionConflict. In the same transaction it
	// claims c.StripeAccountID for c (ErrAccountInUse when another company
	// holds it) and frees previousAccount when that is another account.
	SaveCompany(ctx context.Context, c *Company, previousAccount string) (*Company, error)
	// AccountOwner returns the company holding a Stripe account, "" if none.
	AccountOwner(ctx context.Context, accountID string) (string, error)
	// GetInvoice returns ErrNotFound (wrapped) when the invoice does not exist.
	GetInvoice(ctx context.Context, companyID, invoiceID string) (*Invoice, error)
	// GetInvoiceAndCompany reads both in one round trip; the company is nil
	// when it has no record, the error ErrNotFound when the invoice is missing.
	GetInvoiceAndCompany(ctx context.Context, companyID, invoiceID string) (*Invoice, *Company, error)
	// PutInvoice writes inv if the stored version is inv.Version-1, or if no
	// invoice is stored and inv.Version is 1; otherwise ErrVersionConflict.
	PutInvoice(ctx context.Context, inv *Invoice) error
	// ReleaseLease lets the invoice's lease run out now if it is still the
	// one with token (else ErrVersionConflict; other writers don't make it
	// fail), keeping its change for the next request to finish.
	ReleaseLease(ctx context.Context, companyID, invoiceID, token string) error

	// LoadEventState reads, in one round trip (two when the account's
	// owner is asked for), what handling a webhook event needs; keys left
	// empty are not read.
	LoadEventState(ctx context.Context, keys EventKeys) (*EventState, error)
	// CommitEvent writes, atomically: the event's record (which must not
	// exist: ErrDuplicateEvent), the invoice, the company and the payment
	// reference (each conditional on its version: ErrVersionConflict) and
	// the feed entries, which take their place in the tenant's feed at the
	// next ListFeed of the tenant: after every entry visible before, and
	// after the invoice's earlier entries.
	CommitEvent(ctx context.Context, c *EventCommit) error
	// ListInvoices returns up to limit of the company's invoices that match
	// f, newest first, starting after position (from the newest when it is
	// empty). It reads a bounded number of invoices; Position is where the
	// next page starts.
	ListInvoices(ctx context.Context, companyID string, f InvoiceFilter, position string, limit int) (*StoredInvoicePage, error)
	// DueWork reads every work item whose time (an invoice's NextWorkAt, a
	// company's RemindersChangedAt) is at or before now, of one company when
	// company is not "", from an index of those times (never a scan): the
	// index's shards in parallel, each a page at a time, handing each page
	// to page (called from several goroutines at once). It stops at the
	// first error page returns, and returns it.
	DueWork(ctx context.Context, now time.Time, company string, page func([]WorkItem) error) error
	// ListFeed returns up to limit feed entries of a company after the
	// sequence number after, in order, and whether more follow. Sequence
	// numbers are 1, 2, 3, … in the order entries become visible: an entry
	// never appears before one already returned, so a reader paging with
	// its cursor misses none. Entries committed before the call are
	// visible, or more says some follow.
	ListFeed(ctx context.Context, companyID string, after int64, limit int) ([]FeedEntry, bool, error)
}

// PaymentProvider is Stripe, seen through the calls this service makes on a
// clinic's connected account. Errors are *Error with one of the codes
// CodePaymentProviderError (Stripe refused: definite),
// CodePaymentProviderUnavailable (rate limit, timeout, outage: try again),
// CodeStripeAccountNotConnected or CodeStripeAccountUnavailable.
type PaymentProvider interface {
	// Account reads a connected account with the platform's key.
	Account(ctx context.Context, accountID string) (*StripeAccount, error)
	// CreateLink creates the Price and the Payment Link, and returns the
	// link made (n.Made).
	CreateLink(ctx context.Context, n *NewLink) (Link, error)
	// DeactivateLink sets active=false. A link Stripe no longer has counts as
	// deactivated.
	DeactivateLink(ctx context.Context, accountID, linkID, idempotencyKey string) error
	// SetInactiveMessage sets the message Stripe shows on a link that can no
	// longer be paid. A link Stripe no longer has shows nothing: nil.
	SetInactiveMessage(ctx context.Context, accountID, linkID, message, idempotencyKey string) error
	// CreateAccount creates a connected account for a company, on the
	// platform, and returns its id and status.
	CreateAccount(ctx context.Context, a NewAccount) (string, *StripeAccount, error)
	// OnboardingLink makes a Stripe Account Link (account_onboarding) where
	// the clinic enters its details.
	OnboardingLink(ctx context.Context, accountID string) (*OnboardingLink, error)
	// PaymentMethod reads how a payment was made (its charge's method: the
	// card's brand or the debit's bank, and the last four digits, never
	// more), for its receipt.
	PaymentMethod(ctx context.Context, accountID, paymentIntentID string) (*PaymentMethod, error)
	// Refunds reads every refund of a charge (of the PaymentIntent when
	// chargeID is ""), with its id, amount, currency and status as
	// Stripe holds them now. ErrUnknownCharge (wrapped) when Stripe has no
	// such charge on the account.
	Refunds(ctx context.Context, accountID, chargeID, paymentIntentID string) ([]Refund, error)
}

// ErrUnknownCharge: Stripe has no such charge (or PaymentIntent) on the
// connected account.
var ErrUnknownCharge = errors.New("no such charge at Stripe")

// PaymentMethod is how a patient paid, as a receipt may say it: never more
// than the brand or bank and the last four digits.
type PaymentMethod struct {
	Type  string // card, acss_debit (pre-authorized debit), …
	Brand string // a card's: visa, mastercard, amex…
	// Bank is a debit's bank as Stripe names it (bank_name), or as its
	// institution number names it when Stripe gives no name; "" if unknown.
	Bank  string
	Last4 string // the card's, or the debited account's
}

// Documents makes the invoice's PDF (internal/invoicepdf); a function that
// attaches none leaves it nil.
type Documents interface {
	InvoicePDF(d InvoiceDocument) ([]byte, error)
}

// InvoiceDocument is what the invoice's PDF shows: display text formatted
// in Language, as the e-mail shows it.
type InvoiceDocument struct {
	Language    Language
	ClinicName  string
	ClinicEmail string
	PatientName string
	Number      string
	IssuedOn    string
	DueOn       string
	// Summary leaves the lines out (the clinic's emailDetail summary).
	Summary    bool
	Lines      []DocumentLine
	Total      string
	AmountPaid string
	BalanceDue string
	PaymentURL string
	Created    time.Time
}

// DocumentLine is a line of the PDF.
type DocumentLine struct{ Description, Amount string }

// Mailer sends one e-mail. Errors are *Error with CodeEmailProviderError
// (refused) or CodeEmailProviderUnavailable (throttled, timeout).
type Mailer interface {
	Send(ctx context.Context, msg OutgoingEmail) (messageID string, err error)
}

// OutgoingEmail is a rendered e-mail. The sender address is the service's
// own (verified in SES); the clinic appears as its display name and its
// address as Reply-To.
type OutgoingEmail struct {
	FromName string
	To       string
	ReplyTo  string
	Subject  string
	Text     string
	HTML     string
	Language Language
	// Ref names the e-mail for the delivery events SES sends back about it
	// (MailRefHeader): "<company>/<invoice>/<key>/<attempt>", ids only. It
	// lets an event find the invoice, and an e-mail whose sending was not
	// recorded (the process died after SES took it) be recorded from its
	// event instead of being sent twice.
	Ref string
	// Attachments are files sent with the e-mail (the invoice as a PDF).
	Attachments []Attachment
}

// MailRefHeader is the header that carries OutgoingEmail.Ref. SES's
// delivery events (SES → EventBridge) repeat every header of the e-mail.
const MailRefHeader = "X-Clinicpay-Mail"

// Attachment is a file attached to an e-mail.
type Attachment struct {
	Filename    string // ASCII, no path: "facture-F-2026-0042.pdf"
	ContentType string // "application/pdf"
	Data        []byte
}

// ErrNotSent marks (wrapped) a Mailer failure after which the e-mail
// certainly did not leave: SES answered with an error (a refusal, a
// throttle). It may be sent again at once. A failure without it (a
// timeout, a lost connection) may have left.
var ErrNotSent = errors.New("the e-mail was not sent")

// MaxEmailSize is SES's limit on a message, encoded (10 MB); the mailer
// refuses a bigger one rather than let SES fail it.
const MaxEmailSize = 10_000_000

// EmailEventType is what SES says happened to an e-mail.
type EmailEventType string

// The SES event types the service acts on (SES's eventType, lower-cased).
const (
	EmailEventSend             EmailEventType = "send"
	EmailEventDelivery         EmailEventType = "delivery"
	EmailEventBounce           EmailEventType = "bounce"
	EmailEventComplaint        EmailEventType = "complaint"
	EmailEventReject           EmailEventType = "reject"
	EmailEventDeliveryDelay    EmailEventType = "delivery_delay"
	EmailEventRenderingFailure EmailEventType = "rendering_failure"
)

// EmailEvent is one SES event about an e-mail the service sent, as the
// adapter reads it from SES's event JSON (SES → EventBridge).
type EmailEvent struct {
	// ID is the event's own id (EventBridge's): a second delivery of the
	// same event has the same id.
	ID   string
	Type EmailEventType
	// MessageID is SES's id of the e-mail (what Mailer.Send returned).
	MessageID string
	// Ref is the e-mail's MailRefHeader, "" when absent (not ours).
	Ref string
	// Recipients are the addresses the event is about (the bounced ones
	// for a bounce, the complaining ones for a complaint; every recipient
	// otherwise).
	Recipients []string
	// At is when it happened, by SES's clock (the delivery's, bounce's or
	// complaint's timestamp; the mail's for send and reject).
	At time.Time
	// BounceType is Permanent, Transient or Undetermined; BounceSubType
	// SES's subtype (General, NoEmail, Suppressed, OnAccountSuppressionList,
	// MailboxFull, …). Empty for other events.
	BounceType, BounceSubType string
	// ComplaintType is the feedback type of a complaint (abuse, …), if any.
	ComplaintType string
}

// Metrics counts business events (links created, e-mails sent, payments
// recorded…) for the request in ctx.
type Metrics interface {
	Count(ctx context.Context, name string, n int)
}

// Business metrics.
const (
	MetricLinksCreated         = "LinksCreated"
	MetricLinksReplaced        = "LinksReplaced"
	MetricLinksRemoved         = "LinksRemoved"
	MetricEmailsSent           = "EmailsSent"
	MetricPaymentsRecorded     = "PaymentsRecorded"
	MetricRefundsRecorded      = "RefundsRecorded"
	MetricDisputesOpened       = "DisputesOpened"
	MetricWebhookEventsIgnored = "WebhookEventsIgnored"
	// MetricWebhookEventsRejected counts signed events whose content can't
	// be true (an alarm watches it).
	MetricWebhookEventsRejected = "WebhookEventsRejected"
	// MetricPaymentsNeedingReview counts payments that came in another
	// currency than their invoice's (an alarm watches it).
	MetricPaymentsNeedingReview = "PaymentsNeedingReview"
	// MetricReaderPaymentsNeedingReview counts reader payments whose
	// capture or cancel Stripe refused for good while the PaymentIntent
	// was neither paid nor canceled (an alarm watches it: staff look at
	// the attempt, failed with reason capture_refused or cancel_refused).
	MetricReaderPaymentsNeedingReview = "ReaderPaymentsNeedingReview"
	// MetricLeaseReleaseFailures counts leases that could not be let run
	// out early: the invoice waits for the lease's end (up to the
	// function's timeout), staff see 409 conflict meanwhile.
	MetricLeaseReleaseFailures = "LeaseReleaseFailures"
	// MetricEmailsDeferred counts receipts and reminders that could not
	// leave at once: the outbox keeps them for the scheduler.
	MetricEmailsDeferred = "EmailsDeferred"
	// MetricRemindersSent counts reminders sent by the scheduler.
	MetricRemindersSent = "RemindersSent"
	// MetricEmailsFailed counts receipts and reminders given up after
	// MaxSendTries attempts (an alarm-worthy SES problem: the sender).
	MetricEmailsFailed = "EmailsFailed"
	// MetricPaidLinkMessagesDeferred counts paid links whose Stripe page
	// could not be told at once: the scheduler tries again.
	MetricPaidLinkMessagesDeferred = "PaidLinkMessagesDeferred"
	// MetricPaidLinkMessagesFailed counts paid links given up after
	// MaxSendTries tries: their page still says to contact the clinic.
	MetricPaidLinkMessagesFailed = "PaidLinkMessagesFailed"
)

type noMetrics struct{}

func (noMetrics) Count(context.Context, string, int) {}
