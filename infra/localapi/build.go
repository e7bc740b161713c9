package localapi

import (
	"context"
	"log/slog"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/wiring"
)

// BuildAPI wires the adapters from the environment exactly as the functions'
// mains do, into one API that serves every route.
func BuildAPI(ctx context.Context, env wiring.Env, log *slog.Logger) (*httpapi.API, error) {
	awsCfg, err := wiring.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	store, err := wiring.Store(awsCfg, env)
	if err != nil {
		return nil, err
	}
	payments, err := wiring.Payments(env)
	if err != nil {
		return nil, err
	}
	mailer, err := wiring.Mailer(awsCfg, env)
	if err != nil {
		return nil, err
	}
	webhooks, err := wiring.Webhooks(env)
	if err != nil {
		return nil, err
	}
	svc := billing.NewService(billing.Deps{Store: store, Payments: payments, Mailer: mailer})
	cfg := wiring.HTTP(env, log, store)
	cfg.Webhooks = webhooks
	return httpapi.New(svc, cfg), nil
}
