package billing

import (
	"context"
	"errors"
)

// PutCompany creates or replaces a billing company's record. A clinic's
// admin edits its own name, reply-to address and language; only the
// platform connects, changes or disconnects its Stripe account, and an
// account connected to one company can't be connected to another (the store
// enforces it in the write that saves the company).
func (s *Service) PutCompany(ctx context.Context, caller Caller, companyID string, in *CompanyInput) (*Company, error) {
	if err := checkCompanyID(companyID); err != nil {
		return nil, err
	}
	if !caller.mayManage(companyID) {
		return nil, notFound("billing company") // another company's id: nothing to see
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	for range maxAttempts {
		stored, err := s.store.GetCompany(ctx, companyID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, storeError("read company", err)
		}
		now := s.clock()
		c := &Company{ID: companyID, Name: in.Name, ReplyToEmail: in.ReplyToEmail, DefaultLanguage: in.DefaultLanguage,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		previous := ""
		if stored != nil {
			previous, c.Version, c.CreatedAt, c.Stripe = stored.StripeAccountID, stored.Version+1, stored.CreatedAt, stored.Stripe
		}
		c.StripeAccountID = in.account(previous)
		switch {
		case c.StripeAccountID != previous && !caller.Platform:
			return nil, Errorf(CodeForbidden, "only the platform connects a Stripe account: send the account id to the platform, or omit stripeAccountId to keep the connected one")
		case c.StripeAccountID == "":
			c.Stripe = nil
		case caller.Platform:
			// Connecting (or refreshing) an account: it must be free, and
			// Stripe must know it.
			if err := s.checkAccountFree(ctx, c.StripeAccountID, companyID); err != nil {
				return nil, err
			}
			acct, err := s.payments.Account(ctx, c.StripeAccountID)
			if err != nil {
				return nil, err
			}
			acct.AsOf = now
			if c.StripeAccountID == previous && stored.Stripe != nil {
				acct.CreatedByPlatform = stored.Stripe.CreatedByPlatform
			}
			c.Stripe = acct
		}
		saved, err := s.store.SaveCompany(ctx, c, previous)
		switch {
		case errors.Is(err, ErrVersionConflict):
			continue
		case errors.Is(err, ErrAccountInUse):
			return nil, accountInUse()
		case err != nil:
			return nil, storeError("save company", err)
		}
		return saved, nil
	}
	return nil, conflictError()
}

// checkAccountFree fails with stripe_account_in_use when another company
// holds the account; the answer says nothing of which.
func (s *Service) checkAccountFree(ctx context.Context, accountID, companyID string) error {
	owner, err := s.store.AccountOwner(ctx, accountID)
	if err != nil {
		return storeError("read account owner", err)
	}
	if owner != "" && owner != companyID {
		return accountInUse()
	}
	return nil
}

func accountInUse() *Error {
	return Errorf(CodeStripeAccountInUse, "this Stripe account is already connected to another billing company")
}

// GetCompany returns a billing company's record, to its admin or the
// platform.
func (s *Service) GetCompany(ctx context.Context, caller Caller, companyID string) (*Company, error) {
	if err := checkCompanyID(companyID); err != nil {
		return nil, err
	}
	if !caller.mayManage(companyID) {
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

// StartOnboarding lets a clinic with no Stripe account get one from the
// app: the platform creates a connected account bound to the company at
// once (so no one else can claim it) and returns a Stripe Account Link where
// the clinic's admin enters its details. A company whose onboarding is
// unfinished gets a fresh link to the same account.
func (s *Service) StartOnboarding(ctx context.Context, caller Caller, companyID string) (*OnboardingLink, error) {
	if err := checkCompanyID(companyID); err != nil {
		return nil, err
	}
	if !caller.mayManage(companyID) {
		return nil, notFound("billing company")
	}
	for range maxAttempts {
		c, err := s.store.GetCompany(ctx, companyID)
		if errors.Is(err, ErrNotFound) {
			return nil, Errorf(CodeBillingCompanyNotConfigured, "the billing company has no record yet: save its name and reply-to address first")
		}
		if err != nil {
			return nil, storeError("read company", err)
		}
		if c.Stripe != nil && c.Stripe.Deauthorized {
			return nil, c.linkBlocker()
		}
		if c.StripeAccountID == "" {
			// The key makes a retry after a lost answer (or a crash before
			// the save) return the same account, not a second one.
			id, acct, err := s.payments.CreateAccount(ctx, NewAccount{
				CompanyID: companyID, Email: c.ReplyToEmail,
				IdempotencyKey: "clinicpay/v1/" + companyID + "/account",
			})
			if err != nil {
				return nil, err
			}
			acct.CreatedByPlatform, acct.AsOf = true, s.clock()
			next := *c
			next.StripeAccountID, next.Stripe, next.Version, next.UpdatedAt = id, acct, c.Version+1, s.clock()
			saved, err := s.store.SaveCompany(ctx, &next, "")
			switch {
			case errors.Is(err, ErrVersionConflict):
				continue // saved meanwhile (a concurrent onboarding): read again
			case errors.Is(err, ErrAccountInUse):
				return nil, accountInUse()
			case err != nil:
				return nil, storeError("save company", err)
			}
			c = saved
		}
		return s.payments.OnboardingLink(ctx, c.StripeAccountID)
	}
	return nil, conflictError()
}

func checkCompanyID(id string) error {
	if !ValidID(id) {
		return Invalid("companyId", "companyId must be 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}
