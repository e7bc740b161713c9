package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/dynamostore"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
)

// stack is what the measured handlers run against.
type stack struct {
	store *dynamostore.Store
	svc   *billing.Service
	jobs  *jobs.Jobs
	queue *memQueue
	cap   *capacity
	stop  func()
}

func run(ctx context.Context, n, clinics, workers, batch int) error {
	s, err := start(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	fmt.Fprintf(os.Stderr, "scale: seeding %d invoices over %d clinics into DynamoDB Local…\n", n, clinics)
	if err := seed(ctx, s.store, n, clinics, due); err != nil {
		return err
	}
	s.cap.take()
	now := due.AddDate(0, 0, 1).Add(14 * time.Hour)

	fmt.Fprintln(os.Stderr, "scale: planning…")
	var plan billing.PlanReport
	planTime, planHeap := measure(func() { plan, err = s.jobs.Plan(ctx, now, "", "scale") })
	if err != nil {
		return err
	}
	planCalls, planUnits := s.cap.take()

	fmt.Fprintf(os.Stderr, "scale: draining %d messages with %d workers…\n", len(s.queue.msgs), workers)
	var failures atomic.Int64
	workTime, workHeap := measure(func() { drain(ctx, s, workers, batch, &failures) })
	workCalls, workUnits := s.cap.take()

	left := 0
	err = s.store.DueWork(ctx, now, "", func(items []billing.WorkItem) error { left += len(items); return nil })
	if err != nil {
		return err
	}
	fmt.Printf("make scale: %d invoices over %d clinics, reminders due; workers K=%d, %d messages (≤%d items) per invocation; handlers in process\n",
		n, clinics, workers, batch, batch*message.MaxItems)
	fmt.Printf("  plan:  %d items planned, %d queued in %.2f s: %.0f items/s; DynamoDB %s; %.3f RCU+WCU/item; peak heap %.1f MiB\n",
		plan.Planned, plan.Queued, planTime.Seconds(), float64(plan.Planned)/planTime.Seconds(), callsPer(planCalls, plan.Planned),
		planUnits/float64(max(plan.Planned, 1)), planHeap)
	fmt.Printf("  work:  %d items worked in %.2f s: %.0f items/s at K=%d (%.0f/s per worker); DynamoDB %s; %.2f RCU+WCU/item; peak heap %.1f MiB\n",
		s.queue.items, workTime.Seconds(), float64(s.queue.items)/workTime.Seconds(), workers,
		float64(s.queue.items)/workTime.Seconds()/float64(workers), callsPer(workCalls, s.queue.items), workUnits/float64(max(s.queue.items, 1)), workHeap)
	fmt.Printf("  after: %d item failures, %d items still due\n", failures.Load(), left)
	return nil
}

// start runs DynamoDB Local and SES local, and wires the handlers as the
// functions' mains do, the DynamoDB client counting its calls.
func start(ctx context.Context) (*stack, error) {
	tools, err := localservers.FindTools()
	if err != nil {
		return nil, err
	}
	db, err := localservers.StartDynamoDB(ctx, tools)
	if err != nil {
		return nil, err
	}
	ses, err := localservers.StartSES(ctx, tools)
	if err != nil {
		db.Stop()
		return nil, err
	}
	stop := func() { ses.Stop(); db.Stop() }
	env := localapi.Settings{TableName: "clinicpay-scale", DynamoDBURL: db.URL, SESURL: ses.URL, SenderEmail: "factures@clinicpay.scale"}.Lookup()
	awsCfg, err := wiring.AWSConfig(env)
	if err != nil {
		stop()
		return nil, err
	}
	c := newCapacity()
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = wiring.Endpoint(env, "DYNAMODB") }, c.middleware)
	if err := localservers.CreateTable(ctx, client, "clinicpay-scale"); err != nil {
		stop()
		return nil, err
	}
	mailer, err := mailwire.Mailer(awsCfg, env)
	if err != nil {
		stop()
		return nil, err
	}
	store := dynamostore.New(client, "clinicpay-scale")
	q := &memQueue{}
	svc := billing.NewService(billing.Deps{Store: store, Mailer: mailer, Queue: q, Metrics: observe.Metrics{}})
	quiet := slog.New(slog.NewJSONHandler(discard{}, nil))
	j := jobs.New(svc, jobs.Config{Logger: quiet, Function: "scale", Service: "scale", Queue: q})
	slog.SetDefault(quiet)
	return &stack{store: store, svc: svc, jobs: j, queue: q, cap: c, stop: stop}, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// drain runs workers that take batches off the queue and hand them to the
// worker's handler, until the queue is empty.
func drain(ctx context.Context, s *stack, workers, batch int, failures *atomic.Int64) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				msgs := s.queue.take(batch)
				if len(msgs) == 0 {
					return
				}
				ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
				resp, err := s.jobs.Work(ictx, events.SQSEvent{Records: msgs})
				cancel()
				if err != nil {
					failures.Add(int64(len(msgs)))
				}
				failures.Add(int64(len(resp.BatchItemFailures)))
			}
		})
	}
	wg.Wait()
}

// measure runs f and returns how long it took and the peak Go heap
// (HeapAlloc, sampled every 5 ms) meanwhile, in MiB.
func measure(f func()) (time.Duration, float64) {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	f()
	d := time.Since(start)
	close(done)
	return d, float64(peak.Load()) / (1 << 20)
}

// callsPer renders calls per item by operation.
func callsPer(calls map[string]int, items int) string {
	total := 0
	var parts []string
	for op, n := range calls {
		total += n
		parts = append(parts, fmt.Sprintf("%s %.2f", op, float64(n)/float64(max(items, 1))))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%.2f calls/item (%s)", float64(total)/float64(max(items, 1)), strings.Join(parts, ", "))
}
