package cfntemplate_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/internal/deployhook"
)

// asyncProblems: every EventBridge rule's and schedule's target, and
// every event source mapping, invokes a function's live alias (which the
// service may invoke); every function invoked asynchronously (by a rule
// or a schedule) keeps its failed events in a destination that an alarm
// watches, instead of dropping them after Lambda's retries.
func asyncProblems(t *testing.T, tr *cfntemplate.Translated) []string {
	var out []string
	async := map[string]bool{}
	check := func(what, principal string, target any) {
		alias := refOf(target)
		fn := aliasFunction(t, tr, alias)
		switch {
		case fn == "":
			out = append(out, fmt.Sprintf("%s targets %v, not a function's live alias", what, target))
		case principal != "" && !invokePermission(t, tr, alias, principal):
			out = append(out, fmt.Sprintf("%s: %s may not invoke %s", what, principal, alias))
		case principal != "":
			async[fn] = true
		}
	}
	for _, rule := range tr.Resources("AWS::Events::Rule") {
		targets, _ := raw(t, tr, rule, "Properties", "Targets").([]any)
		for _, target := range targets {
			m, _ := target.(map[string]any)
			check("rule "+rule.Name, "events.amazonaws.com", m["Arn"])
		}
	}
	for _, s := range tr.Resources("AWS::Scheduler::Schedule") {
		// EventBridge Scheduler invokes with its own role, not a permission.
		check("schedule "+s.Name, "", raw(t, tr, s, "Properties", "Target", "Arn"))
		async[aliasFunction(t, tr, refOf(raw(t, tr, s, "Properties", "Target", "Arn")))] = true
	}
	for _, m := range tr.Resources("AWS::Lambda::EventSourceMapping") {
		check("event source mapping "+m.Name, "", raw(t, tr, m, "Properties", "FunctionName"))
	}
	for _, fn := range sorted(async) {
		out = append(out, failureDestinationProblems(t, tr, fn)...)
	}
	return out
}

