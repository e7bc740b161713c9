// Command stripe-webhook is the Lambda function behind POST /webhooks/stripe.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	secrets := stripewire.NewSecrets(awsCfg, env)
	// Stripe is called to end a link left payable after a payment through
	// another one, to read a paid charge's method for its receipt, and to
	// capture or cancel a reader's authorization (Stripe Terminal).
	payments := wiring.Must(stripewire.Payments(env, secrets))
	// The receipt of a payment leaves as soon as the payment is recorded.
	mailer := wiring.Must(mailwire.Mailer(awsCfg, env))
	cfg := wiring.HTTP(env, log, store)
	cfg.Webhooks = stripewire.Webhooks(secrets)
	livemode := wiring.Must(stripewire.Livemode(env))
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer, Metrics: observe.Metrics{}, Livemode: livemode,
		Terminal: payments, Readers: store})
	api := httpapi.New(svc, cfg)
	// The pre-traffic hook probes each new version: the table reachable, the Stripe secret readable.
	wiring.Start(api.StripeWebhook, store.Reachable, stripewire.Readable(secrets))
}
