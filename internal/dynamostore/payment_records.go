package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

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
