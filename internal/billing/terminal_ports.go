package billing

import (
	"context"
	"errors"
	"time"
)

// Stripe Terminal, server-driven: the clinic's readers, its Location and the
// PaymentIntents a reader takes all belong to the clinic's connected
// account, so every call names it. This file is the contract between the
// domain (reader payments) and its Stripe adapter (internal/stripegateway);
// the local Stripe (infra/local/localstripe) plays the readers as Stripe's
// test mode does.

// Values of Stripe Terminal's server-driven flow. (The event types it adds
// become Event* constants when the webhook handles them: a test holds the
// runbook's endpoint subscription to those.)
const (
	ReaderActionProcessPayment  = "process_payment_intent"
	ReaderActionRefundPayment   = "refund_payment"
	ReaderOnline                = "online"
	ReaderOffline               = "offline"
	MethodCardPresent           = "card_present"
	MethodInteracPresent        = "interac_present"
	SimulatedReaderRegistration = "simulated-wpe"
)

// Address is a clinic's street address, what Stripe requires of a Terminal
// Location in Canada and the US.
type Address struct {
	Line1      string
	Line2      string
	City       string
	State      string // province or state code: QC, ON, NY…
	PostalCode string
	Country    string // ISO 3166-1 alpha-2: CA, US
}

// TerminalReader is a reader as Stripe holds it now.
type TerminalReader struct {
	ID         string // tmr_…
	Label      string
	DeviceType string // bbpos_wisepos_e, simulated_wisepos_e, stripe_s700…
	Status     string // ReaderOnline or ReaderOffline
	LocationID string
	// Action is the reader's current or last action; nil when it has none.
	Action *ReaderAction
}

// ReaderAction is what a reader was asked to do and how far it got.
type ReaderAction struct {
	Type            string // ReaderActionProcessPayment or ReaderActionRefundPayment
	Status          string // in_progress, succeeded, failed
	FailureCode     string // Stripe's, when failed: card_declined, …
	PaymentIntentID string
	RefundAmount    int64 // refund_payment's amount
	// RefundID is the refund a refund_payment made (re_…), once it
	// succeeded; Metadata is the refund_payment's (MetaRefundAttempt).
	RefundID string
	Metadata map[string]string
}

// ReaderPaymentIntent is a PaymentIntent taken on a reader, as Stripe holds
// it now.
type ReaderPaymentIntent struct {
	ID               string // pi_…
	Status           string // requires_payment_method, requires_capture, processing, succeeded, canceled
	Amount           int64
	AmountCapturable int64
	AmountReceived   int64
	Currency         string
	// LastErrorCode is Stripe's last_payment_error.code (or decline_code
	// when more precise), "" when none.
	LastErrorCode string
	// CancellationReason is Stripe's cancellation_reason of a canceled
	// PaymentIntent (automatic: Stripe canceled it itself, as it does an
	// authorization left uncaptured), "" when none was given.
	CancellationReason string
	ChargeID           string // the latest charge, "" before a card was read
	// Method is the charge's method: card_present or interac_present, the
	// brand and the last four digits, never more.
	Method   *PaymentMethod
	Metadata map[string]string
}

// NewReaderPayment is a PaymentIntent to make for a reader.
type NewReaderPayment struct {
	AccountID string
	Amount    int64
	Currency  string
	// Methods: card_present, and interac_present for a cad invoice.
	Methods []string
	// Metadata: billing_company_id, invoice_id, attempt; never a patient's
	// detail.
	Metadata       map[string]string
	IdempotencyKey string
}

// NewReaderRefund is a refund_payment to send to a reader.
type NewReaderRefund struct {
	AccountID       string
	ReaderID        string
	PaymentIntentID string
	Amount          int64
	// Metadata names the refund attempt (MetaRefundAttempt), so the
	// reader's events find it; ids only.
	Metadata       map[string]string
	IdempotencyKey string
}

