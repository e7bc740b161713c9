package wiring_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/clinicpay/payments/internal/wiring"
)

// TestProbed: the probe event runs every check and nothing else, and
// answers healthy only when all pass; any other event reaches the
// handler, the probe's checks untouched.
func TestProbed(t *testing.T) {
	handled := 0
	handler := lambda.NewHandler(func(ctx context.Context, ev map[string]any) (string, error) {
		handled++
		return "handled", nil
	})
	ran := 0
	ok := func(context.Context) error { ran++; return nil }
	denied := func(context.Context) error { ran++; return errors.New("AccessDeniedException") }
	cases := []struct {
		name    string
		checks  []wiring.Check
		payload string
		want    string
		err     string
		ran     int
		handled int
	}{
		{"healthy", []wiring.Check{ok, ok}, string(wiring.ProbeEvent), string(wiring.ProbeAnswer), "", 2, 0},
		{"a check fails, the others still run", []wiring.Check{denied, ok}, string(wiring.ProbeEvent), "", "pre-traffic check 1: AccessDeniedException", 2, 0},
		{"the probe with a trailing newline", []wiring.Check{ok}, string(wiring.ProbeEvent) + "\n", string(wiring.ProbeAnswer), "", 1, 0},
		{"another event", []wiring.Check{ok}, `{"routeKey":"GET /invoices"}`, `"handled"`, "", 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ran, handled = 0, 0
			out, err := wiring.Probed(handler, c.checks...).Invoke(context.Background(), []byte(c.payload))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
			} else if err != nil || string(out) != c.want {
				t.Fatalf("%s, %v; want %s", out, err, c.want)
			}
			if ran != c.ran || handled != c.handled {
				t.Fatalf("checks run %d, handler %d; want %d, %d", ran, handled, c.ran, c.handled)
			}
		})
	}
}
