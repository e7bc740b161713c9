package docs_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/iampolicy"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/internal/httpapi"
)

// The runbook (deploy.md) and its files are checked against what they
// describe, so they can't drift from the code: every make target it runs
// exists, every parameter the stack needs is set, the webhook subscribes to
// exactly the events the code handles, the identity provider issues the
// claims and scopes the API checks, and the deployer's policy allows what
// deploying this stack does.

func runbook(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunbookMakeTargetsExist(t *testing.T) {
	makefile := string(repoFile(t, "Makefile"))
	seen := 0
	for _, m := range regexp.MustCompile("make ([a-z][a-z-]*[a-z])(?:[\\s`]|$)").FindAllStringSubmatch(runbook(t), -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).MatchString(makefile) {
			t.Errorf("deploy.md runs make %s, which the Makefile lacks", m[1])
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("deploy.md runs no make target")
	}
}

// TestRunbookSetsEveryRequiredParameter: the parameters without a default
// are all printed for samconfig.toml; the others are named.
func TestRunbookSetsEveryRequiredParameter(t *testing.T) {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	doc := runbook(t)
	params := samtemplate.Get(tpl.Root(), "Parameters")
	for _, name := range samtemplate.Keys(params) {
		required := samtemplate.Get(params, name, "Default") == nil
		if required && !strings.Contains(doc, `"`+name+`=`) {
			t.Errorf("deploy.md does not set the required parameter %s", name)
		}
		if !strings.Contains(doc, name) {
			t.Errorf("deploy.md never names the parameter %s", name)
		}
	}
}

// TestRunbookWebhookEventsAreTheHandledOnes: the endpoint's events are
// exactly the Stripe event types the domain names (billing.Event*
// constants, "type.name" strings), wherever in the package they live.
func TestRunbookWebhookEventsAreTheHandledOnes(t *testing.T) {
	var handled []string
	files, err := filepath.Glob(filepath.Join("..", "internal", "billing", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil && strings.Contains(v, ".") {
						handled = append(handled, v)
					}
				}
			}
			return true
		})
	}
	var subscribed []string
	for _, m := range regexp.MustCompile(`enabled_events\[\]=([a-z._]+)`).FindAllStringSubmatch(runbook(t), -1) {
		subscribed = append(subscribed, m[1])
	}
	slices.Sort(handled)
	slices.Sort(subscribed)
	if len(handled) == 0 || !slices.Equal(handled, subscribed) {
		t.Fatalf("the code handles %v; deploy.md subscribes the endpoint to %v", handled, subscribed)
	}
}

