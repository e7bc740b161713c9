// Package queuewire builds the scheduler's work queue (SQS) from a
// function's settings; only the scheduler and its worker link the SQS
// client.
package queuewire

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/sqsqueue"
	"github.com/clinicpay/payments/internal/wiring"
)

// Queue builds the work queue.
func Queue(cfg aws.Config, env wiring.Env) (*sqsqueue.Queue, error) {
	url, err := env.Require(wiring.EnvWorkQueueURL)
	if err != nil {
		return nil, err
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = wiring.Endpoint(env, "SQS")
		o.HTTPClient = observe.AWSClient(observe.SQS, cfg.HTTPClient)
	})
	return sqsqueue.New(client, url), nil
}
