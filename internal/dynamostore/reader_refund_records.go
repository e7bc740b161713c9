package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// readerRefundRecord is one of an invoice's refunds asked of a reader,
// stored with the invoice.
type readerRefundRecord struct {
	ID              string    `dynamodbav:"id"`
	Number          int       `dynamodbav:"number"`
	ReaderID        string    `dynamodbav:"readerId"`
	AccountID       string    `dynamodbav:"accountId"`
	PaymentIntentID string    `dynamodbav:"paymentIntentId"`
	Amount          int64     `dynamodbav:"amount"`
	Currency        string    `dynamodbav:"currency"`
	Status          string    `dynamodbav:"status"`
	Reason          string    `dynamodbav:"reason,omitempty"`
	Tries           int       `dynamodbav:"tries,omitempty"`
	RequestKey      string    `dynamodbav:"requestKey,omitempty"`
	Until           time.Time `dynamodbav:"until,omitempty"`
	RefundID        string    `dynamodbav:"refundId,omitempty"`
	CreatedAt       time.Time `dynamodbav:"createdAt"`
	UpdatedAt       time.Time `dynamodbav:"updatedAt"`
}

func toRefundAttemptRecords(rs []billing.ReaderRefund) []readerRefundRecord {
	var out []readerRefundRecord
	for _, r := range rs {
		out = append(out, readerRefundRecord{r.ID, r.Number, r.ReaderID, r.AccountID, r.PaymentIntentID, r.Amount, r.Currency,
			r.Status, r.Reason, r.Tries, r.RequestKey, r.Until, r.RefundID, r.CreatedAt, r.UpdatedAt})
	}
	return out
}

func refundAttempts(rs []readerRefundRecord) []billing.ReaderRefund {
	var out []billing.ReaderRefund
	for _, r := range rs {
		out = append(out, billing.ReaderRefund{ID: r.ID, Number: r.Number, ReaderID: r.ReaderID, AccountID: r.AccountID,
			PaymentIntentID: r.PaymentIntentID, Amount: r.Amount, Currency: r.Currency, Status: r.Status, Reason: r.Reason,
			Tries: r.Tries, RequestKey: r.RequestKey, Until: r.Until.UTC(), RefundID: r.RefundID,
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out
}
