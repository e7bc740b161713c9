package localsqs

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is a function SQS invokes (its handler, as lambda.Start gets it).
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Mapping is Lambda's SQS event source mapping with
// FunctionResponseTypes: [ReportBatchItemFailures]: MaxConcurrency pollers
// (ScalingConfig.MaximumConcurrency) each receive up to BatchSize
// messages and invoke the handler with them as one SQS event. The messages
// the handler does not report as failed are deleted; those it reports are
// left, and come back after the queue's visibility timeout; an invocation
// that fails (an error, a panic: a crashed Lambda) leaves them all. SQS
// itself moves a message received MaxReceiveCount times to the
// dead-letter queue (moto does as SQS does).
type Mapping struct {
	Client         *sqs.Client
	Queues         Queues
	Region         string
	BatchSize      int
	MaxConcurrency int
	// Timeout is the function's: the handler's context ends then.
	Timeout time.Duration
	Handler Handler
	// Done, when set, is told how each receive of a message ended: worked
	// (deleted), failed (the handler reported it: it comes back after the
	// visibility timeout) or dead (failed on its last receive: SQS moves it
	// to the dead-letter queue). A crashed invocation tells nothing of
	// its messages but the dead: Lambda just receives them again.
	Done func(m events.SQSMessage, o Outcome)
	Log  *slog.Logger
}

// Run polls until ctx ends.
func (m *Mapping) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range max(m.MaxConcurrency, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := m.poll(ctx); err != nil && ctx.Err() == nil {
					m.log().Warn("local SQS event source mapping", slog.String("error", err.Error()))
					sleep(ctx, time.Second)
				}
			}
		})
	}
	wg.Wait()
}

func (m *Mapping) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

// poll receives one batch (waiting up to a second for one) and invokes
// the handler with it.
func (m *Mapping) poll(ctx context.Context) error {
	out, err := m.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &m.Queues.URL,
		MaxNumberOfMessages: int32(min(max(m.BatchSize, 1), 10)), WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}})
	if err != nil || len(out.Messages) == 0 {
		return err
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, msg := range out.Messages {
		ev.Records[i] = m.record(msg)
	}
	resp, crashed := m.invoke(ctx, ev)
	if crashed {
		m.ended(ev.Records, nil, true)
		return nil
	}
	return m.settle(ctx, ev.Records, resp)
}

// record is a message as Lambda hands it to the function.
func (m *Mapping) record(msg types.Message) events.SQSMessage {
	return events.SQSMessage{MessageId: aws.ToString(msg.MessageId), ReceiptHandle: aws.ToString(msg.ReceiptHandle),
		Body: aws.ToString(msg.Body), Md5OfBody: aws.ToString(msg.MD5OfBody), Attributes: msg.Attributes,
		EventSource: "aws:sqs", EventSourceARN: m.Queues.ARN, AWSRegion: m.Region}
}

// invoke runs the handler as Lambda would: within its timeout, a panic
// or an error failing the whole invocation.
func (m *Mapping) invoke(ctx context.Context, ev events.SQSEvent) (resp events.SQSEventResponse, failed bool) {
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			m.log().Warn("local SQS event source mapping: the function crashed", slog.String("panic", fmt.Sprint(r)))
			failed = true
		}
	}()
	resp, err := m.Handler(ctx, ev)
	if err != nil {
		m.log().Warn("local SQS event source mapping: the invocation failed", slog.String("error", err.Error()))
		return resp, true
	}
	return resp, false
}

// settle deletes the messages the handler did not report; an id it
// reports that was not in the batch fails the whole batch, as Lambda does.
func (m *Mapping) settle(ctx context.Context, recs []events.SQSMessage, resp events.SQSEventResponse) error {
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var entries []types.DeleteMessageBatchRequestEntry
	var worked, left []events.SQSMessage
	for i, r := range recs {
		if failed[r.MessageId] {
			left = append(left, r)
			continue
		}
		worked = append(worked, r)
		entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	m.ended(left, nil, false)
	if len(entries) == 0 {
		return nil
	}
	out, err := m.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &m.Queues.URL, Entries: entries})
	if err != nil {
		return fmt.Errorf("delete worked messages: %w", err)
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("delete worked messages: %d not deleted (%s)", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	m.ended(nil, worked, false)
	return nil
}

// Outcome is how one receive of a message ended.
type Outcome int

// The outcomes.
const (
	Worked Outcome = iota
	Failed
	Dead
)

// ended tells Done of the messages worked and of the failed ones (after a
// crash, of those on their last receive only).
func (m *Mapping) ended(failed, worked []events.SQSMessage, crashed bool) {
	if m.Done == nil {
		return
	}
	for _, r := range worked {
		m.Done(r, Worked)
	}
	for _, r := range failed {
		n, _ := strconv.Atoi(r.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		switch {
		case n >= m.Queues.MaxReceiveCount:
			m.Done(r, Dead)
		case !crashed:
			m.Done(r, Failed)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
