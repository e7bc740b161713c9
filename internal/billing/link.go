package billing

import (
	"context"
	"fmt"
	"strconv"
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

// MaxLinksPerInvoice keeps one invoice's history (stored with it) small.
const MaxLinksPerInvoice = 100

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
	// that made and ended the link (doc.go: why the key is kept in two layers).
	RequestKey    string
	EndRequestKey string
	// PaidNotice is whether the link's Stripe page says it was paid
	// (paid_link.go): PaidNoticeAt is when the next try is due while it is
	// owed, and when it ended after; PaidNoticeTries counts the tries.
	PaidNotice      PaidNotice
	PaidNoticeAt    time.Time
	PaidNoticeTries int
}

// NewLink is a link about to be made: everything Stripe is asked, fixed when
// the change is planned, so that a retry sends the very same request.
type NewLink struct {
	CompanyID  string
	InvoiceID  string
	Generation int
	AccountID  string
	Amount     int64
	Currency   string
	Language   Language
	Page       PageText
	RequestKey string
}

// Metadata keys put on Stripe objects; webhooks find the invoice with them.
// They hold identifiers only, never a patient's details.
const (
	MetaCompanyID  = "billing_company_id"
	MetaInvoiceID  = "invoice_id"
	MetaGeneration = "link_generation"
)

// Metadata is what the link and its payments carry to Stripe.
func (n *NewLink) Metadata() map[string]string {
	return map[string]string{MetaCompanyID: n.CompanyID, MetaInvoiceID: n.InvoiceID, MetaGeneration: strconv.Itoa(n.Generation)}
}

// Link idempotency steps.
const (
	StepPrice      = "price"
	StepLink       = "link"
	StepDeactivate = "deactivate"
	// StepPaidMessage (with the try's number) sets a paid link's message.
	StepPaidMessage = "paid-message"
)

// IdempotencyKey is the Stripe idempotency key of one step of making the
// link (StepPrice, StepLink).
func (n *NewLink) IdempotencyKey(step string) string {
	return idempotencyKey(n.CompanyID, n.InvoiceID, n.Generation, step)
}

// Made is the link Stripe made for n, active.
func (n *NewLink) Made(id, url, priceID string) Link {
	return Link{Generation: n.Generation, ID: id, URL: url, PriceID: priceID, AccountID: n.AccountID,
		Amount: n.Amount, Currency: n.Currency, Language: n.Language, Status: LinkActive, RequestKey: n.RequestKey}
}

// idempotencyKey derives the Stripe idempotency key of one step of making or
// ending a link: the same tenant, invoice, generation and step always give
// the same key, so a retried step returns the object the first try made.
func idempotencyKey(companyID, invoiceID string, generation int, step string) string {
	return fmt.Sprintf("clinicpay/v1/%s/%s/%d/%s", companyID, invoiceID, generation, step)
}

func deactivationKey(inv *Invoice, generation int) string {
	return idempotencyKey(inv.CompanyID, inv.ID, generation, StepDeactivate)
}

// LinkEnd says which link to deactivate and how to record it.
type LinkEnd struct {
	Generation int
	Status     LinkStatus
	Reason     string
	RequestKey string
}

// newLinkFor fixes what a new link for the invoice asks for.
func newLinkFor(inv *Invoice, c *Company, lang Language, requestKey string) *NewLink {
	return &NewLink{
		CompanyID: inv.CompanyID, InvoiceID: inv.ID, Generation: inv.LastGeneration + 1,
		AccountID: c.StripeAccountID, Amount: inv.BalanceDue, Currency: inv.Currency, Language: lang,
		Page: pageText(lang, inv.Number, c.Name), RequestKey: requestKey,
	}
}

// replaceWith makes a new link and replaces the active one, if any.
func replaceWith(inv *Invoice, n *NewLink) *LinkChange {
	c := &LinkChange{Make: n}
	if old := inv.ActiveLink(); old != nil {
		c.End = &LinkEnd{Generation: old.Generation, Status: LinkReplaced}
	}
	return c
}

// ActiveLink returns the link a patient can pay with now, or nil.
func (inv *Invoice) ActiveLink() *Link {
	for i := len(inv.Links) - 1; i >= 0; i-- {
		if inv.Links[i].Status == LinkActive {
			return &inv.Links[i]
		}
	}
	return nil
}

