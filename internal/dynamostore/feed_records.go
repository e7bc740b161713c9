package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

type feedHeadRecord struct {
	Seq int64 `dynamodbav:"seq"`
}

// pendingFeedRecord is a committed entry not numbered yet (feed.go).
type pendingFeedRecord struct {
	feedRecord
	InvoiceVersion int64 `dynamodbav:"invoiceVersion"`
}

type feedRecord struct {
	PK              string           `dynamodbav:"pk"`
	SK              string           `dynamodbav:"sk"`
	Seq             int64            `dynamodbav:"seq"`
	RecordedAt      time.Time        `dynamodbav:"recordedAt"`
	InvoiceID       string           `dynamodbav:"invoiceId"`
	Kind            string           `dynamodbav:"kind"`
	Amount          int64            `dynamodbav:"amount"`
	NetChange       int64            `dynamodbav:"netChange"`
	Currency        string           `dynamodbav:"currency"`
	BalanceDue      int64            `dynamodbav:"balanceDue"`
	Overpaid        int64            `dynamodbav:"overpaid"`
	Status          string           `dynamodbav:"status"`
	PaymentIntentID string           `dynamodbav:"paymentIntentId,omitempty"`
	RefundID        string           `dynamodbav:"refundId,omitempty"`
	Reason          string           `dynamodbav:"reason,omitempty"`
	DisputeID       string           `dynamodbav:"disputeId,omitempty"`
	DisputeStatus   string           `dynamodbav:"disputeStatus,omitempty"`
	EventID         string           `dynamodbav:"eventId"`
	Flags           []string         `dynamodbav:"flags,omitempty"`
	Channel         string           `dynamodbav:"channel,omitempty"`
	Email           *feedEmailRecord `dynamodbav:"email,omitempty"`
}

type feedEmailRecord struct {
	MessageID     string `dynamodbav:"messageId"`
	To            string `dynamodbav:"to"`
	Kind          string `dynamodbav:"kind"`
	Status        string `dynamodbav:"status"`
	BounceType    string `dynamodbav:"bounceType,omitempty"`
	BounceSubType string `dynamodbav:"bounceSubType,omitempty"`
}

func toFeedRecord(companyID string, e *billing.FeedEntry) feedRecord {
	r := feedRecord{
		PK: companyPK(companyID), SK: feedSK(e.Seq), Seq: e.Seq, RecordedAt: e.RecordedAt, InvoiceID: e.InvoiceID,
		Kind: e.Kind, Amount: e.Amount, NetChange: e.NetChange, Currency: e.Currency, BalanceDue: e.BalanceDue, Overpaid: e.Overpaid,
		Status: e.Status, PaymentIntentID: e.PaymentIntentID, RefundID: e.RefundID, Reason: e.Reason,
		DisputeID: e.DisputeID, DisputeStatus: e.DisputeStatus, EventID: e.EventID, Flags: e.Flags, Channel: e.Channel,
	}
	if m := e.Email; m != nil {
		r.Email = &feedEmailRecord{m.MessageID, m.To, string(m.Kind), string(m.Status), m.BounceType, m.BounceSubType}
	}
	return r
}

func (r *feedRecord) entry() billing.FeedEntry {
	e := billing.FeedEntry{
		Seq: r.Seq, RecordedAt: r.RecordedAt, InvoiceID: r.InvoiceID, Kind: r.Kind, Amount: r.Amount, NetChange: r.NetChange,
		Currency: r.Currency, BalanceDue: r.BalanceDue, Overpaid: r.Overpaid, Status: r.Status,
		PaymentIntentID: r.PaymentIntentID, RefundID: r.RefundID, Reason: r.Reason, DisputeID: r.DisputeID, DisputeStatus: r.DisputeStatus,
		EventID: r.EventID, Flags: r.Flags, Channel: r.Channel,
	}
	if m := r.Email; m != nil {
		e.Email = &billing.FeedEmail{MessageID: m.MessageID, To: m.To, Kind: billing.EmailKind(m.Kind), Status: billing.EmailStatus(m.Status),
			BounceType: m.BounceType, BounceSubType: m.BounceSubType}
	}
	return e
}
