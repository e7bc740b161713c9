// Package localsqs is the work queue on a laptop: the queue and its
// dead-letter queue made on the local SQS (moto's server) as template.yaml
// makes them, Lambda's SQS event source mapping (Mapping: batches,
// partial batch failures, the visibility timeout, redrive to the
// dead-letter queue per the queue's policy), and a Tracker that tells when
// the work a run planned is done (make dev's and the tests'
// POST /_local/run/reminders answers then).
package localsqs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// The queues' logical ids in template.yaml.
const (
	QueueID           = "ScheduledWorkQueue"
	DeadLetterQueueID = "ScheduledWorkDeadLetterQueue"
)

// Queues are a work queue and its dead-letter queue.
type Queues struct {
	URL, ARN, DeadLetterURL string
	// MaxReceiveCount is the redrive policy's: a message received that
	// many times and failed goes to the dead-letter queue.
	MaxReceiveCount int
	// VisibilityTimeout hides a received message from other receivers.
	VisibilityTimeout time.Duration
}

// Create makes the queue name and its dead-letter queue name-dlq, with the
// template's redrive policy; with the template's visibility timeout unless
// visibility is not 0 (tests shorten it, so a crashed batch comes back
// soon).
func Create(ctx context.Context, client *sqs.Client, name string, visibility time.Duration) (Queues, error) {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		return Queues{}, err
	}
	q, ok := tpl.Resource(QueueID)
	if !ok {
		return Queues{}, fmt.Errorf("template.yaml has no %s", QueueID)
	}
	maxReceives, err := strconv.Atoi(samtemplate.Get(q.Properties, "RedrivePolicy", "maxReceiveCount").Value)
	if err != nil {
		return Queues{}, fmt.Errorf("%s: RedrivePolicy.maxReceiveCount: %w", QueueID, err)
	}
	if visibility == 0 {
		secs, err := strconv.Atoi(samtemplate.Get(q.Properties, "VisibilityTimeout").Value)
		if err != nil {
			return Queues{}, fmt.Errorf("%s: VisibilityTimeout: %w", QueueID, err)
		}
		visibility = time.Duration(secs) * time.Second
	}
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return Queues{}, fmt.Errorf("create %s-dlq: %w", name, err)
	}
	dlqARN, err := queueARN(ctx, client, *dlq.QueueUrl)
	if err != nil {
		return Queues{}, err
	}
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqARN, "maxReceiveCount": maxReceives})
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(visibility.Seconds())),
		string(types.QueueAttributeNameRedrivePolicy):     string(redrive),
	}})
	if err != nil {
		return Queues{}, fmt.Errorf("create %s: %w", name, err)
	}
	arn, err := queueARN(ctx, client, *out.QueueUrl)
	if err != nil {
		return Queues{}, err
	}
	return Queues{URL: *out.QueueUrl, ARN: arn, DeadLetterURL: *dlq.QueueUrl, MaxReceiveCount: maxReceives, VisibilityTimeout: visibility}, nil
}

func queueARN(ctx context.Context, client *sqs.Client, url string) (string, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("queue %s: %w", url, err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// Count returns the messages waiting and in flight on a queue.
func Count(ctx context.Context, client *sqs.Client, url string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", url, err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n, nil
}

// NewClient is an SQS client of the local SQS at endpoint.
func NewClient(cfg aws.Config, endpoint string) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}
