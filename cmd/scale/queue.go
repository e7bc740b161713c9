package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// memQueue is the work queue in process, carrying items as the SQS
// adapter does (package message's bodies, ten items to a message).
type memQueue struct {
	mu    sync.Mutex
	msgs  []events.SQSMessage
	items int
	next  int
}

func (q *memQueue) Enqueue(_ context.Context, items []billing.WorkMessage, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := 0; i < len(items); i += message.MaxItems {
		body, err := message.Encode(items[i:min(i+message.MaxItems, len(items))])
		if err != nil {
			return err
		}
		q.next++
		q.msgs = append(q.msgs, events.SQSMessage{MessageId: "m" + strconv.Itoa(q.next), Body: string(body), EventSource: "aws:sqs"})
	}
	q.items += len(items)
	return nil
}

func (q *memQueue) Backlog(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs), nil
}

// take removes up to n messages.
func (q *memQueue) take(n int) []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.msgs))
	out := q.msgs[:n:n]
	q.msgs = q.msgs[n:]
	return out
}