// Terminal is Stripe Terminal on a clinic's connected account. Errors are
// *Error: CodeReaderBusy (terminal_reader_busy), CodeReaderOffline
// (terminal_reader_offline), CodeReaderRegistrationFailed (a code Stripe
// refused), CodePaymentProviderUnavailable (terminal_reader_timeout, rate
// limit, outage: the same call with the same idempotency key may be
// retried), CodePaymentProviderError (any other refusal),
// CodeStripeAccountNotConnected / CodeStripeAccountUnavailable; a reader or
// PaymentIntent Stripe does not have on the account wraps ErrUnknownReader
// or ErrUnknownCharge.
type Terminal interface {
	// CreateLocation makes the clinic's Terminal Location.
	CreateLocation(ctx context.Context, accountID, displayName string, a Address, idempotencyKey string) (string, error)
	// RegisterReader registers a reader at the location by the code it
	// shows (simulated-wpe: a simulated reader, in test mode).
	RegisterReader(ctx context.Context, accountID, locationID, registrationCode, label, idempotencyKey string) (*TerminalReader, error)
	// Reader reads a reader's status and action.
	Reader(ctx context.Context, accountID, readerID string) (*TerminalReader, error)
	// DeleteReader deletes a reader; one Stripe no longer has is deleted.
	DeleteReader(ctx context.Context, accountID, readerID string) error
	// CreateReaderPaymentIntent makes a PaymentIntent for a reader
	// (capture_method manual).
	CreateReaderPaymentIntent(ctx context.Context, n *NewReaderPayment) (*ReaderPaymentIntent, error)
	// ProcessPaymentIntent sends a PaymentIntent to a reader, tipping
	// skipped.
	ProcessPaymentIntent(ctx context.Context, accountID, readerID, paymentIntentID, idempotencyKey string) (*TerminalReader, error)
	// CancelReaderAction cancels what a reader is doing; Stripe refuses
	// once the card was presented.
	CancelReaderAction(ctx context.Context, accountID, readerID, idempotencyKey string) (*TerminalReader, error)
	// RefundOnReader asks a reader to refund part or all of a
	// PaymentIntent's charge (Interac refunds need the card presented
	// again).
	RefundOnReader(ctx context.Context, n *NewReaderRefund) (*TerminalReader, error)
	// ReaderPaymentIntent reads a reader's PaymentIntent.
	ReaderPaymentIntent(ctx context.Context, accountID, paymentIntentID string) (*ReaderPaymentIntent, error)
	// CapturePaymentIntent captures exactly amount of an authorization.
	CapturePaymentIntent(ctx context.Context, accountID, paymentIntentID string, amount int64, idempotencyKey string) (*ReaderPaymentIntent, error)
	// CancelPaymentIntent cancels a PaymentIntent not yet captured.
	CancelPaymentIntent(ctx context.Context, accountID, paymentIntentID, idempotencyKey string) (*ReaderPaymentIntent, error)
}

// ErrUnknownReader: Stripe has no such reader on the connected account.
var ErrUnknownReader = errors.New("no such reader at Stripe")

// TerminalFacts is what a Terminal event says, as the Stripe adapter reads
// it (WebhookEvent.Terminal): a reader's action for terminal.reader.*, the
// PaymentIntent for payment_intent.*.
type TerminalFacts struct {
	Reader *TerminalReader
	Intent *ReaderPaymentIntent
}

// Reader is one of a clinic's Terminal readers, as this service keeps it.
// Its id is Stripe's (tmr_…); it is only ever looked up under its clinic,
// so another clinic's reader is not found, and its id never reaches Stripe
// under the wrong account.
type Reader struct {
	CompanyID  string
	ID         string // tmr_…
	Label      string
	DeviceType string
	Status     string // ReaderOnline or ReaderOffline, as Stripe last said
	LocationID string
	// InvoiceID is the invoice whose payment (or refund) the reader is
	// taking now, "" when it is free: a second one is refused reader_busy.
	InvoiceID string
	// Version increases with every write; writes are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReaderStore keeps a clinic's readers (the DynamoDB adapter implements it
// next to Store).
type ReaderStore interface {
	// GetReader returns ErrNotFound (wrapped) when the clinic has no such
	// reader.
	GetReader(ctx context.Context, companyID, readerID string) (*Reader, error)
	// ListReaders returns every reader of the clinic (at most 50).
	ListReaders(ctx context.Context, companyID string) ([]Reader, error)
	// SaveReader writes r if the stored version is r.Version-1 (no record
	// for version 1), else ErrVersionConflict. A new reader (version 1)
	// is counted in the same write: ErrReaderLimit when the clinic has
	// MaxReaders already, however many are registered at once.
	SaveReader(ctx context.Context, r *Reader) error
	// DeleteReader deletes the reader if its stored version is version,
	// else ErrVersionConflict; the clinic's count goes down with it.
	DeleteReader(ctx context.Context, companyID, readerID string, version int64) error
}

// ErrReaderLimit: the clinic has MaxReaders readers already.
var ErrReaderLimit = errors.New("the clinic has the most readers it may have")
