// Command send-invoice-email is the Lambda function behind POST /invoices/{invoiceId}/emails.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/pdfwire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	secrets := stripewire.NewSecrets(awsCfg, env)
	payments := wiring.Must(stripewire.Payments(env, secrets))
	mailer := wiring.Must(mailwire.Mailer(awsCfg, env))
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer, Documents: pdfwire.Documents(), Metrics: observe.Metrics{}})
	api := httpapi.New(svc, wiring.HTTP(env, log, store))
	// The pre-traffic hook probes each new version: the table reachable, the Stripe secret readable.
	wiring.Start(api.SendInvoiceEmail, store.Reachable, stripewire.Readable(secrets))
}