// link returns the link of a generation, or nil.
func (inv *Invoice) link(generation int) *Link {
	for i := range inv.Links {
		if inv.Links[i].Generation == generation {
			return &inv.Links[i]
		}
	}
	return nil
}

func (inv *Invoice) endLink(end *LinkEnd, now time.Time) {
	if l := inv.link(end.Generation); l != nil && l.Status == LinkActive {
		l.Status, l.Reason, l.EndedAt, l.EndRequestKey = end.Status, end.Reason, now, end.RequestKey
	}
}

// linkMadeBy returns the link made by the request with that key, if any.
func (inv *Invoice) linkMadeBy(requestKey string) *Link {
	for i := range inv.Links {
		if requestKey != "" && inv.Links[i].RequestKey == requestKey {
			return &inv.Links[i]
		}
	}
	return nil
}

// linkEndedBy returns the link ended by the request with that key, if any.
func (inv *Invoice) linkEndedBy(requestKey string) *Link {
	for i := range inv.Links {
		if requestKey != "" && inv.Links[i].EndRequestKey == requestKey {
			return &inv.Links[i]
		}
	}
	return nil
}

// LinkBlocker says why no payment link can be made for the invoice now (an
// *Error with the code a link request would get), or nil. The invoice view
// shows it, so staff know before they click.
func LinkBlocker(inv *Invoice, c *Company) *Error {
	if inv.ReaderPayment().InProgress() {
		return Errorf(CodeReaderPaymentInProgress, "this invoice is being paid on a reader")
	}
	if inv.BalanceDue <= 0 && inv.Status() == StatusDisputeLost {
		return Errorf(CodeNothingDue, "nothing is due on this invoice: its online payment was taken back by a lost dispute (a chargeback); "+
			"to ask the patient again, set balanceDue (PUT with If-Match)")
	}
	if inv.PaidOnline() {
		return Errorf(CodeInvoicePaid, "this invoice was paid online")
	}
	if inv.processing() {
		return Errorf(CodePaymentProcessing, "a payment for this invoice is being processed")
	}
	if inv.BalanceDue <= 0 {
		return Errorf(CodeNothingDue, "nothing is due on this invoice")
	}
	if err := c.linkBlocker(); err != nil {
		return err
	}
	if len(inv.Links) >= MaxLinksPerInvoice {
		return Errorf(CodeLimitReached, "this invoice already had %d payment links; contact support", MaxLinksPerInvoice)
	}
	return nil
}

// checkLinkable is LinkBlocker as an error (nil when a link can be made).
func checkLinkable(inv *Invoice, c *Company) error {
	if e := LinkBlocker(inv, c); e != nil {
		return e
	}
	return nil
}

// currentLink is the active link if it asks for exactly what is due now, on
// the company's current account.
func currentLink(inv *Invoice, c *Company) *Link {
	l := inv.ActiveLink()
	if l == nil || l.Amount != inv.BalanceDue || l.Currency != inv.Currency || l.AccountID != c.StripeAccountID {
		return nil
	}
	return l
}

// CreateLink makes a payment link for the full balance due and reports
// whether it made one: when the invoice already has an active link for that
// amount, that link is returned and Stripe is not called.
// requestKey is the request's Idempotency-Key ("" without one).
func (s *Service) CreateLink(ctx context.Context, caller Caller, invoiceID, requestKey string) (*Link, bool, error) {
	return s.makeLink(ctx, caller.Tenant, invoiceID, requestKey, false)
}

// RegenerateLink always makes a new link; the active one, if any, is
// deactivated at Stripe and kept in history as replaced.
func (s *Service) RegenerateLink(ctx context.Context, caller Caller, invoiceID, requestKey string) (*Link, error) {
	l, _, err := s.makeLink(ctx, caller.Tenant, invoiceID, requestKey, true)
	return l, err
}

func (s *Service) makeLink(ctx context.Context, tenant, invoiceID, requestKey string, regenerate bool) (*Link, bool, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, false, err
	}
	out, err := retrying(ctx, contention, func() (linkOutcome, error) {
		return s.makeLinkOnce(ctx, tenant, invoiceID, requestKey, regenerate)
	})
	return out.link, out.made, err
}

// linkOutcome is the link a request gets, and whether it made it.
type linkOutcome struct {
	link *Link
	made bool
}

