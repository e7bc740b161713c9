package stripegateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/refund"

	"github.com/clinicpay/payments/internal/billing"
)

// maxRefunds bounds how many refunds of one charge are read: a charge can't
// be refunded in more pieces than its minor units, but a read must end.
const maxRefunds = 1000

// Refunds implements billing.PaymentProvider: GET /v1/refunds?charge=… (or
// ?payment_intent=…) on the connected account, every page. At API
// 2023-10-16 a Charge in an event carries no refunds list (it is only
// expandable since 2022-11-15), so this is how each refund's id, amount and
// status is known.
func (g *Gateway) Refunds(ctx context.Context, accountID, chargeID, paymentIntentID string) ([]billing.Refund, error) {
	if chargeID == "" && paymentIntentID == "" {
		return nil, billing.ErrUnknownCharge
	}
	var out []billing.Refund
	err := g.withKey(ctx, func(k string) error {
		out = out[:0]
		p := &stripe.RefundListParams{}
		p.Context = ctx
		p.SetStripeAccount(accountID)
		p.Limit = stripe.Int64(100)
		if chargeID != "" {
			p.Charge = stripe.String(chargeID)
		} else {
			p.PaymentIntent = stripe.String(paymentIntentID)
		}
		it := (&refund.Client{B: g.backend, Key: k}).List(p)
		for it.Next() {
			r := it.Refund()
			if len(out) == maxRefunds {
				return fmt.Errorf("more than %d refunds", maxRefunds)
			}
			out = append(out, billing.Refund{ID: r.ID, Amount: r.Amount, Status: billing.RefundStatus(r.Status),
				Currency: string(r.Currency), CreatedAt: time.Unix(r.Created, 0).UTC()})
		}
		return it.Err()
	})
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
			return nil, fmt.Errorf("stripe list refunds: %w: %w", billing.ErrUnknownCharge, err)
		}
		return nil, providerError("list refunds", err)
	}
	for _, r := range out {
		if r.ID == "" || r.Amount <= 0 || r.Amount > billing.MaxStripeAmount {
			return nil, &billing.Error{Code: billing.CodePaymentProviderError, Message: "Stripe answered a refund that can't be true",
				Err: fmt.Errorf("refund %q of %d", r.ID, r.Amount)}
		}
	}
	return out, nil
}
