// Command load drives the local API with mixed traffic and then checks every
// invariant over the whole store (make load).
//
// It starts its own DynamoDB Local, stripe-mock and SES (loopback only), makes
// tenants × invoices, and runs workers for a bounded time and request count:
// add, regenerate and remove links, e-mails, payments, refunds and duplicate
// deliveries through the Stripe webhook, reads (some across tenants), and
// amount changes, some under an Idempotency-Key sent twice. With -faults,
// that share of Stripe and SES calls fail (503) at the proxies.
//
// With -burst N it measures a webhook burst instead: N payments delivered
// at once by -workers deliverers that redeliver a 503 as Stripe does, spread
// over each count of tenants of -burst-tenants in turn, each feed then read
// back entry by entry.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

func main() {
	cfg := Config{}
	flag.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to run")
	flag.IntVar(&cfg.MaxRequests, "max-requests", 500_000, "stop after this many requests")
	flag.IntVar(&cfg.Workers, "workers", 32, "concurrent workers")
	flag.IntVar(&cfg.Tenants, "tenants", 5, "billing companies")
	flag.IntVar(&cfg.Invoices, "invoices", 50, "invoices per billing company")
	flag.Float64Var(&cfg.FaultRate, "faults", 0, "share of Stripe and SES calls failed with 503 (0 to 0.5)")
	jsonOut := flag.Bool("json", false, "print the report as JSON")
	burst := flag.Int("burst", 0, "measure a webhook burst of this many payment events instead of mixed traffic")
	burstTenants := flag.String("burst-tenants", "1,30", "the burst's tenant counts, each measured in turn (comma-separated)")
	burstRounds := flag.Int("burst-rounds", 3, "how many times each burst is measured (medians reported)")
	flag.Parse()
	if *burst > 0 {
		os.Exit(runBurst(BurstConfig{Events: *burst, Workers: cfg.Workers, Rounds: *burstRounds}, *burstTenants, *jsonOut))
	}
	if cfg.FaultRate < 0 || cfg.FaultRate > 0.5 || cfg.Duration > 10*time.Minute || cfg.Workers < 1 || cfg.Workers > 256 {
		fmt.Fprintln(os.Stderr, "load: -faults must be 0…0.5, -duration ≤ 10m, -workers 1…256")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if *jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		rep.Print(os.Stdout)
	}
	if rep.Violations() > 0 {
		os.Exit(1)
	}
}

func runBurst(cfg BurstConfig, tenants string, jsonOut bool) int {
	for _, f := range strings.Split(tenants, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > cfg.Events {
			fmt.Fprintln(os.Stderr, "load: -burst-tenants must list counts from 1 to -burst")
			return 2
		}
		cfg.Tenants = append(cfg.Tenants, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := RunBurst(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	if jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		rep.Print(os.Stdout)
	}
	if rep.Violations() > 0 {
		return 1
	}
	return 0
}
