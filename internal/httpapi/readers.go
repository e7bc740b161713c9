package httpapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

// RegisterReader handles POST /readers: a clinic's admin registers a
// Stripe Terminal reader by the code it shows.
func (a *API) RegisterReader(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		var body readerBody
		if err := c.decode(&body); err != nil {
			return result{}, err
		}
		r, err := a.svc.RegisterReader(ctx, c.caller, body.input(), c.idempotencyKey)
		if err != nil {
			return result{}, err
		}
		return result{http.StatusCreated, viewReader(r)}, nil
	})
}

// ListReaders handles GET /readers: the clinic's readers, each with its
// status and the invoice it is taking.
func (a *API) ListReaders(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, tenantAccess, func(ctx context.Context, c *call) (result, error) {
		readers, err := a.svc.ListReaders(ctx, c.caller)
		if err != nil {
			return result{}, err
		}
		v := readerListView{Readers: make([]listedReaderView, 0, len(readers))}
		for i := range readers {
			v.Readers = append(v.Readers, viewListedReader(&readers[i]))
		}
		return result{http.StatusOK, v}, nil
	})
}

// DeleteReader handles DELETE /readers/{readerId}.
func (a *API) DeleteReader(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, req, adminAccess, func(ctx context.Context, c *call) (result, error) {
		if err := c.noBody(); err != nil {
			return result{}, err
		}
		if err := a.svc.DeleteReader(ctx, c.caller, c.pathParam("readerId")); err != nil {
			return result{}, err
		}
		return result{http.StatusNoContent, nil}, nil
	})
}

// readerView is a reader as POST /readers answers it.
type readerView struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	DeviceType string `json:"deviceType"`
	Status     string `json:"status"`
	CreatedAt  string `json:"createdAt"`
}

// listedReaderView is a reader in GET /readers, with the payment it takes.
type listedReaderView struct {
	readerView
	Payment *readerPaymentView `json:"payment"`
}

// readerPaymentView names the invoice a reader is taking a payment of.
type readerPaymentView struct {
	InvoiceID string `json:"invoiceId"`
}

type readerListView struct {
	Readers []listedReaderView `json:"readers"`
}

func viewReader(r *billing.Reader) readerView {
	return readerView{ID: r.ID, Label: r.Label, DeviceType: r.DeviceType, Status: r.Status, CreatedAt: timestamp(r.CreatedAt)}
}

func viewListedReader(r *billing.Reader) listedReaderView {
	v := listedReaderView{readerView: viewReader(r)}
	if r.InvoiceID != "" {
		v.Payment = &readerPaymentView{InvoiceID: r.InvoiceID}
	}
	return v
}
