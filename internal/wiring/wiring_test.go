package wiring_test

import (
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/queuewire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

// recording is an Env that answers every setting and notes which were read.
type recording map[string]bool

func (r recording) env(name string) string {
	r[name] = true
	switch name {
	case wiring.EnvStripeMaxRetries:
		return "2"
	case wiring.EnvStripeMode:
		return "test"
	case wiring.EnvAWSAttemptTimeout:
		return "4s"
	}
	return "x"
}

// deployment lists the settings read that template.yaml must set.
func (r recording) deployment() []string {
	var out []string
	for name := range r {
		if !strings.HasPrefix(name, "AWS_") && !slices.Contains(wiring.LocalOnly, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestReads: wiring.Reads says exactly what each builder reads.
func TestReads(t *testing.T) {
	base := recording{}
	cfg, err := wiring.AWSConfig(base.env)
	if err != nil {
		t.Fatal(err)
	}
	if got := base.deployment(); len(got) != 0 {
		t.Fatalf("AWSConfig reads deployment settings %v", got)
	}
	store, err := wiring.Store(cfg, wiring.Env(recording{}.env))
	if err != nil {
		t.Fatal(err)
	}
	builders := map[string]func(wiring.Env) error{
		"wiring.Store": func(env wiring.Env) error { _, err := wiring.Store(cfg, env); return err },
		"wiring.HTTP":  func(env wiring.Env) error { wiring.HTTP(env, slog.Default(), store); return nil },
		"wiring.Jobs":  func(env wiring.Env) error { wiring.Jobs(env, slog.Default()); return nil },
		"stripewire.NewSecrets": func(env wiring.Env) error {
			stripewire.NewSecrets(cfg, env)
			return nil
		},
		"stripewire.Payments": func(env wiring.Env) error {
			_, err := stripewire.Payments(env, stripewire.NewSecrets(cfg, recording{}.env))
			return err
		},
		"stripewire.Onboarding": func(env wiring.Env) error {
			_, err := stripewire.Onboarding(env, stripewire.NewSecrets(cfg, recording{}.env))
			return err
		},
		"mailwire.Mailer":     func(env wiring.Env) error { _, err := mailwire.Mailer(cfg, env); return err },
		"stripewire.Livemode": func(env wiring.Env) error { _, err := stripewire.Livemode(env); return err },
		"queuewire.Queue":     func(env wiring.Env) error { _, err := queuewire.Queue(cfg, env); return err },
	}
	for name, build := range builders {
		r := recording{}
		if err := build(r.env); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := slices.Clone(wiring.Reads[name])
		sort.Strings(want)
		if got := r.deployment(); !slices.Equal(got, want) {
			t.Errorf("%s reads %v, wiring.Reads says %v", name, got, want)
		}
	}
	for name := range wiring.Reads {
		if builders[name] == nil {
			t.Errorf("wiring.Reads names %s, which this test does not build", name)
		}
	}
}
