package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// readerAttemptRecord is one of an invoice's reader payment attempts,
// stored with the invoice (one conditional write decides it with the
// invoice's money).
type readerAttemptRecord struct {
	ID              string        `dynamodbav:"id"`
	Number          int           `dynamodbav:"number"`
	ReaderID        string        `dynamodbav:"readerId"`
	AccountID       string        `dynamodbav:"accountId"`
	PaymentIntentID string        `dynamodbav:"paymentIntentId,omitempty"`
	Amount          int64         `dynamodbav:"amount"`
	Currency        string        `dynamodbav:"currency"`
	Status          string        `dynamodbav:"status"`
	Reason          string        `dynamodbav:"reason,omitempty"`
	Tries           int           `dynamodbav:"tries,omitempty"`
	RequestKey      string        `dynamodbav:"requestKey,omitempty"`
	Until           time.Time     `dynamodbav:"until,omitempty"`
	Owed            string        `dynamodbav:"owed,omitempty"`
	SentAt          time.Time     `dynamodbav:"sentAt,omitempty"`
	Method          *methodRecord `dynamodbav:"method,omitempty"`
	CreatedAt       time.Time     `dynamodbav:"createdAt"`
	UpdatedAt       time.Time     `dynamodbav:"updatedAt"`
}

// methodRecord is how a reader payment was made: the type, the brand and
// the last four digits, never more.
type methodRecord struct {
	Type  string `dynamodbav:"type"`
	Brand string `dynamodbav:"brand,omitempty"`
	Bank  string `dynamodbav:"bank,omitempty"`
	Last4 string `dynamodbav:"last4,omitempty"`
}

func toMethodRecord(m *billing.PaymentMethod) *methodRecord {
	if m == nil {
		return nil
	}
	return &methodRecord{m.Type, m.Brand, m.Bank, m.Last4}
}

func (r *methodRecord) method() *billing.PaymentMethod {
	if r == nil {
		return nil
	}
	return &billing.PaymentMethod{Type: r.Type, Brand: r.Brand, Bank: r.Bank, Last4: r.Last4}
}

func toAttemptRecords(as []billing.ReaderAttempt) []readerAttemptRecord {
	var out []readerAttemptRecord
	for _, a := range as {
		out = append(out, readerAttemptRecord{a.ID, a.Number, a.ReaderID, a.AccountID, a.PaymentIntentID, a.Amount, a.Currency,
			a.Status, a.Reason, a.Tries, a.RequestKey, a.Until, a.Owed, a.SentAt, toMethodRecord(a.Method), a.CreatedAt, a.UpdatedAt})
	}
	return out
}

func attempts(rs []readerAttemptRecord) []billing.ReaderAttempt {
	var out []billing.ReaderAttempt
	for _, r := range rs {
		out = append(out, billing.ReaderAttempt{ID: r.ID, Number: r.Number, ReaderID: r.ReaderID, AccountID: r.AccountID,
			PaymentIntentID: r.PaymentIntentID, Amount: r.Amount, Currency: r.Currency, Status: r.Status, Reason: r.Reason,
			Tries: r.Tries, RequestKey: r.RequestKey, Until: r.Until.UTC(), Owed: r.Owed, SentAt: r.SentAt.UTC(), Method: r.Method.method(),
			CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out
}
