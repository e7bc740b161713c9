package localapi

import (
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/wiring"
)

// Settings for running the functions' code against a local stack.
type Settings struct {
	TableName   string
	DynamoDBURL string
	StripeURL   string
	SESURL      string
	SenderEmail string
	// SQSURL is the local SQS, WorkQueueURL the work queue on it.
	SQSURL       string
	WorkQueueURL string
}

// Env is the environment the functions read, pointing at the local servers:
// the same settings names the SAM template sets in AWS, plus the SDK's own
// endpoint and credential variables.
func (s Settings) Env() map[string]string {
	return map[string]string{
		"AWS_REGION":                "ca-central-1",
		"AWS_ACCESS_KEY_ID":         "local",
		"AWS_SECRET_ACCESS_KEY":     "local",
		"AWS_ENDPOINT_URL_DYNAMODB": s.DynamoDBURL,
		"AWS_ENDPOINT_URL_SES":      s.SESURL,
		"AWS_ENDPOINT_URL_SQS":      s.SQSURL,
		// DynamoDB Local, aws-ses-v2-local and moto on a loaded machine
		// may take many seconds to answer: an attempt cut at AWS's 4 s
		// fails a call that would have succeeded (and, for SES, leaves
		// an e-mail whose fate is unknown). The request's deadline still
		// bounds the whole.
		wiring.EnvAWSAttemptTimeout:   "20s",
		wiring.EnvWorkQueueURL:        s.WorkQueueURL,
		wiring.EnvTableName:           s.TableName,
		wiring.EnvStripeAPIKey:        localservers.StripeMockKey,
		wiring.EnvStripeAPIBase:       s.StripeURL,
		wiring.EnvSenderEmail:         s.SenderEmail,
		wiring.EnvStripeWebhookSecret: localservers.WebhookSecret,
		// The local stack plays Stripe's test mode.
		wiring.EnvStripeMode: "test",
		// make dev has no front end at these addresses; Stripe only
		// needs them to be https URLs in live mode.
		wiring.EnvOnboardingRefreshURL: "http://localhost:3000/onboarding/refresh",
		wiring.EnvOnboardingReturnURL:  "http://localhost:3000/onboarding/done",
	}
}

// Lookup is Env as a wiring.Env.
func (s Settings) Lookup() wiring.Env {
	env := s.Env()
	return func(name string) string { return env[name] }
}
