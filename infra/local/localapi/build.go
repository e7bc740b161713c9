package localapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/clinicpay/payments/infra/local/localsqs"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/dynamostore"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/stripegateway"
	"github.com/clinicpay/payments/internal/wiring"
	"github.com/clinicpay/payments/internal/wiring/mailwire"
	"github.com/clinicpay/payments/internal/wiring/pdfwire"
	"github.com/clinicpay/payments/internal/wiring/queuewire"
	"github.com/clinicpay/payments/internal/wiring/stripewire"
)

// Option adjusts what BuildAPI builds (test harness hooks).
type Option func(*options)

type options struct{ wrap Wrap }

// Wrap lets a test harness put its own layer around the adapters BuildAPI
// makes, to stop a request at a step (as if its Lambda died) or to watch
// it, from outside the production code. Nil fields wrap nothing.
type Wrap struct {
	Store    func(billing.Store) billing.Store
	Payments func(billing.PaymentProvider) billing.PaymentProvider
	Mailer   func(billing.Mailer) billing.Mailer
	// StripeTransport wraps the HTTP transport of the Stripe gateway.
	StripeTransport func(http.RoundTripper) http.RoundTripper
	// Queue wraps the work queue (BuildJobs).
	Queue func(jobs.Queue) jobs.Queue
}

// WithWrap wraps the adapters BuildAPI makes.
func WithWrap(w Wrap) Option {
	return func(o *options) { o.wrap = w }
}

// BuildAPI wires the adapters from the environment exactly as the functions'
// mains do, into one API that serves every route.
func BuildAPI(ctx context.Context, env wiring.Env, log *slog.Logger, opts ...Option) (*httpapi.API, error) {
	b, err := build(env, opts, nil)
	if err != nil {
		return nil, err
	}
	cfg := wiring.HTTP(env, log, b.store)
	cfg.Webhooks = b.webhooks
	return httpapi.New(b.svc, cfg), nil
}

// BuildJobs wires the event-driven functions' handlers (the scheduler, its
// worker, SES's events) as their mains do, the work queue counted by a
// tracker (POST /_local/run/reminders waits for the work it planned).
func BuildJobs(ctx context.Context, env wiring.Env, log *slog.Logger, opts ...Option) (*Jobs, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	awsCfg, err := wiring.AWSConfig(env)
	if err != nil {
		return nil, err
	}
	awsCfg.HTTPClient = functionTagging{next: awsCfg.HTTPClient}
	q, err := queuewire.Queue(awsCfg, env)
	if err != nil {
		return nil, err
	}
	tracker := localsqs.NewTracker()
	var queue jobs.Queue = tracker.Wrap(q)
	if o.wrap.Queue != nil {
		queue = o.wrap.Queue(queue)
	}
	b, err := build(env, opts, queue)
	if err != nil {
		return nil, err
	}
	cfg := wiring.Jobs(env, log)
	cfg.Queue, cfg.ThrottleDelay = queue, time.Second
	return &Jobs{jobs: jobs.New(b.svc, cfg), tracker: tracker}, nil
}

type built struct {
	svc      *billing.Service
	store    *dynamostore.Store
	webhooks *stripegateway.WebhookReader
}

func build(env wiring.Env, opts []Option, queue billing.WorkQueue) (*built, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	awsCfg, err := wiring.AWSConfig(env)
	if err != nil {
		return nil, err
	}
	awsCfg.HTTPClient = functionTagging{next: awsCfg.HTTPClient}
	store, err := wiring.Store(awsCfg, env)
	if err != nil {
		return nil, err
	}
	secrets := stripewire.NewSecrets(awsCfg, env)
	payments, err := stripewire.Onboarding(env, secrets, func(c *stripegateway.Config) {
		if o.wrap.StripeTransport != nil {
			c.HTTPClient.Transport = o.wrap.StripeTransport(c.HTTPClient.Transport)
		}
	})
	if err != nil {
		return nil, err
	}
	mailer, err := mailwire.Mailer(awsCfg, env)
	if err != nil {
		return nil, err
	}
	livemode, err := stripewire.Livemode(env)
	if err != nil {
		return nil, err
	}
	deps := billing.Deps{Store: store, Payments: payments, Mailer: mailer, Documents: pdfwire.Documents(), Metrics: observe.Metrics{}, Livemode: livemode, Queue: queue}
	// Stripe Terminal and the clinics' readers (the readers' functions).
	deps.Terminal, deps.Readers = payments, store
	if o.wrap.Store != nil {
		deps.Store = o.wrap.Store(deps.Store)
	}
	if o.wrap.Payments != nil {
		deps.Payments = o.wrap.Payments(deps.Payments)
	}
	if o.wrap.Mailer != nil {
		deps.Mailer = o.wrap.Mailer(deps.Mailer)
	}
	return &built{svc: billing.NewService(deps), store: store, webhooks: stripewire.Webhooks(secrets)}, nil
}

