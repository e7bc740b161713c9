package httpapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

// readerPaymentInput is the body of POST /invoices/{invoiceId}/reader-payment.
type readerPaymentInput struct {
	ReaderID string `json:"readerId"`
}

// StartReaderPayment handles POST /invoices/{invoiceId}/reader-payment:
// the invoice's balance sent to one of the clinic's readers.
func (a *API) StartReaderPayment(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var in readerPaymentInput
		if err := c.decode(&in); err != nil {
			return result{}, err
		}
		if in.ReaderID == "" {
			return result{}, billing.Invalid("readerId", "readerId is required")
		}
		at, err := a.svc.StartReaderPayment(ctx, c.caller, c.invoiceID(), in.ReaderID, c.idempotencyKey)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, viewAttempt(at)}, nil
	})
}

// CancelReaderPayment handles DELETE /invoices/{invoiceId}/reader-payment.
func (a *API) CancelReaderPayment(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		at, err := a.svc.CancelReaderPayment(ctx, c.caller, c.invoiceID())
		if err != nil {
			return result{}, err
		}
		return result{http.StatusOK, viewAttempt(at)}, nil
	})
}

// attemptView is a reader payment attempt (or a refund attempt) as the
// contract shows it.
type attemptView struct {
	ID              string `json:"id"`
	ReaderID        string `json:"readerId"`
	PaymentIntentID string `json:"paymentIntentId"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	CreatedAt       string `json:"createdAt"`
	UpdatedAt       string `json:"updatedAt"`
}

func viewAttempt(at *billing.ReaderAttempt) *attemptView {
	if at == nil {
		return nil
	}
	return &attemptView{ID: at.ID, ReaderID: at.ReaderID, PaymentIntentID: at.PaymentIntentID, Amount: at.Amount, Currency: at.Currency,
		Status: at.Status, Reason: at.Reason, CreatedAt: timestamp(at.CreatedAt), UpdatedAt: timestamp(at.UpdatedAt)}
}

// methodView is how a payment was made: never more than the type, the
// brand and the last four digits.
type methodView struct {
	Type  string `json:"type"`
	Brand string `json:"brand,omitempty"`
	Last4 string `json:"last4,omitempty"`
}

func viewMethod(m *billing.PaymentMethod) *methodView {
	if m == nil {
		return nil
	}
	return &methodView{Type: m.Type, Brand: m.Brand, Last4: m.Last4}
}

// readerRefundInput is the body of POST /invoices/{invoiceId}/reader-refund.
type readerRefundInput struct {
	ReaderID        string `json:"readerId"`
	PaymentIntentID string `json:"paymentIntentId"`
	Amount          int64  `json:"amount"`
}

// StartReaderRefund handles POST /invoices/{invoiceId}/reader-refund: part
// or all of an in-person payment refunded on one of the clinic's readers.
func (a *API) StartReaderRefund(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		var in readerRefundInput
		if err := c.decode(&in); err != nil {
			return result{}, err
		}
		switch {
		case in.ReaderID == "":
			return result{}, billing.Invalid("readerId", "readerId is required")
		case in.PaymentIntentID == "":
			return result{}, billing.Invalid("paymentIntentId", "paymentIntentId is required")
		}
		r, err := a.svc.StartReaderRefund(ctx, c.caller, c.invoiceID(),
			&billing.ReaderRefundInput{ReaderID: in.ReaderID, PaymentIntentID: in.PaymentIntentID, Amount: in.Amount}, c.idempotencyKey)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, viewRefundAttempt(r)}, nil
	})
}

// viewRefundAttempt shows a refund on a reader as the contract does: the
// same fields as a payment attempt's.
func viewRefundAttempt(r *billing.ReaderRefund) *attemptView {
	if r == nil {
		return nil
	}
	return &attemptView{ID: r.ID, ReaderID: r.ReaderID, PaymentIntentID: r.PaymentIntentID, Amount: r.Amount, Currency: r.Currency,
		Status: r.Status, Reason: r.Reason, CreatedAt: timestamp(r.CreatedAt), UpdatedAt: timestamp(r.UpdatedAt)}
}
