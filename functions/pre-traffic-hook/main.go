// Command pre-traffic-hook is the Lambda function CodeDeploy runs before
// it moves traffic to a function's new version (DeploymentPreference.Hooks
// in template.yaml): it probes that version and reports to CodeDeploy.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/clinicpay/payments/internal/deployhook"
	"github.com/clinicpay/payments/internal/wiring"
)

func main() {
	env := wiring.OS()
	awsCfg := wiring.Must(wiring.AWSConfig(env))
	hook := &deployhook.Hook{
		CodeDeploy: codedeploy.NewFromConfig(awsCfg),
		Lambda:     awslambda.NewFromConfig(awsCfg),
		Log:        wiring.Logger(),
		Probe:      wiring.ProbeEvent,
		Healthy:    wiring.ProbeAnswer,
	}
	lambda.Start(hook.Handle)
}
