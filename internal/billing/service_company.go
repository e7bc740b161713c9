package billing

import (
	"context"
	"errors"
)

// PutCompany creates or replaces the caller's billing-company record. When a
// Stripe account is given it is read at Stripe first, so the record shows
// whether patients can pay. companyID must be the caller's own tenant.
func (s *Service) PutCompany(ctx context.Context, tenant, companyID string, in *CompanyInput) (*Company, error) {
	if companyID != tenant {
		return nil, notFound("billing company")
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := &Company{
		ID:              companyID,
		Name:            in.Name,
		ReplyToEmail:    in.ReplyToEmail,
		DefaultLanguage: in.DefaultLanguage,
		UpdatedAt:       s.clock(),
	}
	if in.StripeAccountID != nil {
		acct, err := s.payments.Account(ctx, *in.StripeAccountID)
		if err != nil {
			return nil, err
		}
		c.StripeAccountID = *in.StripeAccountID
		c.Stripe = acct
	}
	saved, err := s.store.SaveCompany(ctx, c)
	if err != nil {
		return nil, storeError("save company", err)
	}
	return saved, nil
}

// GetCompany returns the caller's billing-company record.
func (s *Service) GetCompany(ctx context.Context, tenant, companyID string) (*Company, error) {
	if companyID != tenant {
		return nil, notFound("billing company")
	}
	c, err := s.store.GetCompany(ctx, companyID)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("billing company")
	}
	if err != nil {
		return nil, storeError("read company", err)
	}
	return c, nil
}
