package billing

import (
	"fmt"
	"time"
)

// LinkStatus is where a payment link is in its life.
type LinkStatus string

// Link statuses. Only an active link can be paid; the others are history.
const (
	LinkActive   LinkStatus = "active"
	LinkReplaced LinkStatus = "replaced" // a new link was generated in its place
	LinkRemoved  LinkStatus = "removed"  // staff removed it, or the amount due changed
	// LinkCompleted: a patient completed its checkout; its one-session
	// limit was reached, so Stripe deactivated it.
	LinkCompleted LinkStatus = "completed"
)

// Reasons recorded on a link that ended for a reason other than the staff's
// own action.
const (
	ReasonAmountChanged = "amount_changed"
	// ReasonReplacementFailed: the new link of a regenerate was ended again
	// because Stripe would not deactivate the old one.
	ReasonReplacementFailed = "replacement_failed"
	// ReasonPaidOnline: the invoice was paid (or a payment is clearing)
	// through another link, so this one must not take a second payment.
	ReasonPaidOnline = "paid_online"
)

// Link is one Stripe Payment Link made for an invoice.
type Link struct {
	// Generation numbers the attempts to make a link for the invoice; it is
	// part of the Stripe idempotency keys and of the link's metadata.
	Generation int
	ID         string // Stripe's plink_… id
	URL        string
	PriceID    string
	// AccountID is the connected account the link lives on; a clinic that
	// changes accounts still has its older links deactivated on the old one.
	AccountID string
	Amount    int64
	Currency  string
	Language  Language
	Status    LinkStatus
	Reason    string
	CreatedAt time.Time
	EndedAt   time.Time // zero while active
	// RequestKey and EndRequestKey are the Idempotency-Keys of the requests
	// that made and ended the link: a retry of either, after it was
	// recorded, finds its result here rather than doing the work again.
	RequestKey    string
	EndRequestKey string
}

// LinkPlan is a change to an invoice's links that needs Stripe calls: make a
// link, end one, or both, and possibly send the invoice e-mail in between.
//
// The plan is written to the invoice (the claim) before the first Stripe
// call. That write is conditional on the invoice's version, so two requests
// can't both work on one invoice, and it leaves a trace when a Lambda dies
// half-way: the next request on the invoice finds the plan after its lease
// has run out and finishes it with the same Stripe idempotency keys, which
// return the same Stripe objects. Only then is the plan removed.
type LinkPlan struct {
	// Token identifies the request that holds the lease.
	Token      string
	LeaseUntil time.Time
	Create     *LinkSpec
	End        *LinkEnd
	// Email is set while an e-mail with the link is being sent, so that no
	// other request ends the link before the e-mail has left.
	Email bool
}

// LinkSpec is what the new link asks for; it is fixed when the plan is made so
// that a retry sends Stripe the very same parameters.
type LinkSpec struct {
	Generation          int
	AccountID           string
	Amount              int64
	Currency            string
	Language            Language
	ProductName         string
	InactiveMessage     string
	ConfirmationMessage string
	RequestKey          string
}

// LinkEnd says which link to deactivate and how to record it.
type LinkEnd struct {
	Generation int
	Status     LinkStatus
	Reason     string
	RequestKey string
}

// idempotencyKey derives the Stripe idempotency key of one step of making or
// ending a link: the same tenant, invoice, generation and step always give
// the same key, so a retried step returns the object the first try made.
func idempotencyKey(companyID, invoiceID string, generation int, step string) string {
	return fmt.Sprintf("clinicpay/v1/%s/%s/%d/%s", companyID, invoiceID, generation, step)
}

// Metadata keys put on Stripe objects; webhooks find the invoice with them.
// They hold identifiers only, never a patient's details.
const (
	MetaCompanyID  = "billing_company_id"
	MetaInvoiceID  = "invoice_id"
	MetaGeneration = "link_generation"
)
