package dynamostore

import (
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// eventRetention: Stripe retries a delivery for up to three days; the
// record outlives that comfortably, then TTL removes it.
const eventRetention = 90 * 24 * time.Hour

type eventRecord struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	ID         string    `dynamodbav:"id"`
	Type       string    `dynamodbav:"type"`
	AccountID  string    `dynamodbav:"accountId"`
	Outcome    string    `dynamodbav:"outcome"`
	Reason     string    `dynamodbav:"reason,omitempty"`
	CompanyID  string    `dynamodbav:"companyId,omitempty"`
	InvoiceID  string    `dynamodbav:"invoiceId,omitempty"`
	ReceivedAt time.Time `dynamodbav:"receivedAt"`
	ExpiresAt  int64     `dynamodbav:"expiresAt"`
}

type refRecord struct {
	PK              string         `dynamodbav:"pk"`
	SK              string         `dynamodbav:"sk"`
	AccountID       string         `dynamodbav:"accountId"`
	PaymentIntentID string         `dynamodbav:"paymentIntentId"`
	CompanyID       string         `dynamodbav:"companyId,omitempty"`
	InvoiceID       string         `dynamodbav:"invoiceId,omitempty"`
	Pending         *paymentRecord `dynamodbav:"pending,omitempty"`
	Version         int64          `dynamodbav:"version"`
	// ExpiresAt (TTL) is set while the reference only holds facts waiting
	// for a payment that may never come (a refund of another platform's
	// charge, a forged event); it is removed once the payment is seen.
	ExpiresAt int64 `dynamodbav:"expiresAt,omitempty"`
}

func toEventRecord(e *billing.EventRecord) eventRecord {
	return eventRecord{
		PK: eventPK(e.ID), SK: eventSK, ID: e.ID, Type: e.Type, AccountID: e.AccountID, Outcome: string(e.Outcome),
		Reason: e.Reason, CompanyID: e.CompanyID, InvoiceID: e.InvoiceID, ReceivedAt: e.ReceivedAt,
		ExpiresAt: e.ReceivedAt.Add(eventRetention).Unix(),
	}
}

func (r *eventRecord) event() *billing.EventRecord {
	return &billing.EventRecord{ID: r.ID, Type: r.Type, AccountID: r.AccountID, Outcome: billing.EventOutcome(r.Outcome),
		Reason: r.Reason, CompanyID: r.CompanyID, InvoiceID: r.InvoiceID, ReceivedAt: r.ReceivedAt}
}

func toRefRecord(ref *billing.PaymentRef, now time.Time) refRecord {
	r := refRecord{PK: refPK(ref.AccountID, ref.PaymentIntentID), SK: refSK, AccountID: ref.AccountID,
		PaymentIntentID: ref.PaymentIntentID, CompanyID: ref.CompanyID, InvoiceID: ref.InvoiceID, Version: ref.Version}
	if ref.InvoiceID == "" {
		r.ExpiresAt = now.Add(eventRetention).Unix()
	}
	if ref.Pending != nil {
		p := toPaymentRecord(ref.Pending)
		r.Pending = &p
	}
	return r
}

func (r *refRecord) ref() *billing.PaymentRef {
	ref := &billing.PaymentRef{AccountID: r.AccountID, PaymentIntentID: r.PaymentIntentID, CompanyID: r.CompanyID,
		InvoiceID: r.InvoiceID, Version: r.Version}
	if r.Pending != nil {
		p := r.Pending.payment()
		ref.Pending = &p
	}
	return ref
}
