package localapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/stripegateway"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

// Option adjusts what BuildAPI builds (test harness hooks).
type Option func(*options)

type options struct{ wrap Wrap }

// Wrap lets a test harness put its own layer around the adapters BuildAPI
// makes, to stop a request at a step (as if its Lambda died) or to watch
// it, from outside the production code. Nil fields wrap nothing.
type Wrap struct {
	Store    func(billing.Store) billing.Store
	Payments func(billing.PaymentProvider) billing.PaymentProvider
	Mailer   func(billing.Mailer) billing.Mailer
	// StripeTransport wraps the HTTP transport of the Stripe gateway.
	StripeTransport func(http.RoundTripper) http.RoundTripper
}

// WithWrap wraps the adapters BuildAPI makes.
func WithWrap(w Wrap) Option {
	return func(o *options) { o.wrap = w }
}

// BuildAPI wires the adapters from the environment exactly as the functions'
// mains do, into one API that serves every route.
func BuildAPI(ctx context.Context, env wiring.Env, log *slog.Logger, opts ...Option) (*httpapi.API, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	awsCfg, err := wiring.AWSConfig(env)
	if err != nil {
		return nil, err
	}
	awsCfg.HTTPClient = functionTagging{next: awsCfg.HTTPClient}
	store, err := wiring.Store(awsCfg, env)
	if err != nil {
		return nil, err
	}
	secrets := stripewire.NewSecrets(awsCfg, env)
	payments, err := stripewire.Onboarding(env, secrets, func(c *stripegateway.Config) {
		if o.wrap.StripeTransport != nil {
			c.HTTPClient.Transport = o.wrap.StripeTransport(c.HTTPClient.Transport)
		}
	})
	if err != nil {
		return nil, err
	}
	mailer, err := mailwire.Mailer(awsCfg, env)
	if err != nil {
		return nil, err
	}
	webhooks := stripewire.Webhooks(secrets)
	deps := billing.Deps{Store: store, Payments: payments, Mailer: mailer, Metrics: observe.Metrics{}}
	if o.wrap.Store != nil {
		deps.Store = o.wrap.Store(deps.Store)
	}
	if o.wrap.Payments != nil {
		deps.Payments = o.wrap.Payments(deps.Payments)
	}
	if o.wrap.Mailer != nil {
		deps.Mailer = o.wrap.Mailer(deps.Mailer)
	}
	svc := billing.NewService(deps)
	cfg := wiring.HTTP(env, log, store)
	cfg.Webhooks = webhooks
	return httpapi.New(svc, cfg), nil
}

// FunctionHeader carries, on every AWS call the local API's clients make,
// the function the call is made for (FunctionFrom), or Unattributed when
// the request's context names none. Local servers ignore it; the tests'
// recording proxies read it.
const (
	FunctionHeader = "X-Clinicpay-Function"
	Unattributed   = "-"
)

// functionTagging marks each AWS call with the function it is made for.
type functionTagging struct{ next aws.HTTPClient }

func (c functionTagging) Do(req *http.Request) (*http.Response, error) {
	fn := FunctionFrom(req.Context())
	if fn == "" {
		fn = Unattributed
	}
	req.Header.Set(FunctionHeader, fn)
	return c.next.Do(req)
}
