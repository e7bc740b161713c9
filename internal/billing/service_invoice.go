package billing

import (
	"context"
	"errors"
	"fmt"
)

// GetInvoice returns one of the caller's invoices, and its company (nil
// when the company has no record yet), which says whether links can be
// made.
func (s *Service) GetInvoice(ctx context.Context, tenant, invoiceID string) (*Invoice, *Company, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	return s.loadInvoice(ctx, tenant, invoiceID)
}

// Precondition is a client's If-Match: the invoice versions it has seen
// (from ETags). A client that sends none has no precondition.
type Precondition struct {
	Given    bool
	Versions []int64
}

func (p Precondition) matches(version int64) bool {
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}

// PutInvoice creates or replaces the clinic's part of an invoice and reports
// whether it was created. A payment link must always ask for the full amount
// due, so when the balance or the currency changes the active link is
// deactivated at Stripe (kept in history as removed, reason amount_changed)
// before the new amounts are stored. Lost updates are prevented the HTTP
// way: with If-Match, a write based on a stale version fails; once an
// online payment exists, a change of the amounts needs one.
func (s *Service) PutInvoice(ctx context.Context, tenant, invoiceID string, in *InvoiceInput, pre Precondition) (inv *Invoice, company *Company, created bool, err error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, false, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, false, err
	}
	want := in.fields()
	for range maxAttempts {
		inv, company, err = s.store.GetInvoiceAndCompany(ctx, tenant, invoiceID)
		if errors.Is(err, ErrNotFound) {
			if pre.Given {
				return nil, nil, false, preconditionFailed()
			}
			inv, err := s.createInvoice(ctx, tenant, invoiceID, want)
			if errors.Is(err, errRetry) {
				continue
			}
			return inv, company, err == nil, err
		}
		if err != nil {
			return nil, nil, false, storeError("read invoice", err)
		}
		if pre.Given && !pre.matches(inv.Version) {
			return nil, nil, false, preconditionFailed()
		}
		inv, err = s.settle(ctx, inv, company)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, nil, false, err
		}
		inv, err = s.updateInvoice(ctx, inv, company, want, pre)
		if errors.Is(err, errRetry) {
			continue
		}
		return inv, company, false, err
	}
	return nil, nil, false, conflictError()
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

func (s *Service) updateInvoice(ctx context.Context, inv *Invoice, company *Company, want invoiceFields, pre Precondition) (*Invoice, error) {
	have := inv.fields()
	if have.equal(want) {
		return inv, nil
	}
	if err := inv.checkAmountChange(have, want, pre); err != nil {
		return nil, err
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

// checkAmountChange applies the balance rule to a PUT: the balance never
// exceeds what the patient has not paid online, and once a payment went
// through a link (even if refunded or disputed since) the total and the
// currency are fixed and the balance moves only with a precondition, so a
// billing module replaying a stale write can't undo what the feed told it.
func (inv *Invoice) checkAmountChange(have, want invoiceFields, pre Precondition) error {
	if have.Currency == want.Currency && have.Total == want.Total && have.BalanceDue == want.BalanceDue {
		return nil
	}
	if inv.hasOnlinePayment() {
		if !pre.Given {
			return Errorf(CodePreconditionRequired, "this invoice has an online payment: send If-Match with its ETag to change total, currency or balanceDue")
		}
		if have.Currency != want.Currency || have.Total != want.Total {
			return Errorf(CodeInvoicePaid, "this invoice has an online payment: its total and currency can't change (other fields can)")
		}
		if inv.processing() {
			return Errorf(CodePaymentProcessing, "a payment for this invoice is being processed: its balance can't change now")
		}
	}
	if most := max(want.Total-inv.NetPaidOnline(), 0); want.BalanceDue > most {
		return &Error{Code: CodeBalanceExceedsUnpaid, Field: "balanceDue",
			Message: fmt.Sprintf("balanceDue can be at most %d: total %d less %d paid online (net of refunds and lost disputes)", most, want.Total, inv.NetPaidOnline())}
	}
	return nil
}

func preconditionFailed() *Error {
	return Errorf(CodePreconditionFailed, "the invoice changed since the version in If-Match: read it again (GET) and retry with its ETag")
}
