// Command scale measures the scheduler at a platform's volume (make scale):
// it seeds N invoices over a number of clinics, each with a reminder due,
// straight into DynamoDB Local, then runs the planner (the hourly
// function's handler) and drains its queue with K workers (the worker
// function's handler, given batches as Lambda's event source mapping
// gives them), and prints items planned per second, items worked per
// second, DynamoDB calls and consumed capacity per item, and the peak Go
// heap of each phase.
//
// Both handlers run in this process, and the queue is in process too:
// moto's SQS looks every message over for each call, so at these volumes
// it would measure moto. SQS's own latency is in docs/performance.md's projection.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 20000, "invoices with a reminder due")
	clinics := flag.Int("clinics", 200, "clinics they are spread over")
	workers := flag.Int("workers", 4, "workers draining the queue at once (the ESM's MaximumConcurrency)")
	batch := flag.Int("batch", 2, "messages per worker invocation (WorkerBatchSize)")
	flag.Parse()
	if err := run(context.Background(), *n, *clinics, *workers, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}
