// Command send-reminders is the scheduled Lambda function (every hour): it
// plans, putting the reminders whose time has come and the receipts and
// reminders the outbox still owes on the work queue, where the
// scheduled-work function does them.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/queuewire"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	queue := wiring.Must(queuewire.Queue(awsCfg, env))
	svc := billing.NewService(billing.Deps{Store: store, Queue: queue, Metrics: observe.Metrics{}})
	cfg := wiring.Jobs(env, log)
	cfg.Queue = queue
	// The pre-traffic hook probes each new version: the table reachable
	// (the planner calls neither Stripe nor SES).
	wiring.Start(jobs.New(svc, cfg).RunScheduled, store.Reachable)
}
