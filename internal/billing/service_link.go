package billing

import (
	"context"
	"errors"
)

// CreateLink makes a payment link for the full balance due and reports
// whether it made one: when the invoice already has an active link for that
// amount, that link is returned and Stripe is not called.
// requestKey is the request's Idempotency-Key ("" without one).
func (s *Service) CreateLink(ctx context.Context, tenant, invoiceID, requestKey string) (*Link, bool, error) {
	return s.makeLink(ctx, tenant, invoiceID, requestKey, false)
}

// RegenerateLink always makes a new link; the active one, if any, is
// deactivated at Stripe and kept in history as replaced.
func (s *Service) RegenerateLink(ctx context.Context, tenant, invoiceID, requestKey string) (*Link, error) {
	l, _, err := s.makeLink(ctx, tenant, invoiceID, requestKey, true)
	return l, err
}

func (s *Service) makeLink(ctx context.Context, tenant, invoiceID, requestKey string, regenerate bool) (*Link, bool, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, false, err
	}
	for range maxAttempts {
		inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
		if err != nil {
			return nil, false, err
		}
		inv, _, finished, err := s.settleLink(ctx, inv, company)
		if errors.Is(err, errRetry) {
			continue
		} else if err != nil {
			return nil, false, err
		}
		if l := inv.linkMadeBy(requestKey); l != nil {
			return l, true, nil // a retry of a request whose link was recorded
		}
		if err := checkLinkable(inv, company); err != nil {
			return nil, false, err
		}
		if l := currentLink(inv, company); l != nil {
			// A link made just now by finishing an earlier attempt (one
			// that failed on a Stripe outage, say) is this request's new
			// link, for create and regenerate alike.
			if finished != nil && l.Generation == finished.Generation {
				return l, true, nil
			}
			if !regenerate {
				return l, false, nil
			}
		}
		plan := linkPlan(inv, company, inv.language(company))
		plan.Create.RequestKey = requestKey
		stored, link, err := s.runPlan(ctx, inv, company, plan, planHooks{})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if link == nil || link.Status != LinkActive {
			// Paid through another link while this one was being made.
			return nil, false, firstError(checkLinkable(stored, company), conflictError())
		}
		return link, true, nil
	}
	return nil, false, conflictError()
}

// RemoveLink deactivates the active link at Stripe and keeps it in history
// as removed.
func (s *Service) RemoveLink(ctx context.Context, tenant, invoiceID, requestKey string) error {
	if err := checkInvoiceID(invoiceID); err != nil {
		return err
	}
	for range maxAttempts {
		inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
		if err != nil {
			return err
		}
		inv, finished, _, err := s.settleLink(ctx, inv, company)
		if errors.Is(err, errRetry) {
			continue
		} else if err != nil {
			return err
		}
		if finished != nil && finished.Create == nil && finished.End != nil && finished.End.Status == LinkRemoved && finished.End.Reason == "" {
			return nil // an earlier removal, cut short, was just finished: this is its retry
		}
		if inv.linkEndedBy(requestKey) != nil {
			return nil // a retry of a removal that was recorded
		}
		active := inv.ActiveLink()
		if active == nil {
			return Errorf(CodeNoActiveLink, "the invoice has no active payment link")
		}
		plan := &LinkPlan{End: &LinkEnd{Generation: active.Generation, Status: LinkRemoved, RequestKey: requestKey}}
		if _, _, err = s.runPlan(ctx, inv, company, plan, planHooks{}); errors.Is(err, errRetry) {
			continue
		}
		return err
	}
	return conflictError()
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

// linkPlan makes a new link and replaces the active one, if any.
func linkPlan(inv *Invoice, c *Company, lang Language) *LinkPlan {
	p := &LinkPlan{Create: newLinkSpec(inv, c, lang)}
	if old := inv.ActiveLink(); old != nil {
		p.End = &LinkEnd{Generation: old.Generation, Status: LinkReplaced}
	}
	return p
}
