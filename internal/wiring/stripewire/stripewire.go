// Package stripewire builds the Stripe gateway and the webhook reader from
// a function's settings. In AWS the platform's Stripe secrets come from
// Secrets Manager (STRIPE_SECRET_ARN) on first use; locally from
// STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET.
package stripewire

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/clinicpay/payments/internal/awssecrets"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/stripegateway"
	"github.com/clinicpay/payments/internal/wiring"
)

// Secrets is where the Stripe key and the webhook's signing secret come
// from.
type Secrets interface {
	stripegateway.KeySource
	stripegateway.SecretSource
}

// NewSecrets reads the secrets from Secrets Manager when STRIPE_SECRET_ARN
// is set, else from the local settings. Nothing is read before first use.
func NewSecrets(cfg aws.Config, env wiring.Env) Secrets {
	if arn := env(wiring.EnvStripeSecretARN); arn != "" {
		client := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.BaseEndpoint = wiring.Endpoint(env, "SECRETS_MANAGER")
			o.HTTPClient = observe.AWSClient(observe.SecretsManager, cfg.HTTPClient)
		})
		return awssecrets.NewStripe(client, arn)
	}
	return localSecrets{key: env(wiring.EnvStripeAPIKey), webhook: env(wiring.EnvStripeWebhookSecret)}
}

type localSecrets struct{ key, webhook string }

func (l localSecrets) StripeKey(context.Context) (string, error) {
	return nonEmpty(l.key, wiring.EnvStripeAPIKey)
}
func (l localSecrets) RefreshStripeKey(ctx context.Context) (string, error) { return l.StripeKey(ctx) }
func (l localSecrets) WebhookSecret(context.Context) (string, error) {
	return nonEmpty(l.webhook, wiring.EnvStripeWebhookSecret)
}
func (l localSecrets) RefreshWebhookSecret(ctx context.Context) (string, error) {
	return l.WebhookSecret(ctx)
}

func nonEmpty(v, name string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("setting %s (or %s) is required", name, wiring.EnvStripeSecretARN)
	}
	return v, nil
}

// Option adjusts the gateway's configuration (a test harness wraps its
// HTTP transport).
type Option func(*stripegateway.Config)

// Payments builds the Stripe gateway: one value is both the domain's
// billing.PaymentProvider and its billing.Terminal (Stripe Terminal's
// readers and their PaymentIntents), sharing one connection pool.
func Payments(env wiring.Env, secrets Secrets, opts ...Option) (*stripegateway.Gateway, error) {
	cfg, err := config(env, secrets)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(&cfg)
	}
	return stripegateway.New(cfg), nil
}

// Onboarding builds the Stripe gateway of the function that starts a
// clinic's onboarding: Payments, plus the pages Stripe sends the clinic's
// admin back to.
func Onboarding(env wiring.Env, secrets Secrets, opts ...Option) (*stripegateway.Gateway, error) {
	cfg, err := config(env, secrets)
	if err != nil {
		return nil, err
	}
	if cfg.OnboardingRefreshURL, err = env.Require(wiring.EnvOnboardingRefreshURL); err != nil {
		return nil, err
	}
	if cfg.OnboardingReturnURL, err = env.Require(wiring.EnvOnboardingReturnURL); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(&cfg)
	}
	return stripegateway.New(cfg), nil
}

func config(env wiring.Env, secrets Secrets) (stripegateway.Config, error) {
	retries := int64(2)
	if v := env(wiring.EnvStripeMaxRetries); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return stripegateway.Config{}, fmt.Errorf("setting %s must be a whole number", wiring.EnvStripeMaxRetries)
		}
		retries = n
	}
	return stripegateway.Config{
		Keys:              secrets,
		BaseURL:           env(wiring.EnvStripeAPIBase),
		HTTPClient:        &http.Client{Timeout: stripegateway.RequestTimeout, Transport: observe.Transport(observe.Stripe, nil)},
		MaxNetworkRetries: retries,
	}, nil
}

// Livemode reads the stack's Stripe mode (STRIPE_MODE: live or test). It
// has no default: a stack that took live events for test ones would
// acknowledge and drop every payment.
func Livemode(env wiring.Env) (bool, error) {
	switch v := env(wiring.EnvStripeMode); v {
	case "live":
		return true, nil
	case "test":
		return false, nil
	default:
		return false, fmt.Errorf("setting %s must be live or test (got %q)", wiring.EnvStripeMode, v)
	}
}

// Webhooks builds the reader of Stripe webhook deliveries.
func Webhooks(secrets Secrets) *stripegateway.WebhookReader {
	return stripegateway.NewWebhookReader(secrets)
}

// Readable is the pre-traffic probe's check of the Stripe secret
// (wiring.Start): the version's role may read it and it holds a key. It
// calls nothing at Stripe.
func Readable(secrets Secrets) wiring.Check {
	return func(ctx context.Context) error {
		if _, err := secrets.StripeKey(ctx); err != nil {
			return fmt.Errorf("stripe secret: %w", err)
		}
		return nil
	}
}
