// Package wiring builds what every function needs from its settings, once
// per execution environment: the logger, the AWS configuration, the
// DynamoDB store and the HTTP layer's configuration. Adapters only some
// functions use are built by the subpackages stripewire and mailwire, so a
// function links only the clients it calls. The Lambda mains and the local
// API call the same functions, so both run the same code with the same
// settings.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	"github.com/clinicpay/payments/internal/dynamostore"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
)

// Settings, read from the environment. template.yaml sets, for each
// function, exactly the deployment settings its code reads (see Reads).
const (
	EnvTableName           = "TABLE_NAME"
	EnvTenantClaim         = "TENANT_CLAIM"
	EnvStripeSecretARN     = "STRIPE_SECRET_ARN"
	EnvSenderEmail         = "SENDER_EMAIL"
	EnvSESConfigurationSet = "SES_CONFIGURATION_SET"
	EnvStackName           = "STACK_NAME"
	// The stack's Stripe mode, live or test: webhook events of the other
	// mode are ignored.
	EnvStripeMode = "STRIPE_MODE"
	// The scheduler's work queue (SQS).
	EnvWorkQueueURL = "WORK_QUEUE_URL"
	// Where Stripe's onboarding sends a clinic's admin back (Account Links).
	EnvOnboardingRefreshURL = "STRIPE_ONBOARDING_REFRESH_URL"
	EnvOnboardingReturnURL  = "STRIPE_ONBOARDING_RETURN_URL"

	// Local runs only (make dev, tests): the secrets themselves and the
	// stand-in servers' addresses.
	EnvStripeAPIKey        = "STRIPE_API_KEY"
	EnvStripeWebhookSecret = "STRIPE_WEBHOOK_SECRET"
	EnvStripeAPIBase       = "STRIPE_API_BASE"
	EnvStripeMaxRetries    = "STRIPE_MAX_NETWORK_RETRIES"
	// How long one AWS call's attempt may take (a Go duration): the local
	// stand-ins on a busy machine are far slower than AWS.
	EnvAWSAttemptTimeout = "AWS_ATTEMPT_TIMEOUT"
)

// Reads names the deployment settings each builder reads, so that
// template.yaml can be checked to set exactly those for each function
// (from the builders its main calls). TestReads holds the table to what the
// builders really read. Settings Lambda provides (AWS_*) and the local-only
// ones are not deployment settings.
var Reads = map[string][]string{
	"wiring.Store":          {EnvTableName},
	"wiring.HTTP":           {EnvTenantClaim, EnvStackName},
	"wiring.Jobs":           {EnvStackName},
	"stripewire.NewSecrets": {EnvStripeSecretARN},
	"stripewire.Onboarding": {EnvOnboardingRefreshURL, EnvOnboardingReturnURL},
	"stripewire.Livemode":   {EnvStripeMode},
	"mailwire.Mailer":       {EnvSenderEmail, EnvSESConfigurationSet},
	"queuewire.Queue":       {EnvWorkQueueURL},
}

// LocalOnly are settings read only when running locally (make dev, tests).
var LocalOnly = []string{EnvStripeAPIKey, EnvStripeWebhookSecret, EnvStripeAPIBase, EnvStripeMaxRetries, EnvAWSAttemptTimeout}

// Env looks a setting up; os.Getenv in production, a map in tests.
type Env func(name string) string

// OS is the process environment.
func OS() Env { return os.Getenv }

// Require returns a setting that must be there.
func (e Env) Require(name string) (string, error) {
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
// Lambda, plain slog JSON to stderr elsewhere. It also becomes slog's
// default, so package-level slog calls (the AWS SDK's, through sdkLogger)
// come out the same way.
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

// AWSConfig is the AWS SDK configuration for a function: the region and the
// credentials Lambda puts in the environment (AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). That is
// what the SDK's default chain (config.LoadDefaultConfig) resolves to in
// Lambda; building it directly keeps the chain's other providers (SSO, STS,
// shared files, IMDS) out of every binary, 1.9 MB of it.
func AWSConfig(env Env) (aws.Config, error) {
	region, err := env.Require("AWS_REGION")
	if err != nil {
		return aws.Config{}, err
	}
	key, err := env.Require("AWS_ACCESS_KEY_ID")
	if err != nil {
		return aws.Config{}, err
	}
	attempt := awsAttemptTimeout
	if v := env(EnvAWSAttemptTimeout); v != "" {
		if attempt, err = time.ParseDuration(v); err != nil || attempt <= 0 {
			return aws.Config{}, fmt.Errorf("setting %s must be a positive duration", EnvAWSAttemptTimeout)
		}
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(key, env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")),
		HTTPClient:  awshttp.NewBuildableClient().WithTimeout(attempt),
		Retryer:     func() aws.Retryer { return Retryer() },
		Logger:      sdkLogger{},
	}, nil
}

// Retryer is the AWS clients' retryer. The checks given come before the
// standard ones: a client whose call is not idempotent (SES's
// SendRawEmail) names the failures that must not be tried again.
func Retryer(checks ...retry.IsErrorRetryable) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = awsMaxAttempts
		o.MaxBackoff = awsMaxBackoff
		o.RateLimiter = ratelimit.None
		o.Retryables = append(checks, o.Retryables...)
	})
}

// Endpoint returns the SDK's own endpoint override for a service
// (AWS_ENDPOINT_URL_<SERVICE>, as the default chain reads it), or nil: local
// runs point the clients at the stand-in servers with it.
func Endpoint(env Env, service string) *string {
	if v := env("AWS_ENDPOINT_URL_" + service); v != "" {
		return &v
	}
	return nil
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
	table, err := env.Require(EnvTableName)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = Endpoint(env, "DYNAMODB")
		o.HTTPClient = observe.AWSClient(observe.DynamoDB, cfg.HTTPClient)
	})
	return dynamostore.New(db, table), nil
}

// HTTP configures the HTTP layer; Idempotency-Key records live in the
// store's table.
func HTTP(env Env, log *slog.Logger, store *dynamostore.Store) httpapi.Config {
	function, service := names(env)
	return httpapi.Config{TenantClaim: env(EnvTenantClaim), Logger: log, Idempotency: store.Idempotency(), Function: function, Service: service}
}

// Jobs is the event-driven handlers' configuration.
func Jobs(env Env, log *slog.Logger) jobs.Config {
	function, service := names(env)
	return jobs.Config{Logger: log, Function: function, Service: service}
}

// names are the function's name and the stack's, for the metrics ("local"
// off Lambda).
func names(env Env) (function, service string) {
	function, service = env("AWS_LAMBDA_FUNCTION_NAME"), env(EnvStackName)
	if function == "" {
		function = "local"
	}
	if service == "" {
		service = "local"
	}
	return function, service
}
