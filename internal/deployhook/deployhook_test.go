package deployhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/clinicpay/payments/internal/deployhook"
)

type fakeCodeDeploy struct {
	targets  []cdtypes.DeploymentTarget
	listErr  error
	reported []cdtypes.LifecycleEventStatus
}

func (f *fakeCodeDeploy) ListDeploymentTargets(_ context.Context, in *codedeploy.ListDeploymentTargetsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	// One target id per page, to walk the pages.
	i := 0
	if in.NextToken != nil {
		i, _ = strconv.Atoi(*in.NextToken)
	}
	if i >= len(f.targets) {
		return &codedeploy.ListDeploymentTargetsOutput{}, nil
	}
	out := &codedeploy.ListDeploymentTargetsOutput{TargetIds: []string{fmt.Sprint(i)}}
	if i+1 < len(f.targets) {
		next := fmt.Sprint(i + 1)
		out.NextToken = &next
	}
	return out, nil
}

func (f *fakeCodeDeploy) BatchGetDeploymentTargets(_ context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, _ ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error) {
	out := &codedeploy.BatchGetDeploymentTargetsOutput{}
	for _, id := range in.TargetIds {
		i, _ := strconv.Atoi(id)
		out.DeploymentTargets = append(out.DeploymentTargets, f.targets[i])
	}
	return out, nil
}

func (f *fakeCodeDeploy) PutLifecycleEventHookExecutionStatus(_ context.Context, in *codedeploy.PutLifecycleEventHookExecutionStatusInput, _ ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error) {
	f.reported = append(f.reported, in.Status)
	return &codedeploy.PutLifecycleEventHookExecutionStatusOutput{}, nil
}

// fakeLambda answers each function version as told.
type fakeLambda struct {
	answers map[string]*lambda.InvokeOutput
	invoked []string
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	key := *in.FunctionName + ":" + *in.Qualifier
	f.invoked = append(f.invoked, key+" "+string(in.Payload))
	out, ok := f.answers[key]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return out, nil
}

func target(fn, version string) cdtypes.DeploymentTarget {
	return cdtypes.DeploymentTarget{DeploymentTargetType: cdtypes.DeploymentTargetTypeLambdaTarget, LambdaTarget: &cdtypes.LambdaTarget{
		LambdaFunctionInfo: &cdtypes.LambdaFunctionInfo{FunctionName: &fn, TargetVersion: &version}}}
}

func TestHook(t *testing.T) {
	healthy := &lambda.InvokeOutput{Payload: []byte(`{"probe":"ok"}`)}
	crashed := "Unhandled"
	cases := []struct {
		name    string
		targets []cdtypes.DeploymentTarget
		listErr error
		answers map[string]*lambda.InvokeOutput
		want    cdtypes.LifecycleEventStatus
	}{
		{"the new version answers the probe", []cdtypes.DeploymentTarget{target("f", "7")}, nil, map[string]*lambda.InvokeOutput{"f:7": healthy}, cdtypes.LifecycleEventStatusSucceeded},
		{"every target is probed", []cdtypes.DeploymentTarget{target("f", "7"), target("g", "3")}, nil, map[string]*lambda.InvokeOutput{"f:7": healthy, "g:3": healthy}, cdtypes.LifecycleEventStatusSucceeded},
		{"a check failed", []cdtypes.DeploymentTarget{target("f", "7")}, nil, map[string]*lambda.InvokeOutput{"f:7": {FunctionError: &crashed, Payload: []byte(`{"errorMessage":"pre-traffic check 1: AccessDenied"}`)}}, cdtypes.LifecycleEventStatusFailed},
		{"an answer that is not the probe's (the handler took it as a request)", []cdtypes.DeploymentTarget{target("f", "7")}, nil, map[string]*lambda.InvokeOutput{"f:7": {Payload: []byte(`{"statusCode":401}`)}}, cdtypes.LifecycleEventStatusFailed},
		{"the version can't be invoked", []cdtypes.DeploymentTarget{target("f", "7")}, nil, nil, cdtypes.LifecycleEventStatusFailed},
		{"the second target fails", []cdtypes.DeploymentTarget{target("f", "7"), target("g", "3")}, nil, map[string]*lambda.InvokeOutput{"f:7": healthy}, cdtypes.LifecycleEventStatusFailed},
		{"no target", nil, nil, nil, cdtypes.LifecycleEventStatusFailed},
		{"a target that is not a function", []cdtypes.DeploymentTarget{{DeploymentTargetType: cdtypes.DeploymentTargetTypeEcsTarget}}, nil, nil, cdtypes.LifecycleEventStatusFailed},
		{"CodeDeploy can't list the targets", nil, errors.New("throttled"), nil, cdtypes.LifecycleEventStatusFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cd := &fakeCodeDeploy{targets: c.targets, listErr: c.listErr}
			fn := &fakeLambda{answers: c.answers}
			h := &deployhook.Hook{CodeDeploy: cd, Lambda: fn, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Probe: []byte(`{"clinicpayProbe":"pre-traffic"}`), Healthy: []byte(`{"probe":"ok"}`)}
			if err := h.Handle(context.Background(), deployhook.Event{DeploymentID: "d-1", LifecycleEventHookExecutionID: "e-1"}); err != nil {
				t.Fatal(err)
			}
			if len(cd.reported) != 1 || cd.reported[0] != c.want {
				t.Fatalf("reported %v, want %s (invoked %v)", cd.reported, c.want, fn.invoked)
			}
			for _, inv := range fn.invoked {
				if want := ` {"clinicpayProbe":"pre-traffic"}`; inv[len(inv)-len(want):] != want {
					t.Errorf("invoked with %q", inv)
				}
			}
		})
	}
}
