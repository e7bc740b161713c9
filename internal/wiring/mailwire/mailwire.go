// Package mailwire builds the SES mailer from a function's settings.
package mailwire

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/clinicpay/payments/internal/observe"
	"github.com/clinicpay/payments/internal/sesmailer"
	"github.com/clinicpay/payments/internal/wiring"
)

// Mailer builds the SES mailer.
func Mailer(cfg aws.Config, env wiring.Env) (*sesmailer.Mailer, error) {
	sender, err := env.Require(wiring.EnvSenderEmail)
	if err != nil {
		return nil, err
	}
	client := ses.NewFromConfig(cfg, func(o *ses.Options) {
		o.BaseEndpoint = wiring.Endpoint(env, "SES")
		o.HTTPClient = observe.AWSClient(observe.SES, cfg.HTTPClient)
		o.Retryer = wiring.Retryer(retry.IsErrorRetryableFunc(sesmailer.RetryableSend))
	})
	return sesmailer.New(client, sender, env(wiring.EnvSESConfigurationSet)), nil
}
