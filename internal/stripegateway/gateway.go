// Package stripegateway implements billing.PaymentProvider on Stripe's API
// with stripe-go. Every call about a clinic's invoices is made on the clinic's
// connected account (Stripe-Account header) and every POST carries an
// idempotency key chosen by the domain.
package stripegateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/account"
	"github.com/stripe/stripe-go/v76/accountlink"
	"github.com/stripe/stripe-go/v76/paymentintent"
	"github.com/stripe/stripe-go/v76/paymentlink"
	"github.com/stripe/stripe-go/v76/price"

	"github.com/clinicpay/payments/internal/billing"
)

// KeySource gives the platform's secret API key when a call needs it, so the
// key can come from a secret store on first use rather than at start-up, and
// be read again when Stripe refuses it (after a rotation).
type KeySource interface {
	StripeKey(ctx context.Context) (string, error)
	RefreshStripeKey(ctx context.Context) (string, error)
}

// StaticKey is a KeySource for a key known in advance (local runs, tests).
type StaticKey string

// StripeKey implements KeySource.
func (k StaticKey) StripeKey(context.Context) (string, error) { return string(k), nil }

// RefreshStripeKey implements KeySource.
func (k StaticKey) RefreshStripeKey(context.Context) (string, error) { return string(k), nil }

// Config configures a Gateway.
type Config struct {
	Keys KeySource
	// BaseURL points the client at another server (stripe-mock); empty for
	// Stripe itself.
	BaseURL string
	// HTTPClient carries the calls; nil for a client with RequestTimeout.
	HTTPClient *http.Client
	// MaxNetworkRetries is how many times stripe-go retries a failed
	// connection or a 409/429/5xx that Stripe marks retryable. Retries of a
	// POST reuse its idempotency key, so they never duplicate an object.
	MaxNetworkRetries int64
	// OnboardingRefreshURL and OnboardingReturnURL are where Stripe's
	// onboarding sends the clinic's admin back (Account Links): the front
	// end's pages that ask for a new link, and that say onboarding is done.
	OnboardingRefreshURL string
	OnboardingReturnURL  string
}

// RequestTimeout bounds one HTTP attempt; the request's context bounds the
// whole call, retries included.
const RequestTimeout = 8 * time.Second

// Gateway implements billing.PaymentProvider.
type Gateway struct {
	backend    stripe.Backend
	keys       KeySource
	onboarding [2]string // refresh and return URLs
}

var _ billing.PaymentProvider = (*Gateway)(nil)

// New builds a Gateway. The backend (and its connection pool) is built once
// and shared by every call.
func New(cfg Config) *Gateway {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: RequestTimeout}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		// stripe-go's default logger writes request errors to stderr; the
		// HTTP layer logs outcomes itself, without Stripe's payloads.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.BaseURL != "" {
		bc.URL = stripe.String(cfg.BaseURL)
	}
	return &Gateway{backend: stripe.GetBackendWithConfig(stripe.APIBackend, bc), keys: cfg.Keys,
		onboarding: [2]string{cfg.OnboardingRefreshURL, cfg.OnboardingReturnURL}}
}

// withKey runs call with the platform's key; if Stripe refuses the key
// (401), the key is read again once and the call tried again with it.
func (g *Gateway) withKey(ctx context.Context, call func(key string) error) error {
	k, err := g.keys.StripeKey(ctx)
	if err != nil {
		return &billing.Error{Code: billing.CodePaymentProviderUnavailable, Message: "the payment provider's credentials could not be loaded", Err: err}
	}
	err = call(k)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusUnauthorized {
		return err
	}
	fresh, rerr := g.keys.RefreshStripeKey(ctx)
	if rerr != nil || fresh == k {
		return err
	}
	return call(fresh)
}

