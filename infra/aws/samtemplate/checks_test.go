package samtemplate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/internal/deployhook"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/wiring"
)

func load(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func dirOf(function string) string {
	for _, r := range httpapi.Routes {
		if r.Function == function {
			return r.Dir
		}
	}
	for _, f := range jobs.Functions {
		if f.Function == function {
			return f.Dir
		}
	}
	if function == deployhook.Function {
		return deployhook.Dir
	}
	return ""
}

// TestFunctionsBuildArm64Bootstraps: every function is built by SAM with
// the Makefile (BuildMethod makefile), for provided.al2023 on arm64, and
// its build-<LogicalId> target makes a stripped, static, reproducible (no
// VCS stamp, paths or build id) arm64 bootstrap of its own folder.
func TestFunctionsBuildArm64Bootstraps(t *testing.T) {
	tpl := load(t)
	g := tpl.Globals("Function")
	if v := samtemplate.Get(g, "Runtime"); v == nil || v.Value != "provided.al2023" {
		t.Error("Globals: Runtime must be provided.al2023")
	}
	if !slices.Equal(samtemplate.Strings(samtemplate.Get(g, "Architectures")), []string{"arm64"}) {
		t.Error("Globals: Architectures must be [arm64]")
	}
	if v := samtemplate.Get(g, "Handler"); v == nil || v.Value != "bootstrap" {
		t.Error("Globals: Handler must be bootstrap")
	}
	root, _ := samtemplate.RepoRoot()
	for _, fn := range tpl.Resources("AWS::Serverless::Function") {
		// The request lines and the Embedded Metric Format lines need JSON.
		if v := samtemplate.Get(fn.Properties, "LoggingConfig", "LogFormat"); v == nil || v.Value != "JSON" {
			t.Errorf("%s: LoggingConfig.LogFormat must be JSON", fn.Name)
		}
		if samtemplate.Get(fn.Properties, "LoggingConfig", "LogGroup") == nil {
			t.Errorf("%s: LoggingConfig.LogGroup must name a log group with retention", fn.Name)
		}
		if v := samtemplate.Get(fn.Metadata, "BuildMethod"); v == nil || v.Value != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod must be makefile", fn.Name)
		}
		dir := dirOf(fn.Name)
		if dir == "" {
			t.Errorf("%s: neither in the route table (httpapi.Routes) nor among the event-driven functions (jobs.Functions)", fn.Name)
			continue
		}
		out, err := exec.Command("make", "-s", "-n", "-C", root, "build-"+fn.Name, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
		if err != nil {
			t.Errorf("%s: make build-%s: %v %s", fn.Name, fn.Name, err, out)
			continue
		}
		cmd := string(out)
		for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc,nethttpomithttp2", "-s -w", "-o /artifacts/bootstrap", "./functions/" + dir,
			"-buildvcs=false", "-trimpath", "-buildid="} {
			if !strings.Contains(cmd, want) {
				t.Errorf("%s: build command lacks %q: %s", fn.Name, want, cmd)
			}
		}
	}
}

// dataServices are the services whose actions touch data.
var dataServices = []string{"dynamodb", "ses", "secretsmanager", "s3", "kms", "sqs", "sns", "ssm"}

// TestPoliciesAreLeastPrivilege: functions get inline statements only (no
// SAM policy templates, which grant more than is used), no wildcard
// actions, and no data action on Resource "*".
func TestPoliciesAreLeastPrivilege(t *testing.T) {
	for _, fn := range load(t).Resources("AWS::Serverless::Function") {
		policies := samtemplate.Get(fn.Properties, "Policies")
		if policies == nil {
			continue
		}
		for _, p := range policies.Content {
			statements := samtemplate.Get(p, "Statement")
			if statements == nil {
				t.Errorf("%s: a policy that is not an inline statement list (SAM policy templates grant too much)", fn.Name)
				continue
			}
			for _, st := range statements.Content {
				actions := samtemplate.Strings(samtemplate.Get(st, "Action"))
				res := samtemplate.Get(st, "Resource")
				star := slices.Contains(samtemplate.Strings(res), "*") && allPlain(res)
				for _, a := range actions {
					service, name, _ := strings.Cut(a, ":")
					if a == "*" || strings.Contains(name, "*") {
						t.Errorf("%s: wildcard action %q", fn.Name, a)
					}
					if star && slices.Contains(dataServices, service) {
						t.Errorf("%s: data action %s on Resource \"*\"", fn.Name, a)
					}
				}
			}
		}
	}
}

