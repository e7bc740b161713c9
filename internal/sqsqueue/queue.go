// Package sqsqueue is the scheduler's work queue on Amazon SQS: the planner
// and the workers send work items with SendMessageBatch, ten items to a
// message (its body: package message) and ten messages to a call (SQS's
// limit), and the planner reads the queue's backlog.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/retry"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// API is what the queue needs of the SQS client.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Queue sends work items to one SQS queue.
type Queue struct {
	api API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url} }

// batchSize is SQS's limit of entries in one SendMessageBatch.
const batchSize = 10

// maxDelay is the longest delay SQS takes (15 minutes).
const maxDelay = 15 * time.Minute

// sendersPerCall bounds the batches one Enqueue sends at once.
const sendersPerCall = 4

// entryRetry retries the entries SQS refused in a batch (throttled, an
// internal error) that it says may be retried.
var entryRetry = retry.Policy{MaxAttempts: 4, Base: 50 * time.Millisecond, Max: time.Second, Reserve: time.Second}

// Enqueue implements billing.WorkQueue: the items ten to a message, the
// messages ten to a call, a few calls at once.
func (q *Queue) Enqueue(ctx context.Context, items []billing.WorkMessage, delay time.Duration) error {
	var msgs [][]byte
	for i := 0; i < len(items); i += message.MaxItems {
		body, err := message.Encode(items[i:min(i+message.MaxItems, len(items))])
		if err != nil {
			return err
		}
		msgs = append(msgs, body)
	}
	errs := make([]error, (len(msgs)+batchSize-1)/batchSize)
	sem := make(chan struct{}, sendersPerCall)
	var wg sync.WaitGroup
	for i := 0; i < len(msgs); i += batchSize {
		batch := msgs[i:min(i+batchSize, len(msgs))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i/batchSize] = q.sendBatch(ctx, batch, delay)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendBatch sends up to ten messages, again for the entries SQS failed
// that may be retried.
func (q *Queue) sendBatch(ctx context.Context, batch [][]byte, delay time.Duration) error {
	pending := map[string]types.SendMessageBatchRequestEntry{}
	for i, body := range batch {
		id := strconv.Itoa(i)
		pending[id] = types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(body)),
			DelaySeconds: int32(min(delay, maxDelay).Seconds())}
	}
	var lastErr error
	for range entryRetry.Attempts(ctx) {
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
		for _, e := range pending {
			entries = append(entries, e)
		}
		out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.url, Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs send message batch: %w", err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		lastErr = nil
		for _, f := range out.Failed {
			lastErr = fmt.Errorf("sqs send message batch: entry %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				return lastErr // a message SQS will never take: no retry
			}
		}
		if len(pending) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%d of %d messages of work items not queued: %w", len(pending), len(batch), lastErr)
}

// Backlog is the number of messages waiting or in flight on the queue
// (SQS's approximate counts).
func (q *Queue) Backlog(ctx context.Context) (int, error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q.url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, fmt.Errorf("sqs get queue attributes: %w", err)
	}
	n := 0
	for _, k := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		v, err := strconv.Atoi(out.Attributes[string(k)])
		if err != nil {
			return 0, fmt.Errorf("sqs queue attribute %s: %w", k, err)
		}
		n += v
	}
	return n, nil
}