// Account implements billing.PaymentProvider.
func (g *Gateway) Account(ctx context.Context, accountID string) (*billing.StripeAccount, error) {
	params := &stripe.AccountParams{}
	params.Context = ctx
	var acct *stripe.Account
	err := g.withKey(ctx, func(k string) (err error) {
		acct, err = (&account.Client{B: g.backend, Key: k}).GetByID(accountID, params)
		return err
	})
	if err != nil {
		err = providerError("read account", err)
		if billing.ErrorCode(err) == billing.CodePaymentProviderError || billing.ErrorCode(err) == billing.CodeStripeAccountNotConnected {
			e := err.(*billing.Error)
			e.Code = billing.CodeStripeAccountUnavailable
			e.Message = "Stripe cannot read account " + accountID + ": " + e.Message
		}
		return nil, err
	}
	return accountStatus(acct), nil
}

func accountStatus(a *stripe.Account) *billing.StripeAccount {
	s := &billing.StripeAccount{
		ChargesEnabled:   a.ChargesEnabled,
		DetailsSubmitted: a.DetailsSubmitted,
		Country:          a.Country,
		DefaultCurrency:  string(a.DefaultCurrency),
		Warnings:         []string{},
	}
	if !a.ChargesEnabled {
		s.Warnings = append(s.Warnings, billing.WarningChargesNotEnabled)
	}
	if !a.DetailsSubmitted {
		s.Warnings = append(s.Warnings, billing.WarningDetailsNotSubmitted)
	}
	if r := a.Requirements; r != nil {
		if len(r.PastDue) > 0 {
			s.Warnings = append(s.Warnings, billing.WarningRequirementsPastDue)
		} else if len(r.CurrentlyDue) > 0 {
			s.Warnings = append(s.Warnings, billing.WarningRequirementsCurrentDue)
		}
	}
	return s
}

// CreateAccount implements billing.PaymentProvider: a Standard connected
// account (the clinic owns it and sees its own Dashboard, as when it
// connects an existing one), created on the platform, in Canada, with the
// company's id in its metadata.
func (g *Gateway) CreateAccount(ctx context.Context, a billing.NewAccount) (string, *billing.StripeAccount, error) {
	p := &stripe.AccountParams{
		Type:            stripe.String(string(stripe.AccountTypeStandard)),
		Country:         stripe.String("CA"),
		DefaultCurrency: stripe.String(string(stripe.CurrencyCAD)),
		Email:           stripe.String(a.Email),
	}
	p.Context = ctx
	p.AddMetadata(billing.MetaCompanyID, a.CompanyID)
	p.SetIdempotencyKey(a.IdempotencyKey)
	var acct *stripe.Account
	err := g.withKey(ctx, func(k string) (err error) {
		acct, err = (&account.Client{B: g.backend, Key: k}).New(p)
		return err
	})
	if err != nil {
		return "", nil, providerError("create account", err)
	}
	return acct.ID, accountStatus(acct), nil
}

// OnboardingLink implements billing.PaymentProvider.
func (g *Gateway) OnboardingLink(ctx context.Context, accountID string) (*billing.OnboardingLink, error) {
	if g.onboarding[0] == "" || g.onboarding[1] == "" {
		return nil, &billing.Error{Code: billing.CodeInternal, Message: "internal error", Err: errors.New("onboarding refresh and return URLs are not configured")}
	}
	p := &stripe.AccountLinkParams{
		Account:    stripe.String(accountID),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
		RefreshURL: stripe.String(g.onboarding[0]),
		ReturnURL:  stripe.String(g.onboarding[1]),
	}
	p.Context = ctx
	var l *stripe.AccountLink
	err := g.withKey(ctx, func(k string) (err error) {
		l, err = (&accountlink.Client{B: g.backend, Key: k}).New(p)
		return err
	})
	if err != nil {
		return nil, providerError("create account link", err)
	}
	return &billing.OnboardingLink{URL: l.URL, ExpiresAt: time.Unix(l.ExpiresAt, 0).UTC()}, nil
}