// failureDestinationProblems: the function's live alias sends what fails
// every try to a queue or topic (or the function has a dead-letter
// queue), and an alarm watches it.
func failureDestinationProblems(t *testing.T, tr *cfntemplate.Translated, fn string) []string {
	dest := ""
	for _, c := range tr.Resources("AWS::Lambda::EventInvokeConfig") {
		if refOf(raw(t, tr, c, "Properties", "FunctionName")) == fn {
			dest = refOf(raw(t, tr, c, "Properties", "DestinationConfig", "OnFailure", "Destination"))
		}
	}
	if r, ok := tr.Resource(fn); ok && dest == "" {
		dest = refOf(raw(t, tr, r, "Properties", "DeadLetterConfig", "TargetArn"))
	}
	if dest == "" {
		return []string{fn + ": invoked asynchronously, with no on-failure destination or dead-letter queue: what fails every try is dropped"}
	}
	for _, a := range tr.Resources("AWS::CloudWatch::Alarm") {
		if slices.Contains(alarmDimensionRefs(t, tr, a), dest) {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: its failed events go to %s, which no alarm watches", fn, dest)}
}

// alarmDimensionRefs lists the resources an alarm's metrics' dimensions
// name.
func alarmDimensionRefs(t *testing.T, tr *cfntemplate.Translated, alarm samtemplate.Resource) []string {
	var dims []any
	if d, ok := raw(t, tr, alarm, "Properties", "Dimensions").([]any); ok {
		dims = append(dims, d...)
	}
	metrics, _ := raw(t, tr, alarm, "Properties", "Metrics").([]any)
	for _, m := range metrics {
		mm, _ := m.(map[string]any)
		stat, _ := mm["MetricStat"].(map[string]any)
		metric, _ := stat["Metric"].(map[string]any)
		if d, ok := metric["Dimensions"].([]any); ok {
			dims = append(dims, d...)
		}
	}
	var out []string
	for _, d := range dims {
		dm, _ := d.(map[string]any)
		if id := refOf(dm["Value"]); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// TestAsyncInvocationsReachAliasesAndFailuresAreKept: see asyncProblems.
// Generic over rules, schedules and event source mappings, so a new one
// is checked without naming it here.
func TestAsyncInvocationsReachAliasesAndFailuresAreKept(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		for _, p := range asyncProblems(t, translated(t, env)) {
			t.Errorf("%s: %s", env, p)
		}
	}
}

// TestAsyncCheckCatchesADroppedFailure: without its destination, the
// scheduler's failed runs would be dropped; the check names it.
func TestAsyncCheckCatchesADroppedFailure(t *testing.T) {
	t.Parallel()
	src := source(t)
	start := strings.Index(src, "      # The schedule invokes it asynchronously")
	end := strings.Index(src[start:], "      LoggingConfig:")
	if start < 0 || end < 0 {
		t.Fatal("template.yaml: the scheduler's EventInvokeConfig moved")
	}
	problems := asyncProblems(t, translate(t, src[:start]+src[start+end:], "dev"))
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "SendRemindersFunction: ") {
		t.Fatalf("problems: %v", problems)
	}
}

// TestFunctionsAsDeployed: Lambda keeps each function's REPORT lines
// (SystemLogLevel INFO or DEBUG: they are INFO lines), in JSON; X-Ray is
// PassThrough unless the code is instrumented (go.mod names no X-Ray or
// OpenTelemetry SDK); each function has a live alias and a CodeDeploy
// deployment group.
func TestFunctionsAsDeployed(t *testing.T) {
	t.Parallel()
	root, _ := samtemplate.RepoRoot()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	instrumented := strings.Contains(string(gomod), "aws-xray-sdk-go") || strings.Contains(string(gomod), "go.opentelemetry.io")
	for _, env := range envs {
		tr := translated(t, env)
		aliased := map[string]bool{}
		for _, a := range tr.Resources("AWS::Lambda::Alias") {
			if samtemplate.Get(a.Node, "UpdatePolicy", "CodeDeployLambdaAliasUpdate") != nil {
				aliased[refOf(raw(t, tr, a, "Properties", "FunctionName"))] = true
			}
		}
		for _, fn := range tr.Resources("AWS::Lambda::Function") {
			if v := samtemplate.Get(fn.Properties, "LoggingConfig", "SystemLogLevel"); v == nil || (v.Value != "INFO" && v.Value != "DEBUG") {
				t.Errorf("%s: %s: SystemLogLevel %v drops Lambda's REPORT lines (duration, memory, init)", env, fn.Name, v)
			}
			mode := samtemplate.Get(fn.Properties, "TracingConfig", "Mode")
			if !instrumented && mode != nil && mode.Value != "PassThrough" {
				t.Errorf("%s: %s: tracing %s, but the code sends no segments", env, fn.Name, mode.Value)
			}
			if !aliased[fn.Name] {
				t.Errorf("%s: %s: no live alias deployed through CodeDeploy", env, fn.Name)
			}
		}
	}
}

// TestNewVersionsAreProbedBeforeTraffic: CodeDeploy runs the pre-traffic
// hook before it shifts any function's alias (but the hook's own), and
// may invoke it.
func TestNewVersionsAreProbedBeforeTraffic(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		tr := translated(t, env)
		for _, a := range tr.Resources("AWS::Lambda::Alias") {
			fn := refOf(raw(t, tr, a, "Properties", "FunctionName"))
			hook := refOf(raw(t, tr, a, "UpdatePolicy", "CodeDeployLambdaAliasUpdate", "BeforeAllowTrafficHook"))
			if fn != deployhook.Function && hook != deployhook.Function {
				t.Errorf("%s: %s's new versions take traffic unprobed (BeforeAllowTrafficHook %q)", env, fn, hook)
			}
		}
		role, ok := tr.Resource("CodeDeployRole")
		if !ok || !strings.Contains(fmt.Sprint(raw(t, tr, role, "Properties", "Policies")), "lambda:InvokeFunction") {
			t.Errorf("%s: the CodeDeploy role may not invoke the hook", env)
		}
	}
}

// TestDeployedAPIFailsOnWarnings: an OpenAPI import warning (a route API
// Gateway would drop) fails the deploy instead of passing silently.
func TestDeployedAPIFailsOnWarnings(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		for _, api := range translated(t, env).Resources("AWS::ApiGatewayV2::Api") {
			if v := samtemplate.Get(api.Properties, "FailOnWarnings"); v == nil || v.Value != "true" {
				t.Errorf("%s: %s: FailOnWarnings %v", env, api.Name, v)
			}
		}
	}
}

// TestTranslatorIsThePinnedOne: the checks above hold for the translator
// version versions.mk pins (make tools installs it), the one they were
// written against.
func TestTranslatorIsThePinnedOne(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("python3", "-c", "import samtranslator; print(samtranslator.__version__)").Output()
	if err != nil {
		t.Fatalf("python3 with aws-sam-translator (make tools): %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != localservers.SAMTranslatorVersion {
		t.Fatalf("aws-sam-translator %s, versions.mk pins %s", got, localservers.SAMTranslatorVersion)
	}
}
