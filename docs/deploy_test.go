package docs_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/iampolicy"
	"github.com/clinicpay/payments/infra/samtemplate"
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

// TestDeployerPolicyAllowsDeployingTheStack: the deployer's policy, read by
// the tests' IAM evaluator, allows what deploying clinicpay-prod does to
// resources named as CloudFormation names them, and not to other stacks.
func TestDeployerPolicyAllowsDeployingTheStack(t *testing.T) {
	var doc any
	if err := json.Unmarshal(repoFile(t, "docs/deployer-policy.json"), &doc); err != nil {
		t.Fatal(err)
	}
	p, err := iampolicy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	const acct, region = "123456789012", "ca-central-1"
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":" + region + ":" + acct + ":" + resource
	}
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	var logGroups []string
	for _, g := range tpl.Resources("AWS::Logs::LogGroup") {
		name := strings.ReplaceAll(samtemplate.Get(g.Properties, "LogGroupName").Value, "${AWS::StackName}", "clinicpay-prod")
		logGroups = append(logGroups, arn("logs", "log-group:"+name))
	}
	allowed := []iampolicy.Request{
		{Action: "cloudformation:CreateChangeSet", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "cloudformation:CreateChangeSet", Resource: "arn:aws:cloudformation:" + region + ":aws:transform/Serverless-2016-10-31"},
		{Action: "cloudformation:ExecuteChangeSet", Resource: arn("cloudformation", "stack/clinicpay-prod/0a1b2c")},
		{Action: "s3:PutObject", Resource: "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-abc123/clinicpay-prod/f00"},
		{Action: "iam:CreateRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC"},
		{Action: "iam:PassRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC", Context: map[string]string{"iam:PassedToService": "lambda.amazonaws.com"}},
		{Action: "iam:PassRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-CodeDeployServiceRole-AbC", Context: map[string]string{"iam:PassedToService": "codedeploy.amazonaws.com"}},
		{Action: "lambda:CreateFunction", Resource: arn("lambda", "function:clinicpay-prod-PutInvoiceFunction-AbC")},
		{Action: "lambda:PublishVersion", Resource: arn("lambda", "function:clinicpay-prod-PutInvoiceFunction-AbC")},
		{Action: "lambda:CreateAlias", Resource: arn("lambda", "function:clinicpay-prod-PutInvoiceFunction-AbC:live")},
		{Action: "lambda:AddPermission", Resource: arn("lambda", "function:clinicpay-prod-PutInvoiceFunction-AbC:live")},
		{Action: "apigateway:POST", Resource: "arn:aws:apigateway:" + region + "::/apis"},
		{Action: "apigateway:PATCH", Resource: "arn:aws:apigateway:" + region + "::/apis/a1b2c3/routes/r1"},
		{Action: "dynamodb:CreateTable", Resource: arn("dynamodb", "table/clinicpay-prod-Table-AbC")},
		{Action: "dynamodb:UpdateContinuousBackups", Resource: arn("dynamodb", "table/clinicpay-prod-Table-AbC")},
		{Action: "logs:CreateLogDelivery", Resource: "*"},
		{Action: "cloudwatch:PutMetricAlarm", Resource: arn("cloudwatch", "alarm:clinicpay-prod-PutInvoiceServerErrorsAlarm-AbC")},
		{Action: "sns:CreateTopic", Resource: arn("sns", "clinicpay-prod-AlarmTopic-AbC")},
		{Action: "sns:Subscribe", Resource: arn("sns", "clinicpay-prod-AlarmTopic-AbC")},
		{Action: "kms:CreateKey", Resource: "*"},
		{Action: "kms:CreateAlias", Resource: arn("kms", "alias/clinicpay-prod-alarms")},
		{Action: "codedeploy:CreateDeploymentGroup", Resource: arn("codedeploy", "deploymentgroup:clinicpay-prod-ServerlessDeploymentApplication-AbC/clinicpay-prod-PutInvoiceFunctionDeploymentGroup-XyZ")},
		{Action: "codedeploy:CreateDeployment", Resource: arn("codedeploy", "deploymentgroup:clinicpay-prod-ServerlessDeploymentApplication-AbC/clinicpay-prod-PutInvoiceFunctionDeploymentGroup-XyZ")},
		{Action: "codedeploy:GetDeploymentConfig", Resource: arn("codedeploy", "deploymentconfig:CodeDeployDefault.LambdaCanary10Percent5Minutes")},
		// The stack's SES configuration set and its EventBridge destination;
		// the hourly schedule's and SES events' rules; the events function's
		// retry settings.
		{Action: "ses:CreateConfigurationSet", Resource: arn("ses", "configuration-set/clinicpay-prod")},
		{Action: "ses:CreateConfigurationSetEventDestination", Resource: arn("ses", "configuration-set/clinicpay-prod")},
		{Action: "events:PutRule", Resource: arn("events", "rule/clinicpay-prod-SendRemindersFunctionHourly-AbC")},
		{Action: "events:PutTargets", Resource: arn("events", "rule/clinicpay-prod-EmailEventsFunctionSesEvents-AbC")},
		{Action: "lambda:PutFunctionEventInvokeConfig", Resource: arn("lambda", "function:clinicpay-prod-EmailEventsFunction-AbC")},
	}
	for _, g := range logGroups {
		allowed = append(allowed, iampolicy.Request{Action: "logs:CreateLogGroup", Resource: g}, iampolicy.Request{Action: "logs:PutRetentionPolicy", Resource: g})
	}
	for _, r := range allowed {
		if d := p.Evaluate(r); d != iampolicy.Allowed {
			t.Errorf("deployer-policy.json: %s is %v", r, d)
		}
	}
	denied := []iampolicy.Request{
		{Action: "lambda:UpdateFunctionCode", Resource: arn("lambda", "function:payroll-prod-Run")},
		{Action: "iam:PassRole", Resource: "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC", Context: map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}},
		{Action: "iam:CreateRole", Resource: "arn:aws:iam::" + acct + ":role/admin"},
		{Action: "dynamodb:DeleteTable", Resource: arn("dynamodb", "table/payroll")},
		{Action: "secretsmanager:GetSecretValue", Resource: arn("secretsmanager", "secret:clinicpay/prod/stripe-AbCdEf")},
		{Action: "ses:DeleteConfigurationSet", Resource: arn("ses", "configuration-set/marketing")},
		{Action: "events:PutTargets", Resource: arn("events", "rule/payroll-nightly")},
	}
	for _, r := range denied {
		if d := p.Evaluate(r); d == iampolicy.Allowed {
			t.Errorf("deployer-policy.json allows %s", r)
		}
	}
}