// CreateLink implements billing.PaymentProvider: a Price for exactly the
// amount due (its product named after the invoice number only), then a
// Payment Link for one unit of it that can be completed once.
func (g *Gateway) CreateLink(ctx context.Context, n *billing.NewLink) (billing.Link, error) {
	meta := n.Metadata()
	pp := &stripe.PriceParams{
		Currency:    stripe.String(n.Currency),
		UnitAmount:  stripe.Int64(n.Amount),
		ProductData: &stripe.PriceProductDataParams{Name: stripe.String(n.Page.ProductName), Metadata: meta},
		Metadata:    meta,
	}
	pp.Context = ctx
	pp.SetStripeAccount(n.AccountID)
	pp.SetIdempotencyKey(n.IdempotencyKey(billing.StepPrice))
	var p *stripe.Price
	err := g.withKey(ctx, func(k string) (err error) {
		p, err = (&price.Client{B: g.backend, Key: k}).New(pp)
		return err
	})
	if err != nil {
		return billing.Link{}, providerError("create price", err)
	}

	lp := &stripe.PaymentLinkParams{
		LineItems: []*stripe.PaymentLinkLineItemParams{{Price: stripe.String(p.ID), Quantity: stripe.Int64(1)}},
		// One completed payment, then Stripe shows InactiveMessage.
		Restrictions:    &stripe.PaymentLinkRestrictionsParams{CompletedSessions: &stripe.PaymentLinkRestrictionsCompletedSessionsParams{Limit: stripe.Int64(1)}},
		InactiveMessage: stripe.String(n.Page.InactiveMessage),
		AfterCompletion: &stripe.PaymentLinkAfterCompletionParams{
			Type:               stripe.String(string(stripe.PaymentLinkAfterCompletionTypeHostedConfirmation)),
			HostedConfirmation: &stripe.PaymentLinkAfterCompletionHostedConfirmationParams{CustomMessage: stripe.String(n.Page.ConfirmationMessage)},
		},
		SubmitType: stripe.String(string(stripe.PaymentLinkSubmitTypePay)),
		Metadata:   meta,
		// Copied onto each PaymentIntent, so charge, refund and dispute
		// events lead back to the invoice.
		PaymentIntentData: &stripe.PaymentLinkPaymentIntentDataParams{Metadata: meta},
	}
	lp.Context = ctx
	lp.SetStripeAccount(n.AccountID)
	lp.SetIdempotencyKey(n.IdempotencyKey(billing.StepLink))
	var l *stripe.PaymentLink
	err = g.withKey(ctx, func(k string) (err error) {
		l, err = (&paymentlink.Client{B: g.backend, Key: k}).New(lp)
		return err
	})
	if err != nil {
		return billing.Link{}, providerError("create payment link", err)
	}
	return n.Made(l.ID, l.URL, p.ID), nil
}

// DeactivateLink implements billing.PaymentProvider.
func (g *Gateway) DeactivateLink(ctx context.Context, accountID, linkID, idempotencyKey string) error {
	return g.updateLink(ctx, "deactivate payment link", accountID, linkID, idempotencyKey, &stripe.PaymentLinkParams{Active: stripe.Bool(false)})
}

// SetInactiveMessage implements billing.PaymentProvider.
func (g *Gateway) SetInactiveMessage(ctx context.Context, accountID, linkID, message, idempotencyKey string) error {
	return g.updateLink(ctx, "set payment link message", accountID, linkID, idempotencyKey, &stripe.PaymentLinkParams{InactiveMessage: stripe.String(message)})
}

// updateLink updates a Payment Link on the connected account; a link Stripe
// no longer has can't be paid nor shown, so that is no error.
func (g *Gateway) updateLink(ctx context.Context, op, accountID, linkID, idempotencyKey string, lp *stripe.PaymentLinkParams) error {
	lp.Context = ctx
	lp.SetStripeAccount(accountID)
	lp.SetIdempotencyKey(idempotencyKey)
	err := g.withKey(ctx, func(k string) error {
		_, err := (&paymentlink.Client{B: g.backend, Key: k}).Update(linkID, lp)
		return err
	})
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
			return nil
		}
		return providerError(op, err)
	}
	return nil
}

