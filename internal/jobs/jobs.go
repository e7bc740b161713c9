// Package jobs holds the handlers of the functions that EventBridge or SQS,
// not API Gateway, invokes: the hourly scheduler, which plans (it puts the
// reminders and the e-mails the outbox still owes on the work queue), the
// worker, which does each item of the queue, and SES's delivery events. As in httpapi, each exported
// method is the whole handler of one Lambda function, and make dev calls the
// very same methods.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/sesevents"
)

// Function is one event-driven function: its logical id in template.yaml,
// its folder under functions/, and the event source that invokes it (its
// SAM event type). The table is checked against template.yaml, as
// httpapi.Routes is for the HTTP functions.
type Function struct {
	Function, Dir, EventType string
}

// The event-driven functions.
var (
	Scheduler   = Function{Function: "SendRemindersFunction", Dir: "send-reminders", EventType: "Schedule"}
	Worker      = Function{Function: "ScheduledWorkFunction", Dir: "scheduled-work", EventType: "SQS"}
	EmailEvents = Function{Function: "EmailEventsFunction", Dir: "email-events", EventType: "EventBridgeRule"}
	Functions   = []Function{Scheduler, Worker, EmailEvents}
)

// Config configures the handlers.
type Config struct {
	Logger *slog.Logger
	// Function names the function in the business metrics; Service the
	// stack, the dimension every metric has.
	Function, Service string
	// Queue is the work queue (the scheduler and the worker).
	Queue Queue
	// ThrottleDelay is how long, at least, an item SES throttled waits on
	// the queue before it is tried again (DefaultThrottleDelay when 0; up
	// to twice as long, at random, so the items don't come back at once).
	ThrottleDelay time.Duration
}

// Queue is the work queue as the handlers use it.
type Queue interface {
	billing.WorkQueue
	// Backlog is the number of items waiting or in flight.
	Backlog(ctx context.Context) (int, error)
}

// DefaultThrottleDelay: SES's rate is per second, so a throttled item's
// turn comes soon; half a minute lets the burst that met it pass.
const DefaultThrottleDelay = 30 * time.Second

// Jobs serves the event-driven functions.
type Jobs struct {
	svc *billing.Service
	cfg Config
}

// New returns the handlers over svc.
func New(svc *billing.Service, cfg Config) *Jobs {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ThrottleDelay == 0 {
		cfg.ThrottleDelay = DefaultThrottleDelay
	}
	return &Jobs{svc: svc, cfg: cfg}
}

// Metrics the jobs count themselves.
const (
	MetricScheduledFailures = "ScheduledWorkFailures"  // items a worker could not finish (the queue delivers them again)
	MetricPlanFailures      = "ScheduledPlanFailures"  // due items a run could not put on the queue (the next run tries again)
	MetricEmailEventRejects = "EmailEventRejects"      // payloads that are not SES events
	MetricWorkQueued        = "ScheduledWorkQueued"    // items a run put on the queue
	MetricWorkBacklog       = "ScheduledWorkBacklog"   // items on the queue when a run starts (the last runs' work not yet done)
	MetricWorkThrottled     = "ScheduledWorkThrottled" // items put back on the queue because SES's rate was reached
)

// RunScheduled handles the scheduler's event: it plans the work due at the
// event's time (its scheduled time, so a delayed invocation still plans
// that hour's work), putting each item on the queue. The run fails (and
// Lambda retries it) only when it could not read what was due; items it
// could not queue wait in the index for the next run.
//
// An operator may also invoke it by hand with a detail of
// {"company": "<id>"} to plan one clinic's work now (aws lambda invoke).
func (j *Jobs) RunScheduled(ctx context.Context, ev events.EventBridgeEvent) (billing.PlanReport, error) {
	now := ev.Time
	if now.IsZero() {
		now = time.Now()
	}
	var detail struct {
		Company string `json:"company"`
	}
	if len(ev.Detail) > 0 {
		if err := json.Unmarshal(ev.Detail, &detail); err != nil || detail.Company != "" && !billing.ValidID(detail.Company) {
			// Only a hand invocation carries a detail: the operator gets an
			// error back (aws lambda invoke shows it), and nothing runs.
			j.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "job", slog.String("job", "scheduled"), slog.String("outcome", "invalid_event"))
			return billing.PlanReport{}, errInvalidSchedulerEvent
		}
	}
	return j.Plan(ctx, now, detail.Company, ev.ID)
}

