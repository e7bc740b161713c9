package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/test/iamcheck"
	"github.com/clinicpay/payments/internal/deployhook"
	"github.com/clinicpay/payments/internal/wiring"
)

// The local stack as template.yaml's intrinsic functions see it: the
// parameter values and resources the policies and environments resolve to.
const (
	iamAccountID = "000000000000" // the account of localservers.LocalStripeSecretARN
	iamTable     = "clinicpay-e2e"
)

var iamStack = samtemplate.Stack{
	Params: map[string]string{
		"StripeSecretArn":            localservers.LocalStripeSecretARN,
		"SenderEmail":                "factures@clinicpay.test",
		"SesIdentity":                "clinicpay.test",
		"JwtIssuer":                  localapi.Issuer,
		"JwtAudience":                localapi.Audience,
		"CorsAllowedOrigins":         "http://localhost:3000",
		"StripeOnboardingRefreshUrl": "http://localhost:3000/onboarding/refresh",
		"StripeOnboardingReturnUrl":  "http://localhost:3000/onboarding/done",
		"AlarmEmail":                 "oncall@clinicpay.test",
	},
	Region: "ca-central-1", AccountID: iamAccountID, Partition: "aws", StackName: "clinicpay-e2e", URLSuffix: "amazonaws.com",
	Refs:  map[string]string{"Table": iamTable, "EmailConfigurationSet": "clinicpay-e2e", "ServerlessDeploymentApplication": "clinicpay-e2e-deployments"},
	Attrs: map[string]string{"Table.Arn": "arn:aws:dynamodb:ca-central-1:" + iamAccountID + ":table/" + iamTable},
}

var iamAccount = iamcheck.Account{ID: iamAccountID, Partition: "aws", SESIdentities: []string{iamStack.Params["SesIdentity"]}}

// checkIAM holds every AWS call the suite made on a function's behalf (in
// process and under aws-lambda-rie) against that function's role as AWS's
// translator builds it from template.yaml: each must be allowed. After a full run (no -run filter)
// each action of each policy must also be needed by some call: taking it
// out must make the check fail, naming it, so that the policies are exactly
// what the code uses. It prints what it found and reports success.
func checkIAM(full bool) bool {
	fail := func(format string, args ...any) bool {
		fmt.Fprintf(os.Stderr, "iam: "+format+"\n", args...)
		return false
	}
	// The roles as AWS's SAM translator builds them from template.yaml,
	// not as the project's own reader reads the source.
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return fail("%v", err)
	}
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		return fail("%v", err)
	}
	tr, err := cfntemplate.Translate(context.Background(), src, iamStack.Params)
	if err != nil {
		return fail("%v", err)
	}
	policies, err := iamcheck.TranslatedPolicies(tr.Template, iamStack)
	if err != nil {
		return fail("%v", err)
	}
	// The hook calls CodeDeploy and Lambda, which the recording proxies
	// don't stand in for: internal/deployhook's tests and the probe test
	// hold what it does; infra/aws/cfntemplate, what its role allows.
	delete(policies, deployhook.Function)
	calls, errs := iamcheck.Calls(iamAccount, env.dynamo, env.ses, env.secrets, env.sqs)
	ok := true
	for _, err := range errs {
		ok = fail("%v", err)
	}
	functions := map[string]int{}
	for _, c := range calls {
		if c.Function == localapi.Unattributed {
			ok = fail("%s was made with no function in its context (localapi.WithFunction): it is checked against no policy", c.API)
		}
		functions[c.Function]++
	}
	for _, f := range iamcheck.Denied(policies, calls) {
		ok = fail("%s", f)
	}
	fmt.Printf("iam: %d AWS calls of %d functions held against their roles as aws-sam-translator builds them\n", len(calls), len(functions))
	if !full {
		return ok
	}
	shown, unused := iamcheck.Necessity(policies, calls)
	for _, f := range unused {
		ok = fail("%s", f)
	}
	lines := make([]string, len(shown))
	for i, f := range shown {
		lines[i] = "  " + f.Message
	}
	sort.Strings(lines)
	fmt.Printf("iam: taking any of these %d actions out of its policy denies a call the tests make:\n%s\n", len(shown), strings.Join(lines, "\n"))
	return ok
}

// lambdaEnv is the environment of a function run under aws-lambda-rie: what
// template.yaml sets for it (resolved for the local stack), AWS's endpoints
// pointed at the function's own recording endpoint, and the local
// stand-ins' settings; none of the other functions' settings, and no
// Stripe secrets: it reads them from Secrets Manager, as in AWS.
func lambdaEnv(function, endpoint string) ([]string, error) {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		return nil, err
	}
	deployed := map[string]bool{}
	var own map[string]any
	for _, fn := range tpl.Resources("AWS::Serverless::Function") {
		vars := samtemplate.Get(fn.Properties, "Environment", "Variables")
		for _, k := range samtemplate.Keys(vars) {
			deployed[k] = true
		}
		if fn.Name == function && vars != nil {
			v, err := tpl.Resolve(vars, iamStack)
			if err != nil {
				return nil, fmt.Errorf("%s: Environment: %w", function, err)
			}
			own, _ = v.(map[string]any)
		}
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if deployed[k] || strings.HasPrefix(k, "AWS_ENDPOINT_URL_") || k == wiring.EnvStripeAPIKey || k == wiring.EnvStripeWebhookSecret {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range own {
		out = append(out, k+"="+fmt.Sprint(v))
	}
	return append(out,
		"AWS_ENDPOINT_URL_DYNAMODB="+endpoint,
		"AWS_ENDPOINT_URL_SES="+endpoint,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+endpoint,
		"AWS_ENDPOINT_URL_SQS="+endpoint,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=25",
	), nil
}
