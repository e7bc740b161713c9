package localsqs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// Counts are what happened to a run's work items on the queue (each
// message carries a few): those sent (by the run, and by the workers: a clinic's invoices, items put
// back after SES throttled them), and how each was first done: worked
// (deleted after the worker did it), failed (the worker reported it: the
// queue delivers it again after its visibility timeout, on its own) or
// dead (failed on its last receive: on the dead-letter queue).
type Counts struct {
	Queued       int `json:"queued"`
	Worked       int `json:"worked"`
	Failed       int `json:"failed"`
	DeadLettered int `json:"deadLettered"`
}

// drained: every message sent for the run was done once.
func (c Counts) drained() bool { return c.Worked+c.Failed+c.DeadLettered >= c.Queued }

// Tracker follows the messages of the runs it was told of (Begin), from
// the queue it wraps (Wrap) to the mapping's Done.
type Tracker struct {
	mu      sync.Mutex
	runs    map[string]*followed
	changed chan struct{} // closed and replaced at each change
}

type followed struct {
	Counts
	done map[string]bool // the messages done once, by id
}

// NewTracker returns a tracker following no run.
func NewTracker() *Tracker {
	return &Tracker{runs: map[string]*followed{}, changed: make(chan struct{})}
}

// Begin starts following run.
func (t *Tracker) Begin(run string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.runs[run] = &followed{done: map[string]bool{}}
}

// update applies f to run's state, if it is followed, and wakes waiters.
func (t *Tracker) update(run string, f func(*followed)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[run]
	if r == nil {
		return
	}
	f(r)
	close(t.changed)
	t.changed = make(chan struct{})
}

// Expect adds n messages sent for run by someone else than the queue it
// wraps (a scheduler run under aws-lambda-rie).
func (t *Tracker) Expect(run string, n int) {
	t.update(run, func(r *followed) { r.Queued += n })
}

// Done is the mapping's Done: a receive of a message ended; the first
// that does counts, for each of its items.
func (t *Tracker) Done(m events.SQSMessage, o Outcome) {
	items, err := message.Decode([]byte(m.Body))
	if err != nil {
		return
	}
	for i, item := range items {
		key := fmt.Sprintf("%s/%d", m.MessageId, i)
		t.update(item.Run, func(r *followed) {
			if r.done[key] {
				return
			}
			r.done[key] = true
			switch o {
			case Worked:
				r.Worked++
			case Failed:
				r.Failed++
			case Dead:
				r.DeadLettered++
			}
		})
	}
}

// Wait waits until every message sent for run has ended (or ctx ends),
// stops following it and returns its counts.
func (t *Tracker) Wait(ctx context.Context, run string) (Counts, error) {
	defer func() {
		t.mu.Lock()
		delete(t.runs, run)
		t.mu.Unlock()
	}()
	for {
		t.mu.Lock()
		c, changed := t.runs[run].Counts, t.changed
		t.mu.Unlock()
		if c.drained() {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("%d of the run's %d work items not done: %w", c.Queued-c.Worked-c.Failed-c.DeadLettered, c.Queued, ctx.Err())
		case <-changed:
		}
	}
}

// Wrap counts the messages sent through q for the runs followed.
func (t *Tracker) Wrap(q Queue) Queue { return trackedQueue{Queue: q, t: t} }

// Queue is the work queue as the jobs use it (jobs.Queue).
type Queue interface {
	billing.WorkQueue
	Backlog(ctx context.Context) (int, error)
}

type trackedQueue struct {
	Queue
	t *Tracker
}

func (q trackedQueue) Enqueue(ctx context.Context, msgs []billing.WorkMessage, delay time.Duration) error {
	// Counted before they are sent: a worker may finish one before
	// Enqueue returns. A send that fails is taken back.
	count := func(sign int) {
		for _, m := range msgs {
			q.t.update(m.Run, func(r *followed) { r.Queued += sign })
		}
	}
	count(1)
	if err := q.Queue.Enqueue(ctx, msgs, delay); err != nil {
		count(-1)
		return err
	}
	return nil
}
