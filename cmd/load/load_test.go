package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestShortLoadRun runs the load generator on a fixed amount of work, with
// faults injected, so it keeps working between `make load` runs; any
// invariant broken fails it. It checks invariants, never throughput: the
// work is a number of requests, and the duration is only a guard against a
// hang, far beyond what the slowest machine needs (`make load` measures).
func TestShortLoadRun(t *testing.T) {
	const requests = 400
	rep, err := Run(context.Background(), Config{
		Duration: 5 * time.Minute, MaxRequests: requests, Workers: 8, Tenants: 2, Invoices: 10, FaultRate: 0.02,
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(os.Stdout)
	if rep.Requests == 0 {
		t.Fatal("no request was made")
	}
	if v := rep.Violations(); v > 0 {
		t.Fatalf("%d invariant violations: %v", v, rep.Invariants)
	}
}

// TestShortBurst runs the burst mode on a fixed number of events for one
// tenant and for several: every event is acknowledged and its feed entry
// read back once, in order, with its amount. No figure is checked.
func TestShortBurst(t *testing.T) {
	rep, err := RunBurst(context.Background(), BurstConfig{Events: 40, Tenants: []int{1, 4}, Workers: 8, Rounds: 1}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(os.Stdout)
	for _, b := range rep.Results {
		if b.FeedEntries != b.Events || b.Violations > 0 {
			t.Fatalf("%d tenant(s): %d feed entries for %d events, %d violations: %v", b.Tenants, b.FeedEntries, b.Events, b.Violations, b.Examples)
		}
	}
}