// Jobs are the event-driven functions' handlers, each call marked with its
// function as the local API marks each route's (so the IAM check holds its
// AWS calls against that function's policy).
type Jobs struct {
	jobs    *jobs.Jobs
	tracker *localsqs.Tracker
}

// RunReport is what a local run did: the plan, and its work on the queue.
type RunReport struct {
	// Planned due items were read from the index; NotQueued could not be
	// sent to the queue (they wait in the index).
	Planned   int  `json:"planned"`
	NotQueued int  `json:"notQueued"`
	More      bool `json:"more"`
	// Queued, Worked, Failed, DeadLettered: the run's messages (the
	// plan's and those its workers sent) and how each was first done.
	localsqs.Counts
}

// Run plans the scheduler's work due at now (of one company when company
// is not "") and waits until the workers have done it: every message the
// run sent, and those its workers sent, worked or dead-lettered. The plan
// gets the scheduler's time limit; the wait only ctx's end. Workers on a
// busy machine may take any time, and each message's own deadline and
// SQS's redelivery already bound what a stuck one costs.
func (j *Jobs) Run(ctx context.Context, now time.Time, company string) (RunReport, error) {
	run := "local-" + requestID()
	j.tracker.Begin(run)
	planCtx, cancel := context.WithTimeout(ctx, schedulerTimeout)
	plan, err := j.jobs.Plan(WithFunction(planCtx, jobs.Scheduler.Function), now, company, run)
	cancel()
	counts, waitErr := j.tracker.Wait(ctx, run)
	rep := RunReport{Planned: plan.Planned, NotQueued: plan.Failed, More: plan.More, Counts: counts}
	return rep, errors.Join(err, waitErr)
}

// schedulerTimeout is SendRemindersFunction's Timeout: a plan stops
// before an invoice when less than its budget is left.
const schedulerTimeout = 300 * time.Second

// Follow makes Wait follow the work of a run planned elsewhere (by the
// scheduler under aws-lambda-rie): call it before the run.
func (j *Jobs) Follow(run string) { j.tracker.Begin(run) }

// Wait waits until the queued messages of a followed run, and those its
// workers sent, are done.
func (j *Jobs) Wait(ctx context.Context, run string, queued int) (localsqs.Counts, error) {
	j.tracker.Expect(run, queued)
	return j.tracker.Wait(ctx, run)
}

// Plan is the scheduler's run alone: its work is left to the workers.
func (j *Jobs) Plan(ctx context.Context, now time.Time, company string) (billing.PlanReport, error) {
	return j.jobs.Plan(WithFunction(ctx, jobs.Scheduler.Function), now, company, "local-"+requestID())
}

// Work handles a batch of the work queue, as the worker function.
func (j *Jobs) Work(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return j.jobs.Work(WithFunction(ctx, jobs.Worker.Function), ev)
}

// Mapping is the worker's SQS event source mapping on queues (client: one
// of the local SQS, unmarked: Lambda polls, not the function), batchSize
// and concurrency as the template's WorkerBatchSize and
// WorkerMaxConcurrency, the worker's timeout as its own (60 s) but never
// above the queue's visibility timeout, as Lambda requires: a batch still
// at work must not be delivered again.
func (j *Jobs) Mapping(client *sqs.Client, queues localsqs.Queues, batchSize, concurrency int, log *slog.Logger) *localsqs.Mapping {
	return &localsqs.Mapping{Client: client, Queues: queues, Region: client.Options().Region, BatchSize: batchSize,
		MaxConcurrency: concurrency, Timeout: min(60*time.Second, queues.VisibilityTimeout), Handler: j.Work, Done: j.tracker.Done, Log: log}
}

// EmailEvent handles one SES event as EventBridge delivers it.
func (j *Jobs) EmailEvent(ctx context.Context, payload []byte) error {
	return j.jobs.EmailEvent(WithFunction(ctx, jobs.EmailEvents.Function), payload)
}

// FunctionHeader carries, on every AWS call the local API's clients make,
// the function the call is made for (FunctionFrom), or Unattributed when
// the request's context names none. Local servers ignore it; the tests'
// recording proxies read it.
const (
	FunctionHeader = "X-Clinicpay-Function"
	Unattributed   = "-"
)

// functionTagging marks each AWS call with the function it is made for.
type functionTagging struct{ next aws.HTTPClient }

func (c functionTagging) Do(req *http.Request) (*http.Response, error) {
	fn := FunctionFrom(req.Context())
	if fn == "" {
		fn = Unattributed
	}
	req.Header.Set(FunctionHeader, fn)
	return c.next.Do(req)
}
