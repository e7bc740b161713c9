package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/clinicpay/payments/internal/billing"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[billing.Code]int{
	billing.CodeInvalidRequest:              http.StatusBadRequest,
	billing.CodePayloadTooLarge:             http.StatusRequestEntityTooLarge,
	billing.CodeUnauthorized:                http.StatusUnauthorized,
	billing.CodeForbidden:                   http.StatusForbidden,
	billing.CodeNotFound:                    http.StatusNotFound,
	billing.CodeNoActiveLink:                http.StatusConflict,
	billing.CodeNothingDue:                  http.StatusConflict,
	billing.CodeInvoicePaid:                 http.StatusConflict,
	billing.CodePaymentProcessing:           http.StatusConflict,
	billing.CodeInvalidSignature:            http.StatusBadRequest,
	billing.CodeInvalidEvent:                http.StatusBadRequest,
	billing.CodeIdempotencyKeyReused:        http.StatusUnprocessableEntity,
	billing.CodeRequestInProgress:           http.StatusConflict,
	billing.CodeConflict:                    http.StatusConflict,
	billing.CodeStripeAccountNotConnected:   http.StatusConflict,
	billing.CodeBillingCompanyNotConfigured: http.StatusConflict,
	billing.CodeLimitReached:                http.StatusConflict,
	billing.CodeStripeAccountUnavailable:    http.StatusUnprocessableEntity,
	billing.CodePaymentProviderError:        http.StatusBadGateway,
	billing.CodeEmailProviderError:          http.StatusBadGateway,
	billing.CodePaymentProviderUnavailable:  http.StatusServiceUnavailable,
	billing.CodeEmailProviderUnavailable:    http.StatusServiceUnavailable,
	billing.CodeUnavailable:                 http.StatusServiceUnavailable,
	billing.CodeInternal:                    http.StatusInternalServerError,
	billing.CodeUnsupportedMediaType:        http.StatusUnsupportedMediaType,
	billing.CodeStripeAccountInUse:          http.StatusConflict,
	billing.CodePreconditionFailed:          http.StatusPreconditionFailed,
	billing.CodePreconditionRequired:        http.StatusPreconditionRequired,
	billing.CodeBalanceExceedsUnpaid:        http.StatusConflict,
	billing.CodeAddressRequired:             http.StatusConflict,
	billing.CodeReaderRegistrationFailed:    http.StatusUnprocessableEntity,
	billing.CodeReaderBusy:                  http.StatusConflict,
	billing.CodeReaderOffline:               http.StatusConflict,
	billing.CodeReaderPaymentInProgress:     http.StatusConflict,
	billing.CodeReaderPaymentCompleting:     http.StatusConflict,
	billing.CodeRefundExceedsPayment:        http.StatusConflict,
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    billing.Code `json:"code"`
	Message string       `json:"message"`
	// Field names the request field at fault (invalid_request).
	Field string `json:"field,omitempty"`
	// StripeRequestID is Stripe's request id when Stripe refused a call.
	StripeRequestID string `json:"stripeRequestId,omitempty"`
}

// errorResponse turns any error into the contract's JSON error. Errors that
// are not *billing.Error are internal: their text stays in the logs.
func errorResponse(err error) (int, errorBody, http.Header) {
	var e *billing.Error
	if !errors.As(err, &e) {
		e = &billing.Error{Code: billing.CodeInternal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	msg := e.Message
	if e.Code == billing.CodeInternal {
		msg = "internal error"
	}
	return status, errorBody{Error: errorDetail{Code: e.Code, Message: msg, Field: e.Field, StripeRequestID: e.ProviderRequestID}}, h
}
