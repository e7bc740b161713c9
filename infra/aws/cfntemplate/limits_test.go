package cfntemplate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/iampolicy"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// CloudFormation's quotas (Understand CloudFormation quotas, AWS
// CloudFormation User Guide). sam deploy uploads the template to S3
// (samconfig's resolve_s3) because it is over the 51,200 bytes a request
// may carry; an S3 template may be 1 MB, which is checked here as
// 1,000,000 bytes against both the template sam deploy uploads and the
// template the transform produces.
const (
	maxResources     = 500
	maxOutputs       = 200
	maxParameters    = 200
	maxS3Template    = 1_000_000
	maxInlineRequest = 51_200
)

func limitProblems(tr *cfntemplate.Translated) []string {
	var out []string
	count := func(section string) int { return len(samtemplate.Keys(samtemplate.Get(tr.Root(), section))) }
	if n := count("Resources"); n > maxResources {
		out = append(out, fmt.Sprintf("%d resources after the transform; CloudFormation allows %d per stack", n, maxResources))
	}
	if n := count("Outputs"); n > maxOutputs {
		out = append(out, fmt.Sprintf("%d outputs; CloudFormation allows %d", n, maxOutputs))
	}
	if n := count("Parameters"); n > maxParameters {
		out = append(out, fmt.Sprintf("%d parameters; CloudFormation allows %d", n, maxParameters))
	}
	for what, size := range map[string]int{"the uploaded template": tr.SourceSize, "the transformed template": len(tr.JSON)} {
		if size > maxS3Template {
			out = append(out, fmt.Sprintf("%s is %d bytes; CloudFormation takes 1 MB from S3", what, size))
		}
	}
	return out
}

// TestWithinCloudFormationLimits: the stack as AWS builds it fits
// CloudFormation's quotas, with room to spare logged; and since the
// template is too big to send inline, every environment lets sam deploy
// upload it to S3.
func TestWithinCloudFormationLimits(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		tr := translated(t, env)
		for _, p := range limitProblems(tr) {
			t.Errorf("%s: %s", env, p)
		}
		t.Logf("%s: %d of %d resources, template %d bytes uploaded, %d bytes transformed (of %d)", env,
			len(tr.Resources("")), maxResources, tr.SourceSize, len(tr.JSON), maxS3Template)
	}
	tr := translated(t, "prod")
	if tr.SourceSize > maxInlineRequest {
		root, _ := samtemplate.RepoRoot()
		cfg, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range envs {
			section := string(cfg)[strings.Index(string(cfg), "["+env+".deploy.parameters]"):]
			if !strings.Contains(section, "resolve_s3 = true") && !strings.Contains(section, "s3_bucket =") {
				t.Errorf("%s: the template (%d bytes) is over %d; samconfig.toml must let sam deploy upload it to S3", env, tr.SourceSize, maxInlineRequest)
			}
		}
	}
}

// TestLimitCheckCatchesTooManyResources: 500 more queues put the stack
// over CloudFormation's resource quota, and the check says so.
func TestLimitCheckCatchesTooManyResources(t *testing.T) {
	t.Parallel()
	var extra strings.Builder
	for i := range maxResources {
		fmt.Fprintf(&extra, "  Padding%d:\n    Type: AWS::SQS::Queue\n", i)
	}
	src := replaceOnce(t, source(t), "\nResources:\n", "\nResources:\n"+extra.String())
	if problems := limitProblems(translate(t, src, "dev")); len(problems) == 0 || !strings.Contains(problems[0], "resources") {
		t.Fatalf("problems: %v", problems)
	}
}

// retainProblems: nothing is plain Retain but the function versions SAM
// keeps to roll back to (they have no name of their own). A resource kept
// after a failed first create (named log groups, above all) stops the
// retry on "already exists"; RetainExceptOnCreate keeps it on delete and
// drops it then.
func retainProblems(tr *cfntemplate.Translated) []string {
	var out []string
	for _, r := range tr.Resources("") {
		if v := samtemplate.Get(r.Node, "DeletionPolicy"); v != nil && v.Value == "Retain" && r.Type != "AWS::Lambda::Version" {
			out = append(out, r.Name+": DeletionPolicy Retain blocks a retry after a failed first create; RetainExceptOnCreate")
		}
	}
	return out
}

