// Package deployhook is the pre-traffic hook CodeDeploy runs before it
// moves any traffic to a function's new version (template.yaml,
// DeploymentPreference.Hooks): it finds the version the deployment is
// about, invokes it with the probe event (wiring.ProbeEvent: the table
// reachable, the Stripe secret readable; nothing written, nothing sent),
// and tells CodeDeploy Succeeded or Failed. Failed stops the deployment
// with all traffic still on the old version.
package deployhook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// The hook's logical id in template.yaml and its folder under functions/.
const (
	Function = "PreTrafficHookFunction"
	Dir      = "pre-traffic-hook"
)

// CodeDeploy is the part of CodeDeploy's API the hook uses.
type CodeDeploy interface {
	ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	BatchGetDeploymentTargets(context.Context, *codedeploy.BatchGetDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error)
	PutLifecycleEventHookExecutionStatus(context.Context, *codedeploy.PutLifecycleEventHookExecutionStatusInput, ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error)
}

// Lambda invokes the version under test.
type Lambda interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Event is what CodeDeploy invokes a lifecycle hook with.
type Event struct {
	DeploymentID                  string `json:"DeploymentId"`
	LifecycleEventHookExecutionID string `json:"LifecycleEventHookExecutionId"`
}

// Hook is the pre-traffic hook.
type Hook struct {
	CodeDeploy CodeDeploy
	Lambda     Lambda
	Log        *slog.Logger
	// Probe is the event each new version is invoked with, Healthy its
	// answer when all is well (wiring.ProbeEvent, wiring.ProbeAnswer).
	Probe, Healthy []byte
}

// Target is one function version a deployment moves traffic to.
type Target struct {
	Function, Version string
}

// Handle runs the probe on every version of the deployment and reports
// the outcome to CodeDeploy. Its own error (CodeDeploy unreachable) also
// fails the deployment: CodeDeploy gives up on a hook that never reports.
func (h *Hook) Handle(ctx context.Context, ev Event) error {
	status := cdtypes.LifecycleEventStatusSucceeded
	targets, err := h.targets(ctx, ev.DeploymentID)
	if err == nil {
		for _, t := range targets {
			if err = h.probe(ctx, t); err != nil {
				break
			}
			h.Log.InfoContext(ctx, "pre-traffic probe passed", "deploymentId", ev.DeploymentID, "function", t.Function, "version", t.Version)
		}
	}
	if err != nil {
		status = cdtypes.LifecycleEventStatusFailed
		h.Log.ErrorContext(ctx, "pre-traffic probe failed: the deployment stops before traffic moves", "deploymentId", ev.DeploymentID, "error", err.Error())
	}
	_, perr := h.CodeDeploy.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: &ev.DeploymentID, LifecycleEventHookExecutionId: &ev.LifecycleEventHookExecutionID, Status: status,
	})
	if perr != nil {
		return fmt.Errorf("report %s to CodeDeploy: %w", status, perr)
	}
	return nil
}

// targets lists the function versions of a deployment (a Lambda
// deployment has one; the hook does not assume it).
func (h *Hook) targets(ctx context.Context, deploymentID string) ([]Target, error) {
	var ids []string
	in := &codedeploy.ListDeploymentTargetsInput{DeploymentId: &deploymentID}
	for {
		out, err := h.CodeDeploy.ListDeploymentTargets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list the deployment's targets: %w", err)
		}
		ids = append(ids, out.TargetIds...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	var targets []Target
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 25)] // BatchGetDeploymentTargets takes 25 at most
		ids = ids[len(batch):]
		out, err := h.CodeDeploy.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: &deploymentID, TargetIds: batch})
		if err != nil {
			return nil, fmt.Errorf("read the deployment's targets: %w", err)
		}
		for _, t := range out.DeploymentTargets {
			info := t.LambdaTarget
			if info == nil || info.LambdaFunctionInfo == nil || info.LambdaFunctionInfo.FunctionName == nil || info.LambdaFunctionInfo.TargetVersion == nil {
				return nil, fmt.Errorf("target %v is not a Lambda function version", t.DeploymentTargetType)
			}
			targets = append(targets, Target{Function: *info.LambdaFunctionInfo.FunctionName, Version: *info.LambdaFunctionInfo.TargetVersion})
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("deployment %s has no Lambda target", deploymentID)
	}
	return targets, nil
}

// probe invokes one version with the probe event and wants the healthy
// answer back.
func (h *Hook) probe(ctx context.Context, t Target) error {
	out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: &t.Function, Qualifier: &t.Version, Payload: h.Probe})
	if err != nil {
		return fmt.Errorf("invoke %s:%s: %w", t.Function, t.Version, err)
	}
	if out.FunctionError != nil || !bytes.Equal(bytes.TrimSpace(out.Payload), h.Healthy) {
		return fmt.Errorf("%s:%s answered the probe %s (function error %q)", t.Function, t.Version, out.Payload, deref(out.FunctionError))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
