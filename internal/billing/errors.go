package billing

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, snake_case error code that clients can switch on. The
// HTTP layer maps each code to a status in one table.
type Code string

// Error codes of the public contract.
const (
	CodeInvalidRequest              Code = "invalid_request"
	CodePayloadTooLarge             Code = "payload_too_large"
	CodeUnauthorized                Code = "unauthorized"
	CodeForbidden                   Code = "forbidden"
	CodeNotFound                    Code = "not_found"
	CodeNoActiveLink                Code = "no_active_link"
	CodeNothingDue                  Code = "nothing_due"
	CodeInvoicePaid                 Code = "invoice_paid"
	CodePaymentProcessing           Code = "payment_processing"
	CodeConflict                    Code = "conflict"
	CodeStripeAccountNotConnected   Code = "stripe_account_not_connected"
	CodeBillingCompanyNotConfigured Code = "billing_company_not_configured"
	CodeStripeAccountUnavailable    Code = "stripe_account_unavailable"
	CodePaymentProviderError        Code = "payment_provider_error"
	CodePaymentProviderUnavailable  Code = "payment_provider_unavailable"
	CodeEmailProviderError          Code = "email_provider_error"
	CodeEmailProviderUnavailable    Code = "email_provider_unavailable"
	CodeLimitReached                Code = "limit_reached"
	CodeUnavailable                 Code = "service_unavailable"
	CodeInvalidSignature            Code = "invalid_signature"
	CodeInvalidEvent                Code = "invalid_event"
	CodeIdempotencyKeyReused        Code = "idempotency_key_reused"
	CodeRequestInProgress           Code = "request_in_progress"
	CodeInternal                    Code = "internal_error"
	CodeUnsupportedMediaType        Code = "unsupported_media_type"
	CodeStripeAccountInUse          Code = "stripe_account_in_use"
	CodePreconditionFailed          Code = "precondition_failed"
	CodePreconditionRequired        Code = "precondition_required"
	CodeBalanceExceedsUnpaid        Code = "balance_exceeds_unpaid"
	// Stripe Terminal (reader payments at the front desk).
	CodeAddressRequired          Code = "address_required"
	CodeReaderRegistrationFailed Code = "reader_registration_failed"
	CodeReaderBusy               Code = "reader_busy"
	CodeReaderOffline            Code = "reader_offline"
	CodeReaderPaymentInProgress  Code = "reader_payment_in_progress"
	CodeReaderPaymentCompleting  Code = "reader_payment_completing"
	CodeRefundExceedsPayment     Code = "refund_exceeds_payment"
)

// Codes lists every code, for the HTTP layer's table to be checked against.
var Codes = []Code{
	CodeInvalidRequest, CodePayloadTooLarge, CodeUnauthorized, CodeForbidden, CodeNotFound, CodeNoActiveLink,
	CodeNothingDue, CodeInvoicePaid, CodePaymentProcessing, CodeConflict, CodeStripeAccountNotConnected,
	CodeBillingCompanyNotConfigured, CodeStripeAccountUnavailable, CodePaymentProviderError,
	CodePaymentProviderUnavailable, CodeEmailProviderError, CodeEmailProviderUnavailable, CodeLimitReached,
	CodeUnavailable, CodeInvalidSignature, CodeInvalidEvent, CodeIdempotencyKeyReused, CodeRequestInProgress,
	CodeInternal, CodeUnsupportedMediaType, CodeStripeAccountInUse, CodePreconditionFailed,
	CodePreconditionRequired, CodeBalanceExceedsUnpaid,
	CodeAddressRequired, CodeReaderRegistrationFailed, CodeReaderBusy, CodeReaderOffline,
	CodeReaderPaymentInProgress, CodeReaderPaymentCompleting, CodeRefundExceedsPayment,
}

// Error is the one error type the domain returns to its callers. Message is
// safe to show to a client: it never carries a secret, card data or a
// patient's details. The wrapped Err is for logs and errors.Is only.
type Error struct {
	Code    Code
	Message string
	// Field names the request field at fault, for invalid_request.
	Field string
	// ProviderRequestID is Stripe's request id (req_…) when Stripe refused a
	// call, so support can find the request in the clinic's dashboard.
	ProviderRequestID string
	// RetryAfter, when set, tells the client when a retry may succeed.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a request field that breaks a rule.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// TypicalHold is how long a request usually holds what another request
// waits for: a Stripe or SES call and a write or two. A hold's deadline is
// the invocation's (up to 30 s), but it is only reached when the holder
// died; telling a client to wait that long would make it wait for nothing.
const TypicalHold = 2 * time.Second

// Busy is the error for work another request holds for up to wait more: a
// retry is worth making once the holder is likely done (TypicalHold, or
// sooner when its hold ends sooner), and the message says the same number
// of seconds as Retry-After.
func Busy(code Code, what string, wait time.Duration) *Error {
	d := min(max(wait, time.Second), TypicalHold)
	secs := int((d + time.Second - 1) / time.Second)
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return &Error{Code: code, Message: fmt.Sprintf("%s; retry in %d %s", what, secs, unit), RetryAfter: time.Duration(secs) * time.Second}
}

// ErrorCode returns the code of err, CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinel errors the Store returns (wrapped) so the service can tell the
// expected outcomes of a conditional write from failures.
var (
	// ErrNotFound: no item with that key.
	ErrNotFound = errors.New("not found")
	// ErrVersionConflict: a conditional write lost against another writer.
	ErrVersionConflict = errors.New("version conflict")
	// ErrDuplicateEvent: the webhook event was already recorded.
	ErrDuplicateEvent = errors.New("event already recorded")
	// ErrAccountInUse: the Stripe account is connected to another company.
	ErrAccountInUse = errors.New("stripe account connected to another company")
)
