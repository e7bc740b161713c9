package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestShortLoadRun runs the load generator briefly, with faults injected, so
// it keeps working between `make load` runs; any invariant broken fails it.
func TestShortLoadRun(t *testing.T) {
	rep, err := Run(context.Background(), Config{
		Duration: 4 * time.Second, MaxRequests: 20_000, Workers: 8, Tenants: 2, Invoices: 10, FaultRate: 0.02,
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(os.Stdout)
	if rep.Requests < 100 {
		t.Fatalf("only %d requests", rep.Requests)
	}
	if v := rep.Violations(); v > 0 {
		t.Fatalf("%d invariant violations: %v", v, rep.Invariants)
	}
}