// TestFailedFirstCreateCanBeRetried: what holds data (the table, the log
// groups) is kept on delete, and nothing is kept after a failed create.
func TestFailedFirstCreateCanBeRetried(t *testing.T) {
	t.Parallel()
	tr := translated(t, "prod")
	for _, p := range retainProblems(tr) {
		t.Error(p)
	}
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::Logs::LogGroup"} {
		for _, r := range tr.Resources(typ) {
			if v := samtemplate.Get(r.Node, "DeletionPolicy"); v == nil || v.Value != "RetainExceptOnCreate" {
				t.Errorf("%s: DeletionPolicy %v: its data would go with the stack", r.Name, v)
			}
			if v := samtemplate.Get(r.Node, "UpdateReplacePolicy"); v == nil || v.Value != "Retain" {
				t.Errorf("%s: UpdateReplacePolicy %v: a replacement would delete its data", r.Name, v)
			}
		}
	}
}

// TestRetainCheckCatchesAPlainRetain: the log groups as they were.
func TestRetainCheckCatchesAPlainRetain(t *testing.T) {
	t.Parallel()
	src := replaceOnce(t, source(t), "DeletionPolicy: RetainExceptOnCreate\n", "DeletionPolicy: Retain\n")
	if problems := retainProblems(translate(t, src, "dev")); len(problems) != 1 {
		t.Fatalf("problems: %v", problems)
	}
}

// roleProblems: each role the stack creates fits IAM's quotas, counted as
// IAM counts them (characters of the resolved documents, whitespace
// excluded): its inline policies together 10,240, its trust policy 2,048,
// 10 managed policies attached; each managed policy 6,144. And every role
// carries the permissions boundary.
func roleProblems(t *testing.T, tr *cfntemplate.Translated, st samtemplate.Stack) []string {
	var out []string
	for _, r := range tr.Resources("AWS::IAM::Role") {
		var docs []any
		policies, _ := raw(t, tr, r, "Properties", "Policies").([]any)
		for i := range policies {
			doc, err := tr.Resolve(samtemplate.Get(samtemplate.Get(r.Properties, "Policies").Content[i], "PolicyDocument"), st)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, doc)
		}
		if err := iampolicy.CheckRoleInline(docs...); err != nil {
			out = append(out, r.Name+": "+err.Error())
		}
		trust, err := tr.Resolve(samtemplate.Get(r.Properties, "AssumeRolePolicyDocument"), st)
		if err != nil {
			t.Fatal(err)
		}
		if err := iampolicy.CheckTrust(trust); err != nil {
			out = append(out, r.Name+": "+err.Error())
		}
		if n := len(samtemplate.Get(r.Properties, "ManagedPolicyArns").Content); n > iampolicy.MaxManagedPoliciesPerRole {
			out = append(out, fmt.Sprintf("%s: %d managed policies; IAM attaches %d", r.Name, n, iampolicy.MaxManagedPoliciesPerRole))
		}
		if samtemplate.Get(r.Properties, "PermissionsBoundary") == nil {
			out = append(out, r.Name+": no permissions boundary (the service role may only create roles under it)")
		}
	}
	for _, p := range tr.Resources("AWS::IAM::ManagedPolicy") {
		doc, err := tr.Resolve(samtemplate.Get(p.Properties, "PolicyDocument"), st)
		if err != nil {
			t.Fatal(err)
		}
		if err := iampolicy.CheckManaged(doc); err != nil {
			out = append(out, p.Name+": "+err.Error())
		}
	}
	return out
}

// TestRolesWithinIAMLimits: see roleProblems.
func TestRolesWithinIAMLimits(t *testing.T) {
	t.Parallel()
	for _, env := range envs {
		tr := translated(t, env)
		for _, p := range roleProblems(t, tr, stackFor(t, tr, env)) {
			t.Errorf("%s: %s", env, p)
		}
	}
}

// TestRoleCheckCatchesAnOversizedRole: 300 more statements in one
// function's policy put its role over IAM's 10,240 characters.
func TestRoleCheckCatchesAnOversizedRole(t *testing.T) {
	t.Parallel()
	var extra strings.Builder
	for i := range 300 {
		fmt.Fprintf(&extra, "            - Sid: Padding%d\n              Effect: Allow\n              Action: dynamodb:GetItem\n              Resource: !GetAtt Table.Arn\n", i)
	}
	anchor := "          Statement:\n            # The pre-traffic probe (wiring.Start): the table reachable.\n"
	src := replaceOnce(t, source(t), anchor, anchor+extra.String())
	tr := translate(t, src, "dev")
	problems := roleProblems(t, tr, stackFor(t, tr, "dev"))
	found := false
	for _, p := range problems {
		found = found || strings.Contains(p, "10240")
	}
	if !found {
		t.Fatalf("problems: %v", problems)
	}
}
