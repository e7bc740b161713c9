// Package wiring builds the adapters from configuration, once per execution
// environment: the Lambda mains and the local API call the same functions,
// so both run the same code with the same settings.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/smithy-go/logging"

	"github.com/clinicpay/payments/internal/dynamostore"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/sesmailer"
	"github.com/clinicpay/payments/internal/stripegateway"
)

// Settings, read from the environment. template.yaml sets, for each
// function, exactly the ones its code reads.
const (
	EnvTableName           = "TABLE_NAME"
	EnvTenantClaim         = "TENANT_CLAIM"
	EnvStripeAPIKey        = "STRIPE_API_KEY"
	EnvStripeAPIBase       = "STRIPE_API_BASE"
	EnvStripeMaxRetries    = "STRIPE_MAX_NETWORK_RETRIES"
	EnvSenderEmail         = "SENDER_EMAIL"
	EnvSESConfigurationSet = "SES_CONFIGURATION_SET"
	EnvStripeWebhookSecret = "STRIPE_WEBHOOK_SECRET"
)

// Env looks a setting up; os.Getenv in production, a map in tests.
type Env func(name string) string

// OS is the process environment.
func OS() Env { return os.Getenv }

func (e Env) require(name string) (string, error) {
	v := e(name)
	if v == "" {
		return "", fmt.Errorf("setting %s is required", name)
	}
	return v, nil
}

// Must ends the process when wiring fails: a function that can't be built
// must fail its init, visibly, rather than answer requests half-configured.
func Must[T any](v T, err error) T {
	if err != nil {
		slog.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	return v
}

// Logger is the JSON logger: Lambda's (with the request id) when running in
// Lambda, plain slog JSON to stderr elsewhere.
// It also becomes slog's default, so package-level slog calls (the AWS
// SDK's, through sdkLogger) come out the same way.
func Logger() *slog.Logger {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		log = lambdacontext.NewLogger()
	}
	slog.SetDefault(log)
	return log
}

// AWS client limits. Each attempt is cut at awsAttemptTimeout; the standard
// retryer makes up to awsMaxAttempts with jittered exponential backoff
// (throttling included: DynamoDB's ProvisionedThroughputExceeded, SES's
// Throttling); the request's context, which ends before the invocation's
// deadline, bounds the whole. The client-side retry quota is off: a Lambda
// instance serves one request at a time, and the quota would turn a burst
// of injected faults into errors that are not the upstream's.
const (
	awsAttemptTimeout = 4 * time.Second
	awsMaxAttempts    = 4
	awsMaxBackoff     = 1 * time.Second
)

// AWSConfig loads the SDK's configuration the standard way (region and
// credentials from the environment). Endpoints too: AWS_ENDPOINT_URL_DYNAMODB
// and AWS_ENDPOINT_URL_SES point the clients at local servers.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithLogger(sdkLogger{}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(awsAttemptTimeout)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = awsMaxAttempts
				o.MaxBackoff = awsMaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// sdkLogger sends the AWS SDK's own log lines to slog, as JSON like ours,
// without one: the DynamoDB client wraps error responses (which carry no
// X-Amz-Crc32 header) in a checksum check against 0 and warns on every
// conditional write that loses (aws/aws-sdk-go-v2#3545). Our code expects
// those losses; the warning would drown real ones.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "failed to close HTTP response body") {
		return
	}
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	slog.Log(context.Background(), level, "aws sdk: "+msg)
}

// Store builds the DynamoDB store.
func Store(cfg aws.Config, env Env) (*dynamostore.Store, error) {
	table, err := env.require(EnvTableName)
	if err != nil {
		return nil, err
	}
	return dynamostore.New(dynamodb.NewFromConfig(cfg), table), nil
}

// Payments builds the Stripe gateway.
func Payments(env Env) (*stripegateway.Gateway, error) {
	key, err := env.require(EnvStripeAPIKey)
	if err != nil {
		return nil, err
	}
	retries := int64(2)
	if v := env(EnvStripeMaxRetries); v != "" {
		if retries, err = strconv.ParseInt(v, 10, 64); err != nil || retries < 0 {
			return nil, fmt.Errorf("setting %s must be a whole number", EnvStripeMaxRetries)
		}
	}
	return stripegateway.New(stripegateway.Config{
		Keys:              stripegateway.StaticKey(key),
		BaseURL:           env(EnvStripeAPIBase),
		MaxNetworkRetries: retries,
	}), nil
}

// Mailer builds the SES mailer.
func Mailer(cfg aws.Config, env Env) (*sesmailer.Mailer, error) {
	sender, err := env.require(EnvSenderEmail)
	if err != nil {
		return nil, err
	}
	return sesmailer.New(ses.NewFromConfig(cfg), sender, env(EnvSESConfigurationSet)), nil
}

// HTTP configures the HTTP layer; Idempotency-Key records live in the
// store's table.
func HTTP(env Env, log *slog.Logger, store *dynamostore.Store) httpapi.Config {
	return httpapi.Config{TenantClaim: env(EnvTenantClaim), Logger: log, Idempotency: store.Idempotency()}
}

// Webhooks builds the reader of Stripe webhook deliveries.
func Webhooks(env Env) (*stripegateway.WebhookReader, error) {
	secret, err := env.require(EnvStripeWebhookSecret)
	if err != nil {
		return nil, err
	}
	return stripegateway.NewWebhookReader(secret), nil
}
