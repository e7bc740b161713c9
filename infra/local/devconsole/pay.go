package devconsole

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// errBadOutcome is an outcome make pay does not know.
var errBadOutcome = errors.New("OUTCOME must be paid, processing, failed, declined, refund[:<amount in cents>] or dispute:<open|won|lost>")

// pay brings about an outcome for an invoice's payment (make pay):
//
//   - paid: a processing pre-authorized debit clears; else the active link
//     is paid by card;
//   - processing: the active link is paid by pre-authorized debit;
//   - failed: a processing debit fails; else the active link is paid by a
//     debit that then fails;
//   - declined: a card is declined on the active link;
//   - refund[:amount]: the last successful payment is refunded (all that is
//     left when no amount);
//   - dispute:open|won|lost: the last successful payment is disputed.
func pay(ctx context.Context, sim *localstripe.Simulator, company, invoice, outcome string, pr localstripe.Presentment) (*localstripe.Payment, []localstripe.Delivery, error) {
	kind, arg, _ := strings.Cut(strings.TrimSpace(outcome), ":")
	if kind == "" {
		kind = "paid"
	}
	payments := sim.State.Payments(company, invoice)
	last := func(status string) *localstripe.Payment {
		for i := range payments {
			if payments[i].Status == status {
				return &payments[i]
			}
		}
		return nil
	}
	link := func() (string, error) {
		l := sim.State.ActiveLink(company, invoice)
		if l == nil {
			return "", fmt.Errorf("%w: invoice %s of %s has no active payment link at the local Stripe (add one first)", localstripe.ErrNoLink, invoice, company)
		}
		return l.ID, nil
	}
	paid := func() (*localstripe.Payment, error) {
		if p := last(localstripe.Succeeded); p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("%w: invoice %s of %s has no successful payment", localstripe.ErrNoPayment, invoice, company)
	}
	switch kind {
	case "paid", "failed":
		if p := last(localstripe.Processing); p != nil {
			return sim.Settle(ctx, p.PaymentIntent, kind == "paid")
		}
		id, err := link()
		if err != nil {
			return nil, nil, err
		}
		if kind == "paid" {
			return sim.CheckoutIn(ctx, id, localstripe.Card, pr)
		}
		p, ds, err := sim.CheckoutIn(ctx, id, localstripe.PreAuthorizedDebit, pr)
		if err != nil {
			return p, ds, err
		}
		p, more, err := sim.Settle(ctx, p.PaymentIntent, false)
		return p, append(ds, more...), err
	case "processing", "declined":
		id, err := link()
		if err != nil {
			return nil, nil, err
		}
		method := localstripe.PreAuthorizedDebit
		if kind == "declined" {
			method = localstripe.Decline
		}
		return sim.CheckoutIn(ctx, id, method, pr)
	case "refund":
		var amount int64
		if arg != "" {
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil || n <= 0 {
				return nil, nil, fmt.Errorf("%w (the refund's amount is in cents: refund:2500)", errBadOutcome)
			}
			amount = n
		}
		p, err := paid()
		if err != nil {
			return nil, nil, err
		}
		o, err := sim.Refund(ctx, p.PaymentIntent, amount, "", false)
		if o == nil {
			return nil, nil, err
		}
		return o.Payment, o.Deliveries, err
	case "dispute":
		if arg != localstripe.DisputeOpen && arg != localstripe.DisputeWon && arg != localstripe.DisputeLost {
			return nil, nil, errBadOutcome
		}
		p, err := paid()
		if err != nil {
			return nil, nil, err
		}
		return sim.Dispute(ctx, p.PaymentIntent, arg)
	}
	return nil, nil, errBadOutcome
}
