package billing

import (
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
	// the clinic has not connected Stripe yet.
	StripeAccountID string
	// Stripe is what Stripe said of the account when it was last saved.
	Stripe    *StripeAccount
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StripeAccount is the part of a connected account the clinic staff need to
// see to know whether patients can pay.
type StripeAccount struct {
	ChargesEnabled  bool
	Country         string
	DefaultCurrency string
	// Warnings are codes (see AccountWarning*) for anything that will stop or
	// delay online payment.
	Warnings []string
}

// Warnings given on a billing-company record.
const (
	WarningNotConnected           = "stripe_account_not_connected"
	WarningChargesNotEnabled      = "charges_not_enabled"
	WarningDetailsNotSubmitted    = "details_not_submitted"
	WarningRequirementsPastDue    = "requirements_past_due"
	WarningRequirementsCurrentDue = "requirements_currently_due"
)

// Connected reports whether payment links can be made for this company.
func (c *Company) Connected() bool { return c != nil && c.StripeAccountID != "" }

// Warnings lists the problems the clinic should fix before patients pay.
func (c *Company) Warnings() []string {
	if !c.Connected() {
		return []string{WarningNotConnected}
	}
	if c.Stripe == nil {
		return []string{}
	}
	return c.Stripe.Warnings
}

// CompanyInput is the body of PUT /billing-companies/{companyId}.
type CompanyInput struct {
	Name            string   `json:"name"`
	ReplyToEmail    string   `json:"replyToEmail"`
	DefaultLanguage Language `json:"defaultLanguage"`
	// StripeAccountID absent or null means "not connected".
	StripeAccountID *string `json:"stripeAccountId"`
}

var stripeAccountPattern = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,250}$`)

// Validate checks the input against the contract's rules.
func (in *CompanyInput) Validate() error {
	if err := checkText("name", in.Name, 1, 200); err != nil {
		return err
	}
	if err := checkEmail("replyToEmail", in.ReplyToEmail); err != nil {
		return err
	}
	if in.DefaultLanguage == "" {
		return Invalid("defaultLanguage", "defaultLanguage is required (fr or en)")
	}
	if !in.DefaultLanguage.Valid() {
		return Invalid("defaultLanguage", "defaultLanguage must be fr or en")
	}
	if in.StripeAccountID != nil && !stripeAccountPattern.MatchString(*in.StripeAccountID) {
		return Invalid("stripeAccountId", "stripeAccountId must be a Stripe account id: acct_ followed by letters and digits")
	}
	return nil
}
