// Command email-events is the Lambda function SES's delivery events reach
// (SES configuration set → EventBridge rule): each e-mail's status on its
// invoice.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	svc := billing.NewService(billing.Deps{Store: store, Metrics: observe.Metrics{}})
	j := jobs.New(svc, wiring.Jobs(env, log))
	// The pre-traffic hook probes each new version: the table reachable.
	wiring.Start(j.EmailEvent, store.Reachable)
}
