// Command scheduled-work is the work queue's Lambda function (SQS, in
// batches): for each item the scheduler planned, the reminder due and the
// e-mails the invoice's outbox owes, or the planning of a clinic's
// invoices after its reminder policy changed.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

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
	payments := wiring.Must(stripewire.Payments(env, stripewire.NewSecrets(awsCfg, env)))
	mailer := wiring.Must(mailwire.Mailer(awsCfg, env))
	queue := wiring.Must(queuewire.Queue(awsCfg, env))
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer, Documents: pdfwire.Documents(),
		Queue: queue, Metrics: observe.Metrics{}})
	cfg := wiring.Jobs(env, log)
	cfg.Queue = queue
	lambda.Start(jobs.New(svc, cfg).Work)
}