// allPlain reports a resource made only of literal strings (a "!Ref" or
// "!GetAtt" is a tagged node that names one resource).
func allPlain(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return n.Tag == "!!str" || n.Tag == ""
	}
	for _, c := range n.Content {
		if !allPlain(c) {
			return false
		}
	}
	return true
}

// TestEnvironmentIsExactlyWhatTheCodeReads: each function's environment in
// template.yaml names exactly the deployment settings of the builders its
// main.go calls (wiring.Reads, itself checked against the builders).
func TestEnvironmentIsExactlyWhatTheCodeReads(t *testing.T) {
	root, _ := samtemplate.RepoRoot()
	for _, fn := range load(t).Resources("AWS::Serverless::Function") {
		var set []string
		set = append(set, samtemplate.Keys(samtemplate.Get(fn.Properties, "Environment", "Variables"))...)
		sort.Strings(set)
		read := settingsRead(t, filepath.Join(root, "functions", dirOf(fn.Name), "main.go"))
		if !slices.Equal(set, read) {
			t.Errorf("%s: template sets %v, its code reads %v", fn.Name, set, read)
		}
	}
}

// settingsRead collects the builders a main.go calls (pkg.Func) and the
// settings they read.
func settingsRead(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok {
			for _, s := range wiring.Reads[pkg.Name+"."+sel.Sel.Name] {
				seen[s] = true
			}
		}
		return true
	})
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestPipelineDeploysWithoutPrompt: prod's samconfig asks before applying
// a changeset; CONFIRM=no is how a pipeline says not to.
func TestPipelineDeploysWithoutPrompt(t *testing.T) {
	root, _ := samtemplate.RepoRoot()
	for confirm, want := range map[string]bool{"no": true, "": false} {
		out, err := exec.Command("make", "-s", "-n", "-C", root, "deploy", "ENV=prod", "CONFIRM="+confirm).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n deploy: %v %s", err, out)
		}
		if got := strings.Contains(string(out), "sam deploy --config-env prod --no-confirm-changeset"); got != want {
			t.Errorf("CONFIRM=%q: --no-confirm-changeset %v, want %v:\n%s", confirm, got, want, out)
		}
	}
}

// TestEventFunctionsMatchTemplate: each event-driven function (jobs.Functions)
// is in the template, invoked by its event source only (no route), and has
// its folder and build line; the template has no other function without a
// route.
func TestEventFunctionsMatchTemplate(t *testing.T) {
	tpl := load(t)
	routed := map[string]bool{}
	for _, r := range httpapi.Routes {
		routed[r.Function] = true
	}
	known := map[string]jobs.Function{}
	for _, f := range jobs.Functions {
		known[f.Function] = f
	}
	for _, fn := range tpl.Resources("AWS::Serverless::Function") {
		if routed[fn.Name] {
			continue
		}
		if fn.Name == deployhook.Function {
			// CodeDeploy invokes it, through each function's
			// DeploymentPreference, not an event source.
			if events := samtemplate.Get(fn.Properties, "Events"); events != nil {
				t.Errorf("%s: has event sources", fn.Name)
			}
			continue
		}
		f, ok := known[fn.Name]
		if !ok {
			t.Errorf("%s: no route and not in jobs.Functions", fn.Name)
			continue
		}
		delete(known, fn.Name)
		events := samtemplate.Get(fn.Properties, "Events")
		var types []string
		for _, k := range samtemplate.Keys(events) {
			types = append(types, samtemplate.Get(events, k, "Type").Value)
		}
		if !slices.Equal(types, []string{f.EventType}) {
			t.Errorf("%s: invoked by %v, want only a %s", fn.Name, types, f.EventType)
		}
	}
	for name := range known {
		t.Errorf("jobs.Functions names %s, which template.yaml does not have", name)
	}
}
