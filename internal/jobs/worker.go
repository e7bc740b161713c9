package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// Work handles a batch of the work queue (SQS → the worker, through
// Lambda's event source mapping, which reports batch item failures): each
// message carries up to message.MaxItems items, each worked on
// its own, one after the other. A message with an item that failed is
// reported, and SQS delivers it again after the queue's visibility
// timeout (its items done already do nothing the second time), then to
// the dead-letter queue after a few receives; the failed item's work also
// stays in the index for the next run. Items SES throttled are put back on
// the queue for later, as they are, with the items after them (SES's rate
// was reached: trying them now would be throttled too); they are never
// given up. A body that is not work fails, so it ends in the dead-letter
// queue, where someone looks at it.
func (j *Jobs) Work(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	fail := func(rec events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
	}
	var later []billing.WorkMessage
	var laterFrom []events.SQSMessage
	for _, rec := range ev.Records {
		items, err := message.Decode([]byte(rec.Body))
		if err != nil {
			j.cfg.Logger.LogAttrs(ctx, slog.LevelError, "job", slog.String("job", "work"), slog.String("messageId", rec.MessageId),
				slog.String("outcome", "invalid_message"))
			observe.Metrics{}.Count(ctx, MetricScheduledFailures, 1)
			fail(rec)
			continue
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < workBudget {
			fail(rec) // out of time: SQS delivers it again
			continue
		}
		failed := false
		for i, m := range items {
			if len(later) > 0 {
				later = append(later, items[i:]...)
				laterFrom = append(laterFrom, rec)
				break
			}
			switch err := j.workOne(ctx, rec.MessageId, m); {
			case billing.Throttled(err):
				later = append(later, items[i:]...)
				laterFrom = append(laterFrom, rec)
			case err != nil:
				failed = true
				continue
			}
			if len(later) > 0 {
				break
			}
		}
		if failed {
			fail(rec)
		}
	}
	if len(later) > 0 && j.putBack(ctx, later) != nil {
		// Not put back: SQS delivers their messages again after its
		// visibility timeout instead.
		for _, rec := range laterFrom {
			fail(rec)
		}
	}
	return resp, nil
}

// workBudget is the time an item may need: none is started with less
// left before the invocation's deadline.
const workBudget = 10 * time.Second

// workOne works one item, with its metrics and log line.
func (j *Jobs) workOne(ctx context.Context, messageID string, m billing.WorkMessage) error {
	start := time.Now()
	ctx, measured := observe.Start(ctx)
	defer observe.WriteMetrics(ctx, j.cfg.Logger, j.cfg.Service, j.cfg.Function, measured)
	rep, err := j.svc.Work(ctx, m)
	attrs := []slog.Attr{slog.String("job", "work"), slog.String("run", m.Run), slog.String("messageId", messageID),
		slog.String("companyId", m.CompanyID), slog.String("invoiceId", m.InvoiceID), slog.Time("now", m.Now.UTC()),
		slog.Int("reminders", rep.Reminders), slog.Int("sent", rep.Sent), slog.Int("skipped", rep.Skipped),
		slog.Int("replanned", rep.Replanned), slog.Int("queued", rep.Queued),
		slog.Float64("latencyMs", observe.Millis(time.Since(start)))}
	switch {
	case billing.Throttled(err):
		observe.Metrics{}.Count(ctx, MetricWorkThrottled, 1)
		j.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "job", append(attrs, slog.String("outcome", "throttled"))...)
	case err != nil:
		observe.Metrics{}.Count(ctx, MetricScheduledFailures, 1)
		j.cfg.Logger.LogAttrs(ctx, slog.LevelError, "job", append(attrs, slog.String("error", observe.Redact(err.Error())))...)
	default:
		j.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "job", attrs...)
	}
	return err
}

// putBack puts throttled items back on the queue, after ThrottleDelay
// to twice that, at random.
func (j *Jobs) putBack(ctx context.Context, msgs []billing.WorkMessage) error {
	delay := j.cfg.ThrottleDelay + rand.N(j.cfg.ThrottleDelay)
	if err := j.cfg.Queue.Enqueue(ctx, msgs, delay); err != nil {
		j.cfg.Logger.LogAttrs(ctx, slog.LevelError, "job", slog.String("job", "work"), slog.String("outcome", "not_put_back"),
			slog.Int("items", len(msgs)), slog.String("error", observe.Redact(err.Error())))
		return fmt.Errorf("put back %d throttled items: %w", len(msgs), err)
	}
	return nil
}