// PaymentMethod implements billing.PaymentProvider: the PaymentIntent with
// its latest charge expanded, read on the connected account; only the
// method's type, brand (or bank) and last four digits leave this function.
func (g *Gateway) PaymentMethod(ctx context.Context, accountID, paymentIntentID string) (*billing.PaymentMethod, error) {
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	p.SetStripeAccount(accountID)
	p.AddExpand("latest_charge")
	var pi *stripe.PaymentIntent
	err := g.withKey(ctx, func(k string) error {
		var err error
		pi, err = (&paymentintent.Client{B: g.backend, Key: k}).Get(paymentIntentID, p)
		return err
	})
	if err != nil {
		return nil, providerError("read payment intent", err)
	}
	return chargeMethod(pi.LatestCharge), nil
}

// chargeMethod is how a charge was paid: the method's type, brand (or
// bank) and last four digits, never more; nil before a method was used.
// A reader's charge is card_present, or interac_present (Canadian debit).
func chargeMethod(c *stripe.Charge) *billing.PaymentMethod {
	if c == nil || c.PaymentMethodDetails == nil {
		return nil
	}
	d := c.PaymentMethodDetails
	m := &billing.PaymentMethod{Type: string(d.Type)}
	switch {
	case d.Card != nil:
		m.Brand, m.Last4 = string(d.Card.Brand), d.Card.Last4
	case d.CardPresent != nil:
		m.Brand, m.Last4 = string(d.CardPresent.Brand), d.CardPresent.Last4
	case d.InteracPresent != nil:
		m.Brand, m.Last4 = d.InteracPresent.Brand, d.InteracPresent.Last4
	case d.ACSSDebit != nil:
		m.Bank, m.Last4 = d.ACSSDebit.BankName, d.ACSSDebit.Last4
		if m.Bank == "" {
			m.Bank = institutions[d.ACSSDebit.InstitutionNumber]
		}
	}
	return m
}

// institutions name the banks of the commonest Canadian institution
// numbers, for a debit whose charge carries no bank_name.
var institutions = map[string]string{
	"001": "BMO", "002": "Scotiabank", "003": "RBC", "004": "TD Canada Trust", "006": "Banque Nationale",
	"010": "CIBC", "016": "HSBC", "039": "Banque Laurentienne", "219": "ATB Financial", "614": "Tangerine",
	"815": "Desjardins", "829": "Desjardins",
}

// providerError classifies a stripe-go error. Stripe's message goes to the
// client only for refusals about the request itself; a refusal of the
// platform's credentials says so without Stripe's text.
func providerError(op string, err error) error {
	wrapped := fmt.Errorf("stripe %s: %w", op, err)
	var se *stripe.Error
	if errors.As(err, &se) {
		e := &billing.Error{ProviderRequestID: se.RequestID, Err: wrapped}
		switch {
		case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500 ||
			se.HTTPStatusCode == http.StatusConflict || se.Type == stripe.ErrorTypeAPI:
			e.Code, e.Message, e.RetryAfter = billing.CodePaymentProviderUnavailable, "Stripe is unavailable or rate-limiting requests; retry in a moment", 2*time.Second
		case se.Code == stripe.ErrorCodeAccountInvalid:
			e.Code, e.Message = billing.CodeStripeAccountNotConnected, "the clinic's Stripe account is no longer connected to the platform"
		case se.HTTPStatusCode == http.StatusUnauthorized:
			e.Code, e.Message = billing.CodePaymentProviderError, "Stripe refused the platform's credentials"
		default:
			e.Code, e.Message = billing.CodePaymentProviderError, "Stripe refused the request: "+se.Msg
		}
		if e.ProviderRequestID != "" {
			e.Message += " (Stripe request " + e.ProviderRequestID + ")"
		}
		return e
	}
	// No answer from Stripe: a timeout, a refused connection, a cancelled
	// context. The request may or may not have been carried out.
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &billing.Error{Code: billing.CodePaymentProviderUnavailable, Message: "Stripe did not answer in time; retry in a moment", RetryAfter: 2 * time.Second, Err: wrapped}
	}
	return &billing.Error{Code: billing.CodePaymentProviderUnavailable, Message: "Stripe could not be reached; retry in a moment", RetryAfter: 2 * time.Second, Err: wrapped}
}
