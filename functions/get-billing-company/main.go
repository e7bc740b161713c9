// Command get-billing-company is the Lambda function behind GET /billing-companies/{companyId}.
package main

import (
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/wiring"
)

func main() {
	env := wiring.OS()
	log := wiring.Logger()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	store := wiring.Must(wiring.Store(awsCfg, env))
	svc := billing.NewService(billing.Deps{Store: store, Metrics: observe.Metrics{}})
	api := httpapi.New(svc, wiring.HTTP(env, log, store))
	// The pre-traffic hook probes each new version: the table reachable.
	wiring.Start(api.GetBillingCompany, store.Reachable)
}
