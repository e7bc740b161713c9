package billing

import (
	"context"
	"errors"
)

// GetInvoice returns one of the caller's invoices.
func (s *Service) GetInvoice(ctx context.Context, tenant, invoiceID string) (*Invoice, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, err
	}
	inv, err := s.store.GetInvoice(ctx, tenant, invoiceID)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("invoice")
	}
	if err != nil {
		return nil, storeError("read invoice", err)
	}
	return inv, nil
}

// PutInvoice creates or replaces the clinic's part of an invoice and reports
// whether it was created. A payment link must always ask for the full amount
// due, so when the balance or the currency changes the active link is
// deactivated at Stripe (kept in history as removed, reason amount_changed)
// before the new amounts are stored.
func (s *Service) PutInvoice(ctx context.Context, tenant, invoiceID string, in *InvoiceInput) (*Invoice, bool, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, false, err
	}
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	want := in.fields()
	for range maxAttempts {
		inv, company, err := s.store.GetInvoiceAndCompany(ctx, tenant, invoiceID)
		if errors.Is(err, ErrNotFound) {
			inv, err := s.createInvoice(ctx, tenant, invoiceID, want)
			if errors.Is(err, errRetry) {
				continue
			}
			return inv, err == nil, err
		}
		if err != nil {
			return nil, false, storeError("read invoice", err)
		}
		inv, err = s.settle(ctx, inv, company)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		inv, err = s.updateInvoice(ctx, inv, company, want)
		if errors.Is(err, errRetry) {
			continue
		}
		return inv, false, err
	}
	return nil, false, conflictError()
}

func (s *Service) createInvoice(ctx context.Context, tenant, invoiceID string, f invoiceFields) (*Invoice, error) {
	now := s.clock()
	inv := &Invoice{CompanyID: tenant, ID: invoiceID, Version: 1, CreatedAt: now, UpdatedAt: now}
	inv.setFields(f)
	if err := s.store.PutInvoice(ctx, inv); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, errRetry
		}
		return nil, storeError("create invoice", err)
	}
	return inv, nil
}

func (s *Service) updateInvoice(ctx context.Context, inv *Invoice, company *Company, want invoiceFields) (*Invoice, error) {
	have := inv.fields()
	if have.equal(want) {
		return inv, nil
	}
	if have.moneyChanged(want) {
		// The balance follows the online payments from here on.
		if inv.PaidOnline() {
			return nil, Errorf(CodeInvoicePaid, "this invoice was paid online: its amounts can't change (other fields can)")
		}
		if inv.processing() {
			return nil, Errorf(CodePaymentProcessing, "a payment for this invoice is being processed: its amounts can't change now")
		}
	}
	apply := func(inv *Invoice) { inv.setFields(want) }
	if l := inv.ActiveLink(); l != nil && (l.Amount != want.BalanceDue || l.Currency != want.Currency) {
		plan := &LinkPlan{End: &LinkEnd{Generation: l.Generation, Status: LinkRemoved, Reason: ReasonAmountChanged}}
		inv, _, err := s.runPlan(ctx, inv, company, plan, planHooks{finish: apply})
		return inv, err
	}
	next := *inv
	apply(&next)
	next.Version++
	next.UpdatedAt = s.clock()
	if err := s.store.PutInvoice(ctx, &next); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, errRetry
		}
		return nil, storeError("update invoice", err)
	}
	return &next, nil
}
