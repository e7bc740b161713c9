package localapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/dynamostore"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/stripegateway"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/pdfwire"
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
	b, err := build(env, opts)
	if err != nil {
		return nil, err
	}
	cfg := wiring.HTTP(env, log, b.store)
	cfg.Webhooks = b.webhooks
	return httpapi.New(b.svc, cfg), nil
}

// BuildJobs wires the event-driven functions' handlers (the scheduler, SES's
// events) as their mains do.
func BuildJobs(ctx context.Context, env wiring.Env, log *slog.Logger, opts ...Option) (*Jobs, error) {
	b, err := build(env, opts)
	if err != nil {
		return nil, err
	}
	return &Jobs{jobs: jobs.New(b.svc, wiring.Jobs(env, log))}, nil
}

type built struct {
	svc      *billing.Service
	store    *dynamostore.Store
	webhooks *stripegateway.WebhookReader
}

func build(env wiring.Env, opts []Option) (*built, error) {
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
	livemode, err := stripewire.Livemode(env)
	if err != nil {
		return nil, err
	}
	deps := billing.Deps{Store: store, Payments: payments, Mailer: mailer, Documents: pdfwire.Documents(), Metrics: observe.Metrics{}, Livemode: livemode}
	if o.wrap.Store != nil {
		deps.Store = o.wrap.Store(deps.Store)
	}
	if o.wrap.Payments != nil {
		deps.Payments = o.wrap.Payments(deps.Payments)
	}
	if o.wrap.Mailer != nil {
		deps.Mailer = o.wrap.Mailer(deps.Mailer)
	}
	return &built{svc: billing.NewService(deps), store: store, webhooks: stripewire.Webhooks(secrets)}, nil
}

// Jobs are the event-driven functions' handlers, each call marked with its
// function as the local API marks each route's (so the IAM check holds its
// AWS calls against that function's policy).
type Jobs struct{ jobs *jobs.Jobs }

// Run does the scheduler's work due at now (of one company when company is
// not "").
func (j *Jobs) Run(ctx context.Context, now time.Time, company string) (billing.RunReport, error) {
	return j.jobs.Run(WithFunction(ctx, jobs.Scheduler.Function), now, company)
}

// EmailEvent handles one SES event as EventBridge delivers it.
func (j *Jobs) EmailEvent(ctx context.Context, payload []byte) error {
	return j.jobs.EmailEvent(WithFunction(ctx, jobs.EmailEvents.Function), payload)
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