// makeLinkOnce is one attempt at makeLink, from the invoice as stored now;
// errRetry when another writer got there first.
func (s *Service) makeLinkOnce(ctx context.Context, tenant, invoiceID, requestKey string, regenerate bool) (linkOutcome, error) {
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return linkOutcome{}, err
	}
	inv, _, finished, err := s.settle(ctx, inv, company)
	if err != nil {
		return linkOutcome{}, err
	}
	if l := inv.linkMadeBy(requestKey); l != nil {
		return linkOutcome{l, true}, nil // a retry of a request whose link was recorded
	}
	if err := checkLinkable(inv, company); err != nil {
		return linkOutcome{}, err
	}
	if l := currentLink(inv, company); l != nil {
		// A link made just now by finishing an earlier attempt (one
		// that failed on a Stripe outage, say) is this request's new
		// link, for create and regenerate alike.
		if finished != nil && l.Generation == finished.Generation {
			return linkOutcome{l, true}, nil
		}
		if !regenerate {
			return linkOutcome{l, false}, nil
		}
	}
	change := replaceWith(inv, newLinkFor(inv, company, inv.language(company), requestKey))
	stored, made, err := s.carryOut(ctx, inv, company, change, nil)
	if err != nil {
		return linkOutcome{}, err
	}
	if made == nil || made.Status != LinkActive {
		// Paid through another link while this one was being made.
		return linkOutcome{}, firstError(checkLinkable(stored, company), conflictError())
	}
	return linkOutcome{made, true}, nil
}

// RemoveLink deactivates the active link at Stripe and keeps it in history
// as removed.
func (s *Service) RemoveLink(ctx context.Context, caller Caller, invoiceID, requestKey string) error {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return err
	}
	_, err := retrying(ctx, contention, func() (*Invoice, error) {
		return s.removeLinkOnce(ctx, tenant, invoiceID, requestKey)
	})
	return err
}

// removeLinkOnce is one attempt at RemoveLink, from the invoice as stored
// now; errRetry when another writer got there first.
func (s *Service) removeLinkOnce(ctx context.Context, tenant, invoiceID, requestKey string) (*Invoice, error) {
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return nil, err
	}
	inv, finished, _, err := s.settle(ctx, inv, company)
	if err != nil {
		return nil, err
	}
	if finished != nil && finished.Make == nil && finished.End != nil && finished.End.Status == LinkRemoved && finished.End.Reason == "" {
		return inv, nil // an earlier removal, cut short, was just finished: this is its retry
	}
	if inv.linkEndedBy(requestKey) != nil {
		return inv, nil // a retry of a removal that was recorded
	}
	active := inv.ActiveLink()
	if active == nil {
		return nil, Errorf(CodeNoActiveLink, "the invoice has no active payment link")
	}
	change := &LinkChange{End: &LinkEnd{Generation: active.Generation, Status: LinkRemoved, RequestKey: requestKey}}
	stored, _, err := s.carryOut(ctx, inv, company, change, nil)
	return stored, err
}

// needsReconcile reports an active link that no longer asks for what is
// due, or that must not take a payment while another one clears.
func (inv *Invoice) needsReconcile() bool {
	a := inv.ActiveLink()
	return a != nil && (inv.processing() || a.Amount != inv.BalanceDue || a.Currency != inv.Currency)
}

// reconcileLink ends the active link when it no longer asks for what is due:
// the invoice was paid (or a payment is clearing) through another link, or
// the amount changed under it. A link must never take a second payment.
func (s *Service) reconcileLink(ctx context.Context, inv *Invoice, company *Company) (*Invoice, error) {
	return s.retryingInvoice(ctx, contention, inv, func(inv *Invoice) (*Invoice, error) {
		if !inv.needsReconcile() {
			return inv, nil
		}
		if inv.Lease != nil && s.clock().Before(inv.Lease.Until) {
			return inv, nil // the request holding the invoice reconciles when it is done
		}
		reason := ReasonAmountChanged
		if inv.processing() || inv.PaidOnline() {
			reason = ReasonPaidOnline
		}
		change := &LinkChange{End: &LinkEnd{Generation: inv.ActiveLink().Generation, Status: LinkRemoved, Reason: reason}}
		if inv.Lease != nil {
			change = inv.Lease.Change // a stale lease's change goes first
		}
		stored, _, err := s.carryOut(ctx, inv, company, change, nil)
		return stored, err
	})
}
