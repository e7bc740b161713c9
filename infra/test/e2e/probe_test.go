package e2e

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/clinicpay/payments/infra/test/lambdarie"
	"github.com/clinicpay/payments/internal/deployhook"
	"github.com/clinicpay/payments/internal/wiring"
)

// oneTarget is CodeDeploy for a deployment of one version: the function
// the emulator serves (its Invoke API names it "function").
type oneTarget struct {
	reported []cdtypes.LifecycleEventStatus
}

func (o *oneTarget) ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error) {
	return &codedeploy.ListDeploymentTargetsOutput{TargetIds: []string{"function"}}, nil
}

func (o *oneTarget) BatchGetDeploymentTargets(context.Context, *codedeploy.BatchGetDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error) {
	return &codedeploy.BatchGetDeploymentTargetsOutput{DeploymentTargets: []cdtypes.DeploymentTarget{{
		DeploymentTargetType: cdtypes.DeploymentTargetTypeLambdaTarget,
		LambdaTarget: &cdtypes.LambdaTarget{LambdaFunctionInfo: &cdtypes.LambdaFunctionInfo{
			FunctionName: aws.String("function"), TargetVersion: aws.String("2")}},
	}}}, nil
}

func (o *oneTarget) PutLifecycleEventHookExecutionStatus(_ context.Context, in *codedeploy.PutLifecycleEventHookExecutionStatusInput, _ ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error) {
	o.reported = append(o.reported, in.Status)
	return &codedeploy.PutLifecycleEventHookExecutionStatusOutput{}, nil
}

// preTrafficHook runs the hook (internal/deployhook) as CodeDeploy would
// before shifting traffic to the function under the emulator, through
// the AWS SDK's Lambda client, and returns what it reported.
func preTrafficHook(t *testing.T, fn *lambdarie.Function) cdtypes.LifecycleEventStatus {
	t.Helper()
	// Wait for the emulator, and see the probe's answer as the hook will.
	if raw, err := fn.InvokeRaw(wiring.ProbeEvent); err != nil || string(raw) != string(wiring.ProbeAnswer) {
		t.Logf("the probe answered %s (%v)", raw, err)
	}
	cd := &oneTarget{}
	client := awslambda.NewFromConfig(aws.Config{Region: "ca-central-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
		func(o *awslambda.Options) { o.BaseEndpoint = aws.String(fn.Endpoint()) })
	hook := &deployhook.Hook{CodeDeploy: cd, Lambda: client, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Probe: wiring.ProbeEvent, Healthy: wiring.ProbeAnswer}
	if err := hook.Handle(context.Background(), deployhook.Event{DeploymentID: "d-TEST", LifecycleEventHookExecutionID: "h-1"}); err != nil {
		t.Fatal(err)
	}
	if len(cd.reported) != 1 {
		t.Fatalf("reported %v", cd.reported)
	}
	return cd.reported[0]
}

// probeEveryFunction: each function, built as SAM builds it, answers the
// pre-traffic hook's probe under the Lambda runtime emulator by reaching
// the table and reading the Stripe secret through its own recorded
// endpoint (so its role must allow them), and the hook reports Succeeded;
// a version that can't reach its table makes the hook report Failed.
func probeEveryFunction(t *testing.T, bootstraps map[string]string) {
	names := make([]string, 0, len(bootstraps))
	for name := range bootstraps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if got := preTrafficHook(t, startLambda(t, name, bootstraps[name])); got != cdtypes.LifecycleEventStatusSucceeded {
			t.Errorf("%s: the hook reported %s", name, got)
		}
	}
	// DynamoDB unreachable from the new version (nothing listens there).
	broken := startLambda(t, names[0], bootstraps[names[0]], "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1")
	if got := preTrafficHook(t, broken); got != cdtypes.LifecycleEventStatusFailed {
		t.Errorf("%s without its table: the hook reported %s", names[0], got)
	}
}
