package e2e

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/infra/local/localsqs"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// queueFaults are the work queue's faults, from outside the production
// code, for the clinics a test names: each message sent twice (SQS delivers
// at least once), and workers crashing mid-batch (a Lambda that dies after
// working part of its batch: Lambda receives the whole batch again).
var queueFaults = struct {
	mu      sync.Mutex
	twice   map[string]bool // company → its messages are sent twice
	crashes map[string]int  // company → batches holding its items that still crash
}{twice: map[string]bool{}, crashes: map[string]int{}}

// sendTwice: every message of the company is sent twice.
func sendTwice(company string) {
	queueFaults.mu.Lock()
	defer queueFaults.mu.Unlock()
	queueFaults.twice[company] = true
}

// crashBatches: the next n batches holding an item of the company crash
// after working the first half of their items.
func crashBatches(company string, n int) {
	queueFaults.mu.Lock()
	defer queueFaults.mu.Unlock()
	queueFaults.crashes[company] = n
}

// twiceQueue sends the messages of the companies sendTwice names twice.
type twiceQueue struct{ jobs.Queue }

func (q twiceQueue) Enqueue(ctx context.Context, msgs []billing.WorkMessage, delay time.Duration) error {
	queueFaults.mu.Lock()
	var again []billing.WorkMessage
	for _, m := range msgs {
		if queueFaults.twice[m.CompanyID] {
			again = append(again, m)
		}
	}
	queueFaults.mu.Unlock()
	return q.Queue.Enqueue(ctx, append(append([]billing.WorkMessage(nil), msgs...), again...), delay)
}

// crashing is the worker's handler, crashing mid-batch as crashBatches
// says: the first half of the batch is worked, then the invocation dies.
func crashing(h localsqs.Handler) localsqs.Handler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if len(ev.Records) < 2 || !takeCrash(ev) {
			return h(ctx, ev)
		}
		if _, err := h(ctx, events.SQSEvent{Records: ev.Records[:len(ev.Records)/2]}); err != nil {
			return events.SQSEventResponse{}, err
		}
		panic("the worker crashed mid-batch (test fault)")
	}
}

// takeCrash reports whether the batch holds an item of a company with a
// crash left, and takes it.
func takeCrash(ev events.SQSEvent) bool {
	queueFaults.mu.Lock()
	defer queueFaults.mu.Unlock()
	for _, r := range ev.Records {
		items, err := message.Decode([]byte(r.Body))
		if err != nil {
			continue
		}
		for _, m := range items {
			if queueFaults.crashes[m.CompanyID] > 0 {
				queueFaults.crashes[m.CompanyID]--
				return true
			}
		}
	}
	return false
}
