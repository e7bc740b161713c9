// Command scheduled-work is the work queue's Lambda function (SQS, in
// batches): for each item the scheduler planned, the reminder due and the
// e-mails the invoice's outbox owes (and a reader payment gone quiet,
// settled), or the planning of a clinic's invoices after its reminder
// policy changed.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/pdfwire"
	"github.com/clinicpay/payments/internal/wiring/queuewire"
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
	queue := wiring.Must(queuewire.Queue(awsCfg, env))
	// Stripe Terminal too: a reader payment whose events were lost is
	// settled from what Stripe says of it (capture, cancel, the reader
	// freed).
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer, Documents: pdfwire.Documents(),
		Queue: queue, Metrics: observe.Metrics{}, Terminal: payments, Readers: store})
	cfg := wiring.Jobs(env, log)
	cfg.Queue = queue
	// The pre-traffic hook probes each new version: the table reachable, the Stripe secret readable.
	wiring.Start(jobs.New(svc, cfg).Work, store.Reachable, stripewire.Readable(secrets))
}
