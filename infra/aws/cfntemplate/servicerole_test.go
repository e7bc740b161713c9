package cfntemplate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/clinicpay/payments/infra/aws/iampolicy"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

const (
	acct   = "123456789012"
	region = "ca-central-1"
)

// shippedPolicy parses policy documents of docs/ into one policy (a role
// with several managed policies).
func shippedPolicy(t *testing.T, files ...string) *iampolicy.Policy {
	t.Helper()
	root, _ := samtemplate.RepoRoot()
	var docs []any
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, "docs", f))
		if err != nil {
			t.Fatal(err)
		}
		var d any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		docs = append(docs, d)
	}
	p, err := iampolicy.Parse(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func arn(service, resource string) string {
	return "arn:aws:" + service + ":" + region + ":" + acct + ":" + resource
}

// lifecycle is, per resource type, what CloudFormation calls to create
// and to delete one, on the resource as CloudFormation names it (the
// stack's name, the logical id, a suffix). A type missing here fails the
// test: the service role's policy must be looked at for it.
var lifecycle = map[string]struct {
	create, delete []string
	resource       func(id string) string
}{
	"AWS::Lambda::Function":           {[]string{"lambda:CreateFunction"}, []string{"lambda:DeleteFunction"}, func(id string) string { return arn("lambda", "function:clinicpay-prod-"+id+"-AbC") }},
	"AWS::Lambda::Version":            {[]string{"lambda:PublishVersion"}, nil, func(id string) string { return arn("lambda", "function:clinicpay-prod-"+id+"-AbC") }},
	"AWS::Lambda::Alias":              {[]string{"lambda:CreateAlias"}, []string{"lambda:DeleteAlias"}, func(id string) string { return arn("lambda", "function:clinicpay-prod-"+id+"-AbC:live") }},
	"AWS::Lambda::Permission":         {[]string{"lambda:AddPermission"}, []string{"lambda:RemovePermission"}, func(id string) string { return arn("lambda", "function:clinicpay-prod-"+id+"-AbC:live") }},
	"AWS::Lambda::EventInvokeConfig":  {[]string{"lambda:PutFunctionEventInvokeConfig"}, []string{"lambda:DeleteFunctionEventInvokeConfig"}, func(id string) string { return arn("lambda", "function:clinicpay-prod-"+id+"-AbC") }},
	"AWS::Lambda::EventSourceMapping": {[]string{"lambda:CreateEventSourceMapping"}, []string{"lambda:DeleteEventSourceMapping"}, func(string) string { return arn("lambda", "event-source-mapping:0a1b2c3d") }},
	"AWS::IAM::Role":                  {[]string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"}, []string{"iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole"}, func(id string) string { return "arn:aws:iam::" + acct + ":role/clinicpay-prod-" + id + "-AbC" }},
	"AWS::ApiGatewayV2::Api":          {[]string{"apigateway:POST"}, []string{"apigateway:DELETE"}, func(string) string { return "arn:aws:apigateway:" + region + "::/apis/a1b2c3" }},
	"AWS::ApiGatewayV2::Stage":        {[]string{"apigateway:POST"}, []string{"apigateway:DELETE"}, func(string) string { return "arn:aws:apigateway:" + region + "::/apis/a1b2c3/stages/$default" }},
	"AWS::ApiGatewayV2::DomainName":   {[]string{"apigateway:POST"}, []string{"apigateway:DELETE"}, func(string) string { return "arn:aws:apigateway:" + region + "::/domainnames/pay-api.example" }},
	"AWS::ApiGatewayV2::ApiMapping": {[]string{"apigateway:POST"}, []string{"apigateway:DELETE"}, func(string) string {
		return "arn:aws:apigateway:" + region + "::/domainnames/pay-api.example/apimappings/m1"
	}},
	"AWS::DynamoDB::Table":                       {[]string{"dynamodb:CreateTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive"}, nil, func(id string) string { return arn("dynamodb", "table/clinicpay-prod-"+id+"-AbC") }},
	"AWS::Logs::LogGroup":                        {[]string{"logs:CreateLogGroup", "logs:PutRetentionPolicy"}, nil, func(id string) string { return arn("logs", "log-group:/clinicpay/clinicpay-prod/"+id) }},
	"AWS::CloudWatch::Alarm":                     {[]string{"cloudwatch:PutMetricAlarm"}, []string{"cloudwatch:DeleteAlarms"}, func(id string) string { return arn("cloudwatch", "alarm:clinicpay-prod-"+id+"-AbC") }},
	"AWS::SNS::Topic":                            {[]string{"sns:CreateTopic", "sns:Subscribe"}, []string{"sns:DeleteTopic"}, func(id string) string { return arn("sns", "clinicpay-prod-"+id+"-AbC") }},
	"AWS::KMS::Key":                              {[]string{"kms:CreateKey", "kms:EnableKeyRotation"}, []string{"kms:ScheduleKeyDeletion"}, func(string) string { return "*" }},
	"AWS::KMS::Alias":                            {[]string{"kms:CreateAlias"}, []string{"kms:DeleteAlias"}, func(string) string { return arn("kms", "alias/clinicpay-prod-alarms") }},
	"AWS::SES::ConfigurationSet":                 {[]string{"ses:CreateConfigurationSet"}, []string{"ses:DeleteConfigurationSet"}, func(string) string { return arn("ses", "configuration-set/clinicpay-prod") }},
	"AWS::SES::ConfigurationSetEventDestination": {[]string{"ses:CreateConfigurationSetEventDestination"}, []string{"ses:DeleteConfigurationSetEventDestination"}, func(string) string { return arn("ses", "configuration-set/clinicpay-prod") }},
	"AWS::Events::Rule":                          {[]string{"events:PutRule", "events:PutTargets"}, []string{"events:RemoveTargets", "events:DeleteRule"}, func(id string) string { return arn("events", "rule/clinicpay-prod-"+id+"-AbC") }},
	"AWS::CodeDeploy::Application":               {[]string{"codedeploy:CreateApplication"}, []string{"codedeploy:DeleteApplication"}, func(id string) string { return arn("codedeploy", "application:clinicpay-prod-"+id+"-AbC") }},
	"AWS::CodeDeploy::DeploymentGroup": {[]string{"codedeploy:CreateDeploymentGroup"}, []string{"codedeploy:DeleteDeploymentGroup"}, func(id string) string {
		return arn("codedeploy", "deploymentgroup:clinicpay-prod-App-AbC/clinicpay-prod-"+id+"-XyZ")
	}},
	"AWS::SQS::Queue":         {[]string{"sqs:CreateQueue", "sqs:SetQueueAttributes"}, []string{"sqs:DeleteQueue"}, func(id string) string { return arn("sqs", "clinicpay-prod-"+id+"-AbC") }},
	"AWS::SQS::QueuePolicy":   {[]string{"sqs:SetQueueAttributes"}, []string{"sqs:SetQueueAttributes"}, func(id string) string { return arn("sqs", "clinicpay-prod-"+id+"-AbC") }},
	"AWS::Route53::RecordSet": {[]string{"route53:ChangeResourceRecordSets"}, []string{"route53:ChangeResourceRecordSets"}, func(string) string { return "*" }},
}

// boundaryContext is what IAM sees when CloudFormation creates or changes
// a role of the stack: the role is under clinicpay-boundary.
var boundaryContext = map[string]string{"aws:PrincipalAccount": acct, "iam:PermissionsBoundary": "arn:aws:iam::" + acct + ":policy/clinicpay-boundary"}

// TestServiceRoleCreatesAndDeletesEveryResource: the CloudFormation
// service role (docs/cloudformation-role-*-policy.json, which the runbook
// attaches and samconfig's role_arn names) may create every resource the
// translated stack holds, and delete it again, which is what sam delete
// asks of it (CloudFormation deletes with the stack's role). A new
// resource type fails here until its entry and the policy are written.
func TestServiceRoleCreatesAndDeletesEveryResource(t *testing.T) {
	t.Parallel()
	p := shippedPolicy(t, "cloudformation-role-compute-policy.json", "cloudformation-role-monitoring-policy.json")
	for _, env := range envs {
		for _, r := range translated(t, env).Resources("") {
			l, ok := lifecycle[r.Type]
			if !ok {
				t.Errorf("%s: %s: no entry in lifecycle: what may the service role do to it?", r.Name, r.Type)
				continue
			}
			for _, action := range append(append([]string{}, l.create...), l.delete...) {
				req := iampolicy.Request{Action: action, Resource: l.resource(r.Name), Context: boundaryContext}
				if d := p.Evaluate(req); d != iampolicy.Allowed {
					t.Errorf("%s (%s): %s is %v for the service role", r.Name, r.Type, req, d)
				}
			}
		}
	}
}

// TestRolesStayUnderTheBoundary: the service role creates no role
// without the boundary, never takes a boundary off, passes roles only to
// Lambda and CodeDeploy; and the boundary allows every statement of
// every role the translated stack creates, so it caps without breaking.
func TestRolesStayUnderTheBoundary(t *testing.T) {
	t.Parallel()
	p := shippedPolicy(t, "cloudformation-role-compute-policy.json", "cloudformation-role-monitoring-policy.json")
	role := "arn:aws:iam::" + acct + ":role/clinicpay-prod-PutInvoiceFunctionRole-AbC"
	for _, req := range []iampolicy.Request{
		{Action: "iam:CreateRole", Resource: role, Context: map[string]string{"aws:PrincipalAccount": acct}},
		{Action: "iam:CreateRole", Resource: role, Context: map[string]string{"aws:PrincipalAccount": acct, "iam:PermissionsBoundary": "arn:aws:iam::" + acct + ":policy/admin"}},
		{Action: "iam:DeleteRolePermissionsBoundary", Resource: role},
		{Action: "iam:PutRolePolicy", Resource: role, Context: map[string]string{"aws:PrincipalAccount": acct}},
		{Action: "iam:PassRole", Resource: role, Context: map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}},
		{Action: "iam:UpdateAssumeRolePolicy", Resource: "arn:aws:iam::" + acct + ":role/deploy/clinicpay-cloudformation"},
		{Action: "iam:CreateRole", Resource: "arn:aws:iam::" + acct + ":role/admin", Context: boundaryContext},
	} {
		if d := p.Evaluate(req); d == iampolicy.Allowed {
			t.Errorf("the service role may %s", req)
		}
	}
	boundary := shippedPolicy(t, "permissions-boundary.json")
	tr := translated(t, "prod")
	st := stackFor(t, tr, "prod")
	st.Refs["Table"] = "clinicpay-prod-Table-AbC"
	st.Attrs["Table.Arn"] = arn("dynamodb", "table/clinicpay-prod-Table-AbC")
	for _, q := range tr.Resources("AWS::SQS::Queue") {
		st.Attrs[q.Name+".Arn"] = arn("sqs", "clinicpay-prod-"+q.Name+"-AbC")
	}
	st.Refs["EmailConfigurationSet"] = "clinicpay-prod"
	st.Params["StripeSecretArn"] = arn("secretsmanager", "secret:clinicpay/prod/stripe-AbCdEf")
	st.Refs["ServerlessDeploymentApplication"] = "clinicpay-prod-ServerlessDeploymentApplication-AbC"
	for _, fn := range tr.Resources("AWS::Lambda::Function") {
		st.Attrs[fn.Name+".Arn"] = arn("lambda", "function:clinicpay-prod-"+fn.Name+"-AbC")
	}
	for _, r := range tr.Resources("AWS::IAM::Role") {
		policies := samtemplate.Get(r.Properties, "Policies")
		if policies == nil {
			continue
		}
		for _, pol := range policies.Content {
			doc, err := tr.Resolve(samtemplate.Get(pol, "PolicyDocument"), st)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range requestsOf(t, doc) {
				if d := boundary.Evaluate(req); d != iampolicy.Allowed {
					t.Errorf("%s: %s is %v by the boundary", r.Name, req, d)
				}
			}
		}
	}
	// An SQS event source mapping polls with the function's role (SAM
	// attaches AWS's AWSLambdaSQSQueueExecutionRole, not checked above):
	// the boundary must let it receive, delete and read the queue.
	for _, m := range tr.Resources("AWS::Lambda::EventSourceMapping") {
		queue, err := tr.Resolve(samtemplate.Get(m.Properties, "EventSourceArn"), st)
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"} {
			req := iampolicy.Request{Action: action, Resource: fmt.Sprint(queue)}
			if d := boundary.Evaluate(req); d != iampolicy.Allowed {
				t.Errorf("%s: %s is %v by the boundary", m.Name, req, d)
			}
		}
	}
}

// requestsOf lists a resolved policy document's Allow statements as the
// requests they allow (each action on each resource).
func requestsOf(t *testing.T, doc any) []iampolicy.Request {
	m, _ := doc.(map[string]any)
	if _, ok := m["Version"]; !ok {
		m["Version"] = iampolicy.Version // SAM's destination policies leave it out
	}
	p, err := iampolicy.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	var out []iampolicy.Request
	for _, st := range p.Statements {
		for _, a := range st.Actions {
			for _, res := range st.Resources {
				out = append(out, iampolicy.Request{Action: a, Resource: res})
			}
		}
	}
	return out
}