// errInvalidSchedulerEvent answers a hand invocation whose detail is not
// {} or {"company": "<id>"}.
var errInvalidSchedulerEvent = errors.New(`invalid scheduler event: the detail must be {} or {"company": "<billing company id>"}`)

// Plan puts the work due at now on the queue, of one company when company
// is not "", each item naming the run (the local API's
// POST /_local/run/reminders calls it with the time it is given).
func (j *Jobs) Plan(ctx context.Context, now time.Time, company, run string) (billing.PlanReport, error) {
	start := time.Now()
	ctx, measured := observe.Start(ctx)
	defer observe.WriteMetrics(ctx, j.cfg.Logger, j.cfg.Service, j.cfg.Function, measured)
	attrs := []slog.Attr{slog.String("job", "scheduled"), slog.String("run", run), slog.Time("now", now.UTC())}
	// The backlog before planning: work of earlier runs not done yet (the
	// workers can't keep up, or SES's rate holds them back).
	if backlog, err := j.cfg.Queue.Backlog(ctx); err == nil {
		observe.Metrics{}.Count(ctx, MetricWorkBacklog, backlog)
		attrs = append(attrs, slog.Int("backlog", backlog))
	}
	rep, err := j.svc.PlanDue(ctx, now, company, run)
	observe.Metrics{}.Count(ctx, MetricWorkQueued, rep.Queued)
	attrs = append(attrs, slog.Int("planned", rep.Planned), slog.Int("queued", rep.Queued), slog.Int("failed", rep.Failed),
		slog.Bool("more", rep.More), slog.Float64("latencyMs", observe.Millis(time.Since(start))))
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", observe.Redact(err.Error())))
		observe.Metrics{}.Count(ctx, MetricPlanFailures, max(rep.Failed, 1))
	}
	j.cfg.Logger.LogAttrs(ctx, level, "job", attrs...)
	if err != nil && rep.Queued == 0 {
		return rep, err
	}
	return rep, nil
}

// EmailEvent handles one SES event (SES → EventBridge): the e-mail's status
// on its invoice, exactly once. A payload that is not an SES event is
// logged, counted and dropped (retrying it would not help); a failure of the
// store fails the invocation, so Lambda delivers the event again.
func (j *Jobs) EmailEvent(ctx context.Context, payload json.RawMessage) error {
	start := time.Now()
	ctx, measured := observe.Start(ctx)
	defer observe.WriteMetrics(ctx, j.cfg.Logger, j.cfg.Service, j.cfg.Function, measured)
	ev, err := sesevents.Read(payload)
	if err != nil {
		observe.Metrics{}.Count(ctx, MetricEmailEventRejects, 1)
		j.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "job", slog.String("job", "email-event"), slog.String("outcome", "invalid_event"),
			slog.String("error", observe.Redact(err.Error())))
		return nil
	}
	res, err := j.svc.HandleEmailEvent(ctx, ev)
	attrs := []slog.Attr{slog.String("job", "email-event"), slog.String("eventId", ev.ID), slog.String("eventType", string(ev.Type)),
		slog.String("messageId", ev.MessageID), slog.String("outcome", string(res.Outcome)),
		slog.Float64("latencyMs", observe.Millis(time.Since(start)))}
	if res.Reason != "" {
		attrs = append(attrs, slog.String("reason", res.Reason))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", observe.Redact(err.Error())))
		j.cfg.Logger.LogAttrs(ctx, slog.LevelError, "job", attrs...)
		observe.Metrics{}.Count(ctx, observe.MetricServerErrors, 1)
		return fmt.Errorf("e-mail event %s: %w", ev.ID, err)
	}
	j.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "job", attrs...)
	return nil
}
