// Command start-reader-refund is the Lambda function behind POST /invoices/{invoiceId}/reader-refund.
package main

import (
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
	// One gateway is both the link's Stripe and Stripe Terminal.
	stripe := wiring.Must(stripewire.Payments(env, secrets))
	svc := billing.NewService(billing.Deps{Store: store, Readers: store, Payments: stripe, Terminal: stripe, Metrics: observe.Metrics{}})
	api := httpapi.New(svc, wiring.HTTP(env, log, store))
	// The pre-traffic hook probes each new version: the table reachable, the Stripe secret readable.
	wiring.Start(api.StartReaderRefund, store.Reachable, stripewire.Readable(secrets))
}