// TestIdentityProviderIssuesWhatTheAPIChecks: the Cognito template's
// trigger adds the tenant claim and every scope the template's routes
// require, on access tokens, with the V2_0 event (which needs Essentials).
func TestIdentityProviderIssuesWhatTheAPIChecks(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(repoFile(t, "docs/cognito.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	pool := samtemplate.Get(root, "Resources", "UserPool", "Properties")
	if v := samtemplate.Get(pool, "LambdaConfig", "PreTokenGenerationConfig", "LambdaVersion"); v == nil || v.Value != "V2_0" {
		t.Error("the pre token generation trigger must get the V2_0 event (access tokens)")
	}
	if v := samtemplate.Get(pool, "UserPoolTier"); v == nil || (v.Value != "ESSENTIALS" && v.Value != "PLUS") {
		t.Error("access-token customization needs the Essentials or Plus feature plan")
	}
	code := samtemplate.Get(root, "Resources", "PreTokenGeneration", "Properties", "Code", "ZipFile").Value
	if !strings.Contains(code, `"`+httpapi.DefaultTenantClaim+`"`) || !strings.Contains(code, "accessTokenGeneration") {
		t.Errorf("the trigger does not add %s to access tokens", httpapi.DefaultTenantClaim)
	}
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tpl.Routes() {
		for _, scope := range r.Scopes {
			if !strings.Contains(code, `"`+scope+`"`) {
				t.Errorf("%s needs %s, which the trigger never adds", r.Key(), scope)
			}
		}
	}
	for _, c := range []string{"FrontEndClient", "SmokeClient"} {
		w := samtemplate.Strings(samtemplate.Get(root, "Resources", c, "Properties", "WriteAttributes"))
		if slices.Contains(w, "custom:billing_company_id") || len(w) == 0 {
			t.Errorf("%s: users must not write their own tenant (WriteAttributes %v)", c, w)
		}
	}
}

// policyFile parses a policy document of docs/.
func policyFile(t *testing.T, name string) any {
	t.Helper()
	var doc any
	if err := json.Unmarshal(repoFile(t, "docs/"+name), &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func parsePolicies(t *testing.T, names ...string) *iampolicy.Policy {
	t.Helper()
	var docs []any
	for _, n := range names {
		docs = append(docs, policyFile(t, n))
	}
	p, err := iampolicy.Parse(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	acct   = "123456789012"
	region = "ca-central-1"
)

func arn(service, resource string) string {
	return "arn:aws:" + service + ":" + region + ":" + acct + ":" + resource
}

// TestDeployerOnlyDrivesCloudFormation: the deployer's policy lets it run
// sam deploy and sam delete on clinicpay-* stacks (change sets, SAM's
// transform and artifacts bucket) and pass the CloudFormation service
// role, which does the building; it can't build anything itself, nor
// pass that role to another service.
func TestDeployerOnlyDrivesCloudFormation(t *testing.T) {
	p := parsePolicies(t, "deployer-policy.json")
	serviceRole := "arn:aws:iam::" + acct + ":role/deploy/clinicpay-cloudformation"
	allowed := []iampolicy.Request{
		{Action: "cloudformation:CreateChangeSet", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "cloudformation:CreateChangeSet", Resource: "arn:aws:cloudformation:" + region + ":aws:transform/Serverless-2016-10-31"},
		{Action: "cloudformation:ExecuteChangeSet", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "cloudformation:DeleteStack", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "cloudformation:DescribeStackEvents", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "s3:PutObject", Resource: "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-abc123/clinicpay-prod/f00"},
		{Action: "s3:DeleteObject", Resource: "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-abc123/clinicpay-prod/f00"},
		{Action: "iam:PassRole", Resource: serviceRole, Context: map[string]string{"iam:PassedToService": "cloudformation.amazonaws.com"}},
	}
	for _, r := range allowed {
		if d := p.Evaluate(r); d != iampolicy.Allowed {
			t.Errorf("deployer-policy.json: %s is %v", r, d)
		}
	}
	denied := []iampolicy.Request{
		{Action: "iam:PassRole", Resource: serviceRole, Context: map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}},
		{Action: "iam:PassRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC", Context: map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}},
		{Action: "iam:CreateRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC"},
		{Action: "lambda:UpdateFunctionCode", Resource: arn("lambda", "function:clinicpay-prod-PutInvoiceFunction-AbC")},
		{Action: "dynamodb:DeleteTable", Resource: arn("dynamodb", "table/clinicpay-prod-Table-AbC")},
		{Action: "secretsmanager:GetSecretValue", Resource: arn("secretsmanager", "secret:clinicpay/prod/stripe-AbCdEf")},
		{Action: "cloudformation:DeleteStack", Resource: arn("cloudformation", "stack/payroll-prod/0a1b2c")},
	}
	for _, r := range denied {
		if d := p.Evaluate(r); d == iampolicy.Allowed {
			t.Errorf("deployer-policy.json allows %s", r)
		}
	}
}

// TestCloudFormationRoleStaysOnTheStack: the service role builds
// clinicpay-* resources only (infra/aws/cfntemplate checks it may create and
// delete every resource the translated stack holds).
func TestCloudFormationRoleStaysOnTheStack(t *testing.T) {
	p := parsePolicies(t, "cloudformation-role-compute-policy.json", "cloudformation-role-monitoring-policy.json")
	for _, r := range []iampolicy.Request{
		{Action: "lambda:UpdateFunctionCode", Resource: arn("lambda", "function:payroll-prod-Run")},
		{Action: "dynamodb:DeleteTable", Resource: arn("dynamodb", "table/payroll")},
		{Action: "secretsmanager:GetSecretValue", Resource: arn("secretsmanager", "secret:clinicpay/prod/stripe-AbCdEf")},
		{Action: "ses:DeleteConfigurationSet", Resource: arn("ses", "configuration-set/marketing")},
		{Action: "events:PutTargets", Resource: arn("events", "rule/payroll-nightly")},
		{Action: "s3:PutObject", Resource: "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-abc123/x"},
	} {
		if d := p.Evaluate(r); d == iampolicy.Allowed {
			t.Errorf("the service role may %s", r)
		}
	}
}

// shippedPolicies are the policy documents the runbook creates, and what
// kind of policy each becomes in IAM.
var shippedPolicies = map[string]string{
	"deployer-policy.json":                       "managed",
	"cloudformation-role-compute-policy.json":    "managed",
	"cloudformation-role-monitoring-policy.json": "managed",
	"permissions-boundary.json":                  "managed",
	"cloudformation-role-trust.json":             "trust",
}

// TestShippedPoliciesWithinIAMLimits: every policy document in docs/ is
// one the runbook creates, and fits IAM's quota for its kind (6,144
// characters for a managed policy, 2,048 for a trust policy, white space
// not counted); so do the roles of docs/cognito.yaml. The deployer's
// permissions as they once were, in one document, do not: the check says
// so.
func TestShippedPoliciesWithinIAMLimits(t *testing.T) {
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		kind, ok := shippedPolicies[f]
		if !ok {
			t.Errorf("docs/%s: a policy document the runbook does not create", f)
			continue
		}
		check := iampolicy.CheckManaged
		if kind == "trust" {
			check = iampolicy.CheckTrust
		}
		if err := check(policyFile(t, f)); err != nil {
			t.Errorf("docs/%s: %v", f, err)
		}
		if n, _ := iampolicy.Size(policyFile(t, f)); n > 0 {
			t.Logf("docs/%s: %d characters (%s)", f, n, kind)
		}
	}
	var cognito yaml.Node
	if err := yaml.Unmarshal(repoFile(t, "docs/cognito.yaml"), &cognito); err != nil {
		t.Fatal(err)
	}
	var trust any
	if err := samtemplate.Get(cognito.Content[0], "Resources", "PreTokenGenerationRole", "Properties", "AssumeRolePolicyDocument").Decode(&trust); err != nil {
		t.Fatal(err)
	}
	if err := iampolicy.CheckTrust(trust); err != nil {
		t.Errorf("docs/cognito.yaml PreTokenGenerationRole: %v", err)
	}
	merged := map[string]any{"Version": iampolicy.Version, "Statement": []any{}}
	for _, f := range []string{"cloudformation-role-compute-policy.json", "cloudformation-role-monitoring-policy.json"} {
		doc, _ := policyFile(t, f).(map[string]any)
		merged["Statement"] = append(merged["Statement"].([]any), doc["Statement"].([]any)...)
	}
	if err := iampolicy.CheckManaged(merged); err == nil || !strings.Contains(err.Error(), "6144") {
		t.Errorf("the stack's permissions in one managed policy: %v, want over 6,144", err)
	}
}

// TestUserPoolIsProtectedAndMailsThroughSES: the user pool (every staff
// account) survives a stack delete, a replacement and a console delete,
// and a failed first create leaves nothing; its e-mails go through the
// account's SES identity (Cognito's own sender allows 50 a day); the
// runbook's deploy of docs/cognito.yaml sets every parameter it needs.
func TestUserPoolIsProtectedAndMailsThroughSES(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(repoFile(t, "docs/cognito.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	pool := samtemplate.Get(root, "Resources", "UserPool")
	for keys, want := range map[string]string{
		"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain",
		"Properties.DeletionProtection": "ACTIVE", "Properties.EmailConfiguration.EmailSendingAccount": "DEVELOPER",
	} {
		if v := samtemplate.Get(pool, strings.Split(keys, ".")...); v == nil || v.Value != want {
			t.Errorf("UserPool %s: %v, want %s", keys, v, want)
		}
	}
	if v := samtemplate.Get(pool, "Properties", "EmailConfiguration", "SourceArn"); v == nil || !strings.Contains(v.Value, "identity/${SesIdentity}") {
		t.Errorf("UserPool: EmailConfiguration.SourceArn must be the SES identity: %v", v)
	}
	cmd := runbook(t)
	start := strings.Index(cmd, "--template-file docs/cognito.yaml")
	if start < 0 {
		t.Fatal("deploy.md does not deploy docs/cognito.yaml")
	}
	cmd = cmd[start:]
	cmd = cmd[:strings.Index(cmd, "\n```")]
	params := samtemplate.Get(root, "Parameters")
	for _, name := range samtemplate.Keys(params) {
		if samtemplate.Get(params, name, "Default") == nil && !strings.Contains(cmd, " "+name+"=") {
			t.Errorf("deploy.md deploys docs/cognito.yaml without %s", name)
		}
	}
}

// TestRestoreTemplateIsTheStacksTable: the table docs/restore-table.yaml
// imports is the table template.yaml deploys, as AWS's translator builds
// it, property for property, in each stage, once TableName names the
// restored table: the deploy that follows the import then replaces
// nothing (a changed key schema or name would make a new, empty table).
func TestRestoreTemplateIsTheStacksTable(t *testing.T) {
	restore, err := samtemplate.Parse(repoFile(t, "docs/restore-table.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	imported, ok := restore.Resource("Table")
	if !ok {
		t.Fatal("docs/restore-table.yaml has no Table")
	}
	for _, stage := range []string{"dev", "prod"} {
		params, err := cfntemplate.Parameters(stage)
		if err != nil {
			t.Fatal(err)
		}
		params["TableName"] = "clinicpay-" + stage + "-restored"
		tr, err := cfntemplate.Translate(context.Background(), repoFile(t, "template.yaml"), params)
		if err != nil {
			t.Fatal(err)
		}
		deployed, ok := tr.Resource("Table")
		if !ok {
			t.Fatal("the translated template has no Table")
		}
		st := samtemplate.Stack{Params: params}
		want, err := tr.Resolve(deployed.Node, st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := restore.Resolve(imported.Node, st)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: docs/restore-table.yaml's Table\n%v\ntemplate.yaml's\n%v", stage, got, want)
		}
	}
}

// TestRunbookCreatesWhatTheStackNames: the runbook creates every policy
// document of docs/ (file://docs/…), the boundary under the name the
// template's roles carry, and the service role samconfig.toml's role_arn
// names, with its trust policy.
func TestRunbookCreatesWhatTheStackNames(t *testing.T) {
	doc := runbook(t)
	for f := range shippedPolicies {
		if !strings.Contains(doc, "file://docs/"+f) {
			t.Errorf("deploy.md never creates docs/%s", f)
		}
	}
	tpl := string(repoFile(t, "template.yaml"))
	boundary := regexp.MustCompile(`:policy/([\w+=,.@-]+)\n`).FindStringSubmatch(tpl)
	if boundary == nil || !strings.Contains(doc, "--policy-name "+boundary[1]+" --policy-document file://docs/permissions-boundary.json") {
		t.Errorf("deploy.md does not create the boundary the template names (%v)", boundary)
	}
	cfg := string(repoFile(t, "samconfig.toml"))
	roles := regexp.MustCompile(`role_arn = "arn:aws:iam::\d{12}:role(/[\w/]*/)?([\w+=,.@-]+)"`).FindAllStringSubmatch(cfg, -1)
	if len(roles) != 2 {
		t.Fatalf("samconfig.toml: %d role_arn, want one per environment", len(roles))
	}
	for _, r := range roles {
		if !strings.Contains(doc, "--role-name "+r[2]+" --path "+r[1]) || !strings.Contains(doc, "file://docs/cloudformation-role-trust.json") {
			t.Errorf("deploy.md does not create the service role %s%s", r[1], r[2])
		}
	}
}
