package iamcheck_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/infra/test/iamcheck"
)

// A template with the policy grammar of template.yaml: the e-mail
// function's statements, and a reader with one action too many.
const template = `
Parameters:
  StripeSecretArn: {Type: String}
  SenderEmail: {Type: String}
  SesIdentity: {Type: String}
  SesConfigurationSet: {Type: String, Default: ""}
Conditions:
  HasSesConfigurationSet: !Not [!Equals [!Ref SesConfigurationSet, ""]]
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  MailFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Sid: InvoiceTable
              Effect: Allow
              Action: [dynamodb:BatchGetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:ConditionCheckItem]
              Resource: !GetAtt Table.Arn
            - Sid: StripeSecret
              Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref StripeSecretArn
            - Sid: SendInvoiceEmail
              Effect: Allow
              Action: ses:SendRawEmail
              Resource:
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}
                - !If
                  - HasSesConfigurationSet
                  - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SesConfigurationSet}
                  - !Ref AWS::NoValue
              Condition:
                StringEquals:
                  ses:FromAddress: !Ref SenderEmail
  ReadFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:Query, dynamodb:DeleteItem]
              Resource: !GetAtt Table.Arn
`

const (
	secretARN = "arn:aws:secretsmanager:ca-central-1:123456789012:secret:clinicpay/test/stripe-AbCdEf"
	tableName = "clinicpay-test"
	tableARN  = "arn:aws:dynamodb:ca-central-1:123456789012:table/" + tableName
)

func stack(configurationSet string) samtemplate.Stack {
	return samtemplate.Stack{
		Params: map[string]string{"StripeSecretArn": secretARN, "SenderEmail": "factures@clinicpay.test",
			"SesIdentity": "clinicpay.test", "SesConfigurationSet": configurationSet},
		Region: "ca-central-1", AccountID: "123456789012", Partition: "aws", StackName: "clinicpay-test",
		Refs: map[string]string{"Table": tableName}, Attrs: map[string]string{"Table.Arn": tableARN},
	}
}

var account = iamcheck.Account{ID: "123456789012", Partition: "aws", SESIdentities: []string{"clinicpay.test"}}

// record makes real SDK calls for two functions, each through its own
// Endpoint, into one recording proxy, and returns what it recorded.
func record(t *testing.T, configurationSet string) *faultproxy.Proxy {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<SendRawEmailResponse><SendRawEmailResult><MessageId>m1</MessageId></SendRawEmailResult></SendRawEmailResponse>`))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"SecretString":"{}"}`))
	}))
	t.Cleanup(upstream.Close)
	proxy := faultproxy.New(upstream.URL)
	t.Cleanup(proxy.Close)
	up := iamcheck.Upstreams{DynamoDB: proxy.URL, SES: proxy.URL, SecretsManager: proxy.URL}
	cfg := aws.Config{Region: "ca-central-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	ctx := context.Background()
	s := func(v string) *string { return &v }

	mail := iamcheck.Endpoint("MailFunction", up)
	t.Cleanup(mail.Close)
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = &mail.URL })
	key := map[string]ddb.AttributeValue{"pk": &ddb.AttributeValueMemberS{Value: "CO#1"}, "sk": &ddb.AttributeValueMemberS{Value: "INV#1"}}
	calls := []func() error{
		func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: s(tableName), Key: key, UpdateExpression: s("SET a = :a"),
				ExpressionAttributeValues: map[string]ddb.AttributeValue{":a": &ddb.AttributeValueMemberN{Value: "1"}}})
			return err
		},
		func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{tableName: {Keys: []map[string]ddb.AttributeValue{key}}}})
			return err
		},
		func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
				{Put: &ddb.Put{TableName: s(tableName), Item: key}},
				{ConditionCheck: &ddb.ConditionCheck{TableName: s(tableName), Key: key, ConditionExpression: s("attribute_exists(pk)")}},
			}})
			return err
		},
		func() error {
			sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = &mail.URL })
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: s(secretARN)})
			return err
		},
		func() error {
			in := &ses.SendRawEmailInput{Source: s("factures@clinicpay.test"), Destinations: []string{"p@example.com"},
				RawMessage: &sestypes.RawMessage{Data: []byte("From: Clinique <factures@clinicpay.test>\r\nTo: p@example.com\r\nSubject: x\r\n\r\nhi\r\n")}}
			if configurationSet != "" {
				in.ConfigurationSetName = &configurationSet
			}
			_, err := ses.NewFromConfig(cfg, func(o *ses.Options) { o.BaseEndpoint = &mail.URL }).SendRawEmail(ctx, in)
			return err
		},
	}
	read := iamcheck.Endpoint("ReadFunction", up)
	t.Cleanup(read.Close)
	readDB := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = &read.URL })
	calls = append(calls, func() error {
		_, err := readDB.Query(ctx, &dynamodb.QueryInput{TableName: s(tableName), KeyConditionExpression: s("pk = :pk"),
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":pk": &ddb.AttributeValueMemberS{Value: "CO#1"}}})
		return err
	})
	for i, c := range calls {
		if err := c(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// A call of the test's own (no function): not checked.
	own := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = &proxy.URL })
	if _, err := own.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s(tableName), Key: key}); err != nil {
		t.Fatal(err)
	}
	return proxy
}

