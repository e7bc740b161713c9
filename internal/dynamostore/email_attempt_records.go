package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// emailAttemptRecord is a staff e-mail marked before SES was called under
// a request's Idempotency-Key (billing.EmailAttempt), stored with the
// invoice.
type emailAttemptRecord struct {
	RequestKey     string    `dynamodbav:"requestKey"`
	Token          string    `dynamodbav:"token"`
	At             time.Time `dynamodbav:"at"`
	To             string    `dynamodbav:"to"`
	Language       string    `dynamodbav:"language"`
	LinkGeneration int       `dynamodbav:"linkGeneration,omitempty"`
	PDF            bool      `dynamodbav:"pdf,omitempty"`
}

func toEmailAttemptRecords(as []billing.EmailAttempt) []emailAttemptRecord {
	var rs []emailAttemptRecord
	for _, a := range as {
		rs = append(rs, emailAttemptRecord{a.RequestKey, a.Token, a.At, a.To, string(a.Language), a.LinkGeneration, a.PDF})
	}
	return rs
}

func emailAttempts(rs []emailAttemptRecord) []billing.EmailAttempt {
	var as []billing.EmailAttempt
	for _, r := range rs {
		as = append(as, billing.EmailAttempt{RequestKey: r.RequestKey, Token: r.Token, At: r.At.UTC(), To: r.To,
			Language: billing.Language(r.Language), LinkGeneration: r.LinkGeneration, PDF: r.PDF})
	}
	return as
}
