package localapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

// Option adjusts what BuildAPI builds (test harness hooks).
type Option func(*options)

type options struct {
	checkpoint func(ctx context.Context, step string)
}

// WithCheckpoint calls fn at every named step of the service and of the
// Stripe gateway (billing.Step*, stripegateway.Step*), so a test can stop a
// request there as if its Lambda had died.
func WithCheckpoint(fn func(ctx context.Context, step string)) Option {
	return func(o *options) { o.checkpoint = fn }
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
	payments, err := stripewire.Payments(env, secrets)
	if err != nil {
		return nil, err
	}
	mailer, err := mailwire.Mailer(awsCfg, env)
	if err != nil {
		return nil, err
	}
	webhooks := stripewire.Webhooks(secrets)
	payments.Checkpoint = o.checkpoint
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer, Checkpoint: o.checkpoint, Metrics: observe.Metrics{}})
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
