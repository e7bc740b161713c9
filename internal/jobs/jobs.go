// Package jobs holds the handlers of the functions that EventBridge, not API
// Gateway, invokes: the hourly scheduler (reminders and the e-mails the
// outbox still owes) and SES's delivery events. As in httpapi, each exported
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
	EmailEvents = Function{Function: "EmailEventsFunction", Dir: "email-events", EventType: "EventBridgeRule"}
	Functions   = []Function{Scheduler, EmailEvents}
)

// Config configures the handlers.
type Config struct {
	Logger *slog.Logger
	// Function names the function in the business metrics; Service the
	// stack, the dimension every metric has.
	Function, Service string
}

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
	return &Jobs{svc: svc, cfg: cfg}
}

// Metrics the jobs count themselves.
const (
	MetricScheduledFailures = "ScheduledWorkFailures" // invoices a run could not finish (the next run tries again)
	MetricEmailEventRejects = "EmailEventRejects"     // payloads that are not SES events
)

// RunScheduled handles the scheduler's event: the work due at the event's
// time (its scheduled time, so a delayed invocation still does that hour's
// work). One invoice's failure does not fail the run; it is logged and
// counted, and its work stays for the next run. The run fails (and Lambda
// retries it) only when it could not even read what was due.
//
// An operator may also invoke it by hand with a detail of
// {"company": "<id>"} to run one clinic's work now (aws lambda invoke).
func (j *Jobs) RunScheduled(ctx context.Context, ev events.EventBridgeEvent) (billing.RunReport, error) {
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
			return billing.RunReport{}, errInvalidSchedulerEvent
		}
	}
	return j.Run(ctx, now, detail.Company)
}

// errInvalidSchedulerEvent answers a hand invocation whose detail is not
// {} or {"company": "<id>"}.
var errInvalidSchedulerEvent = errors.New(`invalid scheduler event: the detail must be {} or {"company": "<billing company id>"}`)

// Run does the work due at now, of one company when company is not "" (the
// local API's POST /_local/run/reminders calls it with the time it is
// given).
func (j *Jobs) Run(ctx context.Context, now time.Time, company string) (billing.RunReport, error) {
	start := time.Now()
	ctx, measured := observe.Start(ctx)
	defer observe.WriteMetrics(ctx, j.cfg.Logger, j.cfg.Service, j.cfg.Function, measured)
	rep, err := j.svc.RunScheduled(ctx, now, company)
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("job", "scheduled"), slog.Time("now", now.UTC()), slog.Int("looked", rep.Looked),
		slog.Int("reminders", rep.Reminders), slog.Int("sent", rep.Sent), slog.Int("skipped", rep.Skipped),
		slog.Int("replanned", rep.Replanned), slog.Int("failed", rep.Failed), slog.Bool("more", rep.More),
		slog.Float64("latencyMs", observe.Millis(time.Since(start)))}
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", observe.Redact(err.Error())))
		observe.Metrics{}.Count(ctx, MetricScheduledFailures, max(rep.Failed, 1))
	}
	j.cfg.Logger.LogAttrs(ctx, level, "job", attrs...)
	if err != nil && rep.Looked == 0 && rep.Failed == 0 {
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
