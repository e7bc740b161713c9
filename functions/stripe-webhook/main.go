// Command stripe-webhook is the Lambda function behind POST /webhooks/stripe.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	secrets := stripewire.NewSecrets(awsCfg, env)
	// Stripe is called only to end a link left payable after a payment
	// through another one; the common path makes no Stripe call.
	payments := wiring.Must(stripewire.Payments(env, secrets))
	cfg := wiring.HTTP(env, log, store)
	cfg.Webhooks = stripewire.Webhooks(secrets)
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Metrics: observe.Metrics{}})
	api := httpapi.New(svc, cfg)
	lambda.Start(api.StripeWebhook)
}