func TestParseReadsCallsAsIAMAuthorizesThem(t *testing.T) {
	proxy := record(t, "clinicpay-test")
	calls, errs := iamcheck.Calls(account, proxy)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, c := range calls {
		for _, r := range c.Requests {
			got = append(got, c.Function+" "+c.API+": "+r.String())
		}
	}
	want := []string{
		"MailFunction dynamodb.UpdateItem: dynamodb:UpdateItem on " + tableARN,
		"MailFunction dynamodb.BatchGetItem: dynamodb:BatchGetItem on " + tableARN,
		"MailFunction dynamodb.TransactWriteItems: dynamodb:PutItem on " + tableARN,
		"MailFunction dynamodb.TransactWriteItems: dynamodb:ConditionCheckItem on " + tableARN,
		"MailFunction secretsmanager.GetSecretValue: secretsmanager:GetSecretValue on " + secretARN,
		"MailFunction ses.SendRawEmail: ses:SendRawEmail on arn:aws:ses:ca-central-1:123456789012:identity/clinicpay.test (ses:FromAddress=factures@clinicpay.test)",
		"MailFunction ses.SendRawEmail: ses:SendRawEmail on arn:aws:ses:ca-central-1:123456789012:configuration-set/clinicpay-test (ses:FromAddress=factures@clinicpay.test)",
		"ReadFunction dynamodb.Query: dynamodb:Query on " + tableARN,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls read:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestChecks: with and without a configuration set (the template's !If),
// every call is allowed; each action but the reader's spare DeleteItem is
// shown necessary by a call that its removal denies; a policy without
// UpdateItem fails naming the function, the action and the table.
func TestChecks(t *testing.T) {
	for _, set := range []string{"", "clinicpay-test"} {
		t.Run("configuration set "+set, func(t *testing.T) {
			tpl, err := samtemplate.Parse([]byte(template))
			if err != nil {
				t.Fatal(err)
			}
			policies, err := iamcheck.Policies(tpl, stack(set))
			if err != nil {
				t.Fatal(err)
			}
			calls, errs := iamcheck.Calls(account, record(t, set))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if denied := iamcheck.Denied(policies, calls); len(denied) > 0 {
				t.Fatalf("denied: %v", denied)
			}
			shown, unused := iamcheck.Necessity(policies, calls)
			wantShown := map[string]string{
				"MailFunction without dynamodb:UpdateItem":           "dynamodb:UpdateItem on " + tableARN + " is not allowed",
				"MailFunction without dynamodb:BatchGetItem":         "dynamodb:BatchGetItem on",
				"MailFunction without dynamodb:PutItem":              "(call dynamodb.TransactWriteItems)",
				"MailFunction without dynamodb:ConditionCheckItem":   "dynamodb:ConditionCheckItem on",
				"MailFunction without secretsmanager:GetSecretValue": "secretsmanager:GetSecretValue on " + secretARN,
				"MailFunction without ses:SendRawEmail":              "ses:SendRawEmail on arn:aws:ses:ca-central-1:123456789012:identity/clinicpay.test",
				"ReadFunction without dynamodb:Query":                "dynamodb:Query on",
			}
			if len(shown) != len(wantShown) {
				t.Errorf("shown: %v", shown)
			}
			for _, f := range shown {
				prefix := f.Function + " without " + f.Action
				if want, ok := wantShown[prefix]; !ok || !strings.HasPrefix(f.Message, prefix+": ") || !strings.Contains(f.Message, want) {
					t.Errorf("%q, want it to hold %q", f.Message, want)
				}
			}
			if len(unused) != 1 || unused[0].Function != "ReadFunction" || unused[0].Action != "dynamodb:DeleteItem" {
				t.Errorf("unused: %v", unused)
			}

			// The ReleaseLease case: UpdateItem missing from the policy.
			tpl2, err := samtemplate.Parse([]byte(strings.Replace(template, " dynamodb:UpdateItem,", "", 1)))
			if err != nil {
				t.Fatal(err)
			}
			policies2, err := iamcheck.Policies(tpl2, stack(set))
			if err != nil {
				t.Fatal(err)
			}
			denied := iamcheck.Denied(policies2, calls)
			want := "MailFunction: dynamodb:UpdateItem on " + tableARN + " is not allowed (no statement allows it) by its policy in template.yaml (call dynamodb.UpdateItem)"
			if len(denied) != 1 || denied[0].Message != want {
				t.Fatalf("denied %v\nwant %s", denied, want)
			}
		})
	}
}

// TestSenderCondition: a send from another address than the template's
// SenderEmail is denied even on the right identity.
func TestSenderCondition(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(strings.Replace(template, "ses:FromAddress: !Ref SenderEmail", "ses:FromAddress: other@clinicpay.test", 1)))
	if err != nil {
		t.Fatal(err)
	}
	policies, err := iamcheck.Policies(tpl, stack(""))
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := iamcheck.Calls(account, record(t, ""))
	denied := iamcheck.Denied(policies, calls)
	if len(denied) != 1 || denied[0].Action != "ses:SendRawEmail" || !strings.Contains(denied[0].Message, "ses:FromAddress=factures@clinicpay.test") {
		t.Fatalf("denied: %v", denied)
	}
}

// samTemplate is the test template as a whole SAM template, with an
// asynchronous destination on the mail function.
func samTemplate() string {
	t := strings.Replace(template, "\nParameters:", "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: .}\nParameters:", 1)
	t = strings.Replace(t, "  Table: {Type: AWS::DynamoDB::Table}", "  Table: {Type: AWS::DynamoDB::Table}\n  Failed: {Type: AWS::SQS::Queue}", 1)
	return strings.Replace(t, "    Properties:\n      Policies:", "    Properties:\n      EventInvokeConfig:\n        DestinationConfig:\n          OnFailure: {Type: SQS, Destination: !GetAtt Failed.Arn}\n      Policies:", 1)
}

// TestTranslatedPolicies: the roles AWS's translator builds hold the same
// statements as the SAM source (every call allowed, each action shown
// needed, the reader's spare DeleteItem found), the destination policy
// SAM adds for the Lambda service left out.
func TestTranslatedPolicies(t *testing.T) {
	params := map[string]string{"StripeSecretArn": secretARN, "SenderEmail": "factures@clinicpay.test", "SesIdentity": "clinicpay.test"}
	tr, err := cfntemplate.Translate(context.Background(), []byte(samTemplate()), params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tr.JSON), "EventInvokeConfigOnFailureSQSPolicy") {
		t.Fatal("the translation has no destination policy: the test no longer shows it left out")
	}
	st := stack("clinicpay-test")
	st.Attrs["Failed.Arn"] = "arn:aws:sqs:ca-central-1:123456789012:failed"
	policies, err := iamcheck.TranslatedPolicies(tr.Template, st)
	if err != nil {
		t.Fatal(err)
	}
	calls, errs := iamcheck.Calls(account, record(t, "clinicpay-test"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if denied := iamcheck.Denied(policies, calls); len(denied) > 0 {
		t.Fatalf("denied: %v", denied)
	}
	shown, unused := iamcheck.Necessity(policies, calls)
	if len(shown) != 7 || len(unused) != 1 || unused[0].Action != "dynamodb:DeleteItem" {
		t.Fatalf("shown %v, unused %v", shown, unused)
	}
}
