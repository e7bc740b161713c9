package billing

import (
	"bytes"
	"encoding/json"
	"regexp"
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
	// Version increases with every write; writes are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

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

// OptionalString is a JSON field that may be absent, null or a string:
// "stripeAccountId" absent keeps the stored account, null disconnects it.
type OptionalString struct {
	Set   bool    // the key was in the body
	Value *string // nil for null
}

// UnmarshalJSON implements json.Unmarshaler; it only runs when the key is
// present.
func (o *OptionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	o.Value = &s
	return nil
}

// CompanyInput is the body of PUT /billing-companies/{companyId}.
type CompanyInput struct {
	Name            string   `json:"name"`
	ReplyToEmail    string   `json:"replyToEmail"`
	DefaultLanguage Language `json:"defaultLanguage"`
	// StripeAccountID absent keeps the stored account; null disconnects it;
	// a value connects that account. Only the platform may change it.
	StripeAccountID OptionalString `json:"stripeAccountId"`
}

var stripeAccountPattern = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,250}$`)

// Validate checks the input against the contract's rules and normalizes the
// reply-to address (an internationalized domain becomes punycode).
func (in *CompanyInput) Validate() error {
	if err := checkText("name", in.Name, 1, 200); err != nil {
		return err
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
	if v := in.StripeAccountID.Value; v != nil && !stripeAccountPattern.MatchString(*v) {
		return Invalid("stripeAccountId", "stripeAccountId must be a Stripe account id: acct_ followed by letters and digits")
	}
	return nil
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
