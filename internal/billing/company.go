package billing

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Company is a billing company: the tenant. Its id is the value of the
// tenant claim in the caller's token.
type Company struct {
	ID              string
	Name            string
	ReplyToEmail    string
	DefaultLanguage Language
	// StripeAccountID is the clinic's connected account (acct_…); empty when
	// the clinic has not connected Stripe yet. One account belongs to one
	// company at most: the store keeps a claim per account, written in the
	// same transaction as the company.
	StripeAccountID string
	// Stripe is what Stripe last said of the account.
	Stripe *StripeAccount

	// What the clinic's e-mails carry and when they go.
	// SendReceipts: a receipt e-mail when a payment succeeds (default on).
	SendReceipts bool
	// AttachPDF: the invoice e-mail and the reminders attach the invoice
	// as a PDF (default off).
	AttachPDF bool
	// EmailDetail: lines (every line's description) or summary (no line
	// descriptions), for every e-mail and the PDF.
	EmailDetail EmailDetail
	// Reminders is the reminder policy (empty: no reminders).
	Reminders ReminderPolicy
	// RemindersChangedAt is set when the policy changes: the scheduler then
	// plans the company's invoices again, and clears it.
	RemindersChangedAt time.Time

	// Address is the clinic's street address, nil until its admin gives
	// it; its Terminal Location is made from it.
	Address *Address
	// Location is the clinic's Stripe Terminal Location for new readers,
	// made at the first reader's registration after the account or the
	// address changed.
	Location *TerminalLocation

	// Version increases with every write; writes are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TerminalLocation is a clinic's Terminal Location at Stripe: its new
// readers are registered to it. It belongs to the connected account and
// the address it was made from; another account connected later, or a
// new address, gets its own.
type TerminalLocation struct {
	ID        string // tml_…
	AccountID string
	// AddressHash names the address it was made from (addressHash); ""
	// for a Location recorded before it was kept.
	AddressHash string
}

// EmailDetail is how much of an invoice the clinic's e-mails and PDFs show.
type EmailDetail string

// The choices of EmailDetail.
const (
	// DetailLines shows every line's description (the default).
	DetailLines EmailDetail = "lines"
	// DetailSummary shows the number, the dates, the total, what was paid,
	// the balance and the link, never a line's description: a line can name
	// a health service, and e-mail is not a secure channel (Quebec's Law
	// 25: collect and communicate the minimum necessary).
	DetailSummary EmailDetail = "summary"
)

// Valid reports whether d is one of the choices.
func (d EmailDetail) Valid() bool { return d == DetailLines || d == DetailSummary }

// summary reports whether e-mails and PDFs leave the lines out.
func (c *Company) summary() bool { return c != nil && c.EmailDetail == DetailSummary }

// StripeAccount is the part of a connected account the clinic staff need to
// see to know whether patients can pay.
type StripeAccount struct {
	ChargesEnabled   bool
	DetailsSubmitted bool
	Country          string
	DefaultCurrency  string
	// Warnings are codes (see Warning*) for anything that will stop or
	// delay online payment.
	Warnings []string
	// Deauthorized: the account disconnected the platform
	// (account.application.deauthorized). No link can be made on it until
	// the platform connects an account again.
	Deauthorized bool
	// CreatedByPlatform: the account was created for this company by
	// POST /billing-companies/{id}/stripe-onboarding.
	CreatedByPlatform bool
	// AsOf is when Stripe said this (a read, or an event's creation time),
	// so that an older account.updated delivered late changes nothing.
	AsOf time.Time
}

// Warnings given on a billing-company record.
const (
	WarningNotConnected           = "stripe_account_not_connected"
	WarningDeauthorized           = "stripe_account_deauthorized"
	WarningChargesNotEnabled      = "charges_not_enabled"
	WarningDetailsNotSubmitted    = "details_not_submitted"
	WarningRequirementsPastDue    = "requirements_past_due"
	WarningRequirementsCurrentDue = "requirements_currently_due"
)

// Connected reports whether payment links can be made for this company: it
// has an account and the account has not disconnected the platform.
func (c *Company) Connected() bool {
	return c != nil && c.StripeAccountID != "" && (c.Stripe == nil || !c.Stripe.Deauthorized)
}

// Warnings lists the problems the clinic should fix before patients pay.
func (c *Company) Warnings() []string {
	switch {
	case c.StripeAccountID == "":
		return []string{WarningNotConnected}
	case c.Stripe == nil:
		return []string{}
	case c.Stripe.Deauthorized:
		return []string{WarningDeauthorized}
	}
	return c.Stripe.Warnings
}

// linkBlocker says why no payment link can be made on the company's account
// (nil when one can). The contract's codes: no account, or an account that
// disconnected the platform.
func (c *Company) linkBlocker() *Error {
	switch {
	case c == nil || c.StripeAccountID == "":
		return Errorf(CodeStripeAccountNotConnected, "the billing company has no connected Stripe account")
	case c.Stripe != nil && c.Stripe.Deauthorized:
		return Errorf(CodeStripeAccountNotConnected, "the billing company's Stripe account disconnected the platform (deauthorized); the platform must connect it again")
	}
	return nil
}

// OptionalString is a setting that may be left out, cleared or given:
// "stripeAccountId" absent keeps the stored account, null disconnects it.
type OptionalString struct {
	Set   bool    // the key was in the body
	Value *string // nil for null
}

// CompanyInput is what PUT /billing-companies/{companyId} asks for (its
// body, as httpapi decodes it).
type CompanyInput struct {
	Name            string
	ReplyToEmail    string
	DefaultLanguage Language
	// StripeAccountID absent keeps the stored account; null disconnects it;
	// a value connects that account. Only the platform may change it.
	StripeAccountID OptionalString
	// The e-mail settings: each absent keeps the stored value (a new
	// company starts with receipts on, no PDF, lines, no reminders).
	SendReceipts *bool
	AttachPDF    *bool
	EmailDetail  *EmailDetail
	Reminders    *ReminderPolicyInput
	// Address absent keeps the stored address (a clinic's address is
	// changed, never removed).
	Address *AddressInput

	address *Address // Address, validated and normalized
}

// validAccountID: acct_ and 1 to 250 letters and digits.
func validAccountID(s string) bool {
	rest, ok := strings.CutPrefix(s, "acct_")
	return ok && len(rest) >= 1 && len(rest) <= 250 && allOf(rest, "")
}

// Validate checks the input against the contract's rules and normalizes the
// reply-to address (an internationalized domain becomes punycode).
func (in *CompanyInput) Validate() error {
	if err := checkText("name", in.Name, 1, 200); err != nil {
		return err
	}
	if AddressLike(in.Name) {
		// The name is the display name of the e-mails' From: one like
		// "Billing" <admin@bank.example> would show that address as the
		// sender. Refused here, where the clinic's admin sees why.
		return Invalid("name", "name is the sender's name of the clinic's e-mails: it must not contain @, < or >")
	}
	addr, err := checkEmail("replyToEmail", in.ReplyToEmail)
	if err != nil {
		return err
	}
	in.ReplyToEmail = addr
	if in.DefaultLanguage == "" {
		return Invalid("defaultLanguage", "defaultLanguage is required (fr or en)")
	}
	if !in.DefaultLanguage.Valid() {
		return Invalid("defaultLanguage", "defaultLanguage must be fr or en")
	}
	if v := in.StripeAccountID.Value; v != nil && !validAccountID(*v) {
		return Invalid("stripeAccountId", "stripeAccountId must be a Stripe account id: acct_ followed by letters and digits")
	}
	if in.EmailDetail != nil && !in.EmailDetail.Valid() {
		return Invalid("emailDetail", "emailDetail must be lines or summary")
	}
	if in.Reminders != nil {
		if err := in.Reminders.validate(); err != nil {
			return err
		}
	}
	if in.Address != nil {
		a, err := in.Address.address()
		if err != nil {
			return err
		}
		in.address = a
	}
	return nil
}

// applySettings sets c's e-mail settings from the input, keeping stored
// values (or the defaults) for the fields it leaves out; it reports whether
// the reminder policy changed.
func (in *CompanyInput) applySettings(c *Company, stored *Company) (policyChanged bool) {
	c.SendReceipts, c.EmailDetail = true, DetailLines
	if stored != nil {
		c.SendReceipts, c.AttachPDF, c.EmailDetail = stored.SendReceipts, stored.AttachPDF, stored.EmailDetail
		c.Reminders, c.RemindersChangedAt = stored.Reminders, stored.RemindersChangedAt
		c.Address, c.Location = stored.Address, stored.Location
	}
	if in.address != nil {
		c.Address = in.address
	}
	if in.SendReceipts != nil {
		c.SendReceipts = *in.SendReceipts
	}
	if in.AttachPDF != nil {
		c.AttachPDF = *in.AttachPDF
	}
	if in.EmailDetail != nil {
		c.EmailDetail = *in.EmailDetail
	}
	if in.Reminders != nil {
		p := in.Reminders.policy()
		policyChanged = !p.Equal(c.Reminders)
		c.Reminders = p
	}
	return policyChanged
}

// account returns the account the input asks for, given the stored one.
func (in *CompanyInput) account(stored string) string {
	switch {
	case !in.StripeAccountID.Set:
		return stored
	case in.StripeAccountID.Value == nil:
		return ""
	}
	return *in.StripeAccountID.Value
}

// OnboardingLink is where a clinic admin finishes connecting a Stripe
// account the platform created for the clinic (a Stripe Account Link).
type OnboardingLink struct {
	URL       string
	ExpiresAt time.Time
}

// NewAccount is what Stripe needs to create a clinic's connected account.
type NewAccount struct {
	CompanyID string
	Email     string
	// IdempotencyKey makes a retried creation return the same account.
	IdempotencyKey string
}

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
	return s.changeCompany(ctx, companyID, func(stored *Company) (*Company, error) {
		now := s.clock()
		c := &Company{ID: companyID, Name: in.Name, ReplyToEmail: in.ReplyToEmail, DefaultLanguage: in.DefaultLanguage,
			CreatedAt: now, UpdatedAt: now}
		previous := ""
		if stored != nil {
			previous, c.CreatedAt, c.Stripe = stored.StripeAccountID, stored.CreatedAt, stored.Stripe
		}
		if in.applySettings(c, stored) && stored != nil {
			// The scheduler plans the company's invoices again.
			c.RemindersChangedAt = now
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
		return c, nil
	})
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
	c, err := s.changeCompany(ctx, companyID, func(c *Company) (*Company, error) {
		if c == nil {
			return nil, Errorf(CodeBillingCompanyNotConfigured, "the billing company has no record yet: save its name and reply-to address first")
		}
		if c.Stripe != nil && c.Stripe.Deauthorized {
			return nil, c.linkBlocker()
		}
		if c.StripeAccountID != "" {
			return nil, errNoChange
		}
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
		next.StripeAccountID, next.Stripe, next.UpdatedAt = id, acct, s.clock()
		return &next, nil
	})
	if err != nil {
		return nil, err
	}
	return s.payments.OnboardingLink(ctx, c.StripeAccountID)
}

func checkCompanyID(id string) error {
	if !ValidID(id) {
		return Invalid("companyId", "companyId must be 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

// applyAccountEvent keeps the connected account's status on its company
// current: account.updated (charges enabled, details submitted, what Stripe
// still asks for) and account.application.deauthorized (the account
// disconnected the platform: no new links until the platform connects one
// again). Either is ignored as stale when older than the account's AsOf.
func (s *Service) applyAccountEvent(ctx context.Context, ev *WebhookEvent) (EventResult, error) {
	now := s.clock()
	rec := EventRecord{ID: ev.ID, Type: ev.Type, AccountID: ev.AccountID, ReceivedAt: now}
	st, err := s.store.LoadEventState(ctx, EventKeys{EventID: ev.ID, AccountID: ev.AccountID, AccountOwner: true})
	if err != nil {
		return EventResult{}, err
	}
	if st.Seen != nil {
		return s.duplicate(ctx, st.Seen)
	}
	c := st.Company
	if c == nil || c.StripeAccountID != ev.AccountID {
		return s.ignore(ctx, rec, IgnoredUnknownAccount)
	}
	rec.CompanyID = c.ID
	old := StripeAccount{}
	if c.Stripe != nil {
		old = *c.Stripe
	}
	if ev.Type == EventAccountUpdated && ev.Account == nil {
		return s.reject(ctx, rec, RejectInvalidStatus)
	}
	// Both events set the account's state: one older than what is known
	// (Stripe's last word, or the platform connecting the account again
	// since) is a late retry and changes nothing. Events are stamped to the
	// second: one of the same second as the last read may be newer.
	if ev.Created.Before(old.AsOf.Truncate(time.Second)) {
		return s.ignore(ctx, rec, IgnoredStale)
	}
	next := *c
	switch ev.Type {
	case EventAccountUpdated:
		a := *ev.Account
		a.AsOf, a.CreatedByPlatform, a.Deauthorized = ev.Created, old.CreatedByPlatform, old.Deauthorized
		next.Stripe = &a
	case EventAccountDeauthorized:
		a := old
		a.Deauthorized = true
		a.AsOf = laterOf(a.AsOf, ev.Created)
		next.Stripe = &a
	}
	next.Version, next.UpdatedAt = c.Version+1, now
	rec.Outcome = OutcomeApplied
	if err := s.store.CommitEvent(ctx, &EventCommit{Event: rec, Company: &next}); err != nil {
		return EventResult{}, err
	}
	return EventResult{Outcome: OutcomeApplied}, nil
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
