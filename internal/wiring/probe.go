package wiring

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

// ProbeEvent is the pre-traffic hook's request (internal/deployhook):
// CodeDeploy runs the hook before it moves any traffic to a new version,
// and the hook invokes that version with this event. ProbeAnswer is what a
// healthy version answers.
var (
	ProbeEvent  = []byte(`{"clinicpayProbe":"pre-traffic"}`)
	ProbeAnswer = []byte(`{"probe":"ok"}`)
)

// Check is one thing a new version must be able to do before it takes
// traffic: reach the table, read the Stripe secret. A check reads, never
// writes or sends.
type Check func(context.Context) error

// Start is lambda.Start for a function whose new versions the pre-traffic
// hook probes: the probe event runs the checks and nothing else; every
// other event goes to handler.
func Start(handler any, checks ...Check) {
	lambda.Start(Probed(lambda.NewHandler(handler), checks...))
}

// Probed wraps a handler: it answers ProbeEvent by running the checks
// (ProbeAnswer, or the first failure as the invocation's error).
func Probed(h lambda.Handler, checks ...Check) lambda.Handler {
	return probed{h: h, checks: checks}
}

type probed struct {
	h      lambda.Handler
	checks []Check
}

func (p probed) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if !bytes.Equal(bytes.TrimSpace(payload), ProbeEvent) {
		return p.h.Invoke(ctx, payload)
	}
	var errs []error
	for i, c := range p.checks {
		if err := c(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pre-traffic check %d: %w", i+1, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ProbeAnswer, nil
}
