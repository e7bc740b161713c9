// Package iamcheck holds every AWS call the tests make on a function's
// behalf against that function's policy in template.yaml: the local
// servers do not enforce IAM, so the tests do.
//
// The calls are recorded by the recording proxies in front of the local
// servers (infra/test/faultproxy). Each call names its function in
// localapi.FunctionHeader: the local API's AWS clients set it from the
// request's context (in process), and each function run under
// aws-lambda-rie gets its own endpoint (Endpoint) that sets it. A call is
// read as IAM authorizes it (Parse): DynamoDB's action from X-Amz-Target
// and the tables in the JSON body (a batch or a transaction is one request
// per item's action and table); SES v1's Action with the sending identity,
// the configuration set and ses:FromAddress; Secrets Manager's
// GetSecretValue on its SecretId; SQS's action (a batch is authorized as
// its single action: SendMessageBatch as sqs:SendMessage) on the queue its
// QueueUrl names.
package iamcheck

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strings"

	"github.com/clinicpay/payments/infra/aws/iampolicy"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// Account is what a call's ARNs are built with, besides the region its
// signature names.
type Account struct {
	ID        string
	Partition string
	// SESIdentities are the verified SES identities (addresses or
	// domains): a sender's identity is its address if verified, else its
	// domain.
	SESIdentities []string
}

// Call is one AWS API call a function made, as IAM authorizes it.
type Call struct {
	Function string
	// API is the service and operation ("dynamodb.TransactWriteItems").
	API string
	// Requests are what IAM evaluates; all must be allowed.
	Requests []iampolicy.Request
}

// Parse reads a recorded request to DynamoDB, SES or Secrets Manager. ok is
// false for a request no function made (the tests' own calls carry no
// FunctionHeader).
func Parse(r *faultproxy.Request, acct Account) (c Call, ok bool, err error) {
	c.Function = r.Header.Get(localapi.FunctionHeader)
	if c.Function == "" {
		return c, false, nil
	}
	service, region := credentialScope(r.Header.Get("Authorization"))
	if region == "" {
		return c, true, fmt.Errorf("%s: a call without a SigV4 signature", c.Function)
	}
	arn := func(svc, resource string) string {
		return "arn:" + acct.Partition + ":" + svc + ":" + region + ":" + acct.ID + ":" + resource
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case service == "dynamodb" || strings.HasPrefix(target, "DynamoDB_"):
		op := target[strings.LastIndex(target, ".")+1:]
		c.API = "dynamodb." + op
		c.Requests, err = dynamoRequests(op, r.Body, func(table string) string { return arn("dynamodb", "table/"+table) })
	case service == "secretsmanager" || strings.HasPrefix(target, "secretsmanager."):
		op := strings.TrimPrefix(target, "secretsmanager.")
		c.API = "secretsmanager." + op
		var in struct{ SecretId string }
		if err = json.Unmarshal(r.Body, &in); err != nil {
			return c, true, fmt.Errorf("%s: %s body: %w", c.Function, c.API, err)
		}
		id := in.SecretId
		if !strings.HasPrefix(id, "arn:") {
			id = arn("secretsmanager", "secret:"+id)
		}
		c.Requests = []iampolicy.Request{{Action: "secretsmanager:" + op, Resource: id}}
	case service == "sqs" || strings.HasPrefix(target, "AmazonSQS."):
		op := strings.TrimPrefix(target, "AmazonSQS.")
		c.API = "sqs." + op
		c.Requests, err = sqsRequests(op, r.Body, func(queue string) string { return arn("sqs", queue) })
	case service == "ses" || service == "email":
		form := r.Form
		if form == nil {
			form, err = url.ParseQuery(string(r.Body))
			if err != nil {
				return c, true, fmt.Errorf("%s: SES body: %w", c.Function, err)
			}
		}
		c.API = "ses." + form.Get("Action")
		c.Requests, err = sesRequests(form, acct, func(resource string) string { return arn("ses", resource) })
	default:
		return c, true, fmt.Errorf("%s: a call to %q, which this check does not read", c.Function, service)
	}
	if err != nil {
		return c, true, fmt.Errorf("%s: %s: %w", c.Function, c.API, err)
	}
	return c, true, nil
}

// credentialScope reads service and region from a SigV4 Authorization
// header (Credential=AKID/date/region/service/aws4_request).
func credentialScope(auth string) (service, region string) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", ""
	}
	return parts[3], parts[2]
}

// sqsRequests: SQS authorizes a call on the queue, a batch as the action
// of one entry.
func sqsRequests(op string, body []byte, queueARN func(string) string) ([]iampolicy.Request, error) {
	if op == "" {
		return nil, fmt.Errorf("not SQS's JSON protocol (no X-Amz-Target)")
	}
	var in struct{ QueueUrl string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	u, err := url.Parse(in.QueueUrl)
	if err != nil || in.QueueUrl == "" {
		return nil, fmt.Errorf("QueueUrl %q", in.QueueUrl)
	}
	name := u.Path[strings.LastIndex(u.Path, "/")+1:]
	return []iampolicy.Request{{Action: "sqs:" + strings.TrimSuffix(op, "Batch"), Resource: queueARN(name)}}, nil
}

// transactActions are the IAM actions a transaction's items need.
var transactActions = map[string]string{
	"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem",
}

func dynamoRequests(op string, body []byte, tableARN func(string) string) ([]iampolicy.Request, error) {
	var in struct {
		TableName     string
		IndexName     string
		RequestItems  map[string]json.RawMessage
		TransactItems []map[string]struct{ TableName string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	var out []iampolicy.Request
	add := func(action, table string) {
		out = append(out, iampolicy.Request{Action: "dynamodb:" + action, Resource: tableARN(table)})
	}
	switch op {
	case "BatchGetItem", "BatchWriteItem":
		tables := make([]string, 0, len(in.RequestItems))
		for t := range in.RequestItems {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		for _, t := range tables {
			add(op, t)
		}
	case "TransactWriteItems", "TransactGetItems":
		for i, item := range in.TransactItems {
			for kind, x := range item {
				action, known := transactActions[kind]
				if !known {
					return nil, fmt.Errorf("transaction item %d: unknown kind %s", i, kind)
				}
				add(action, x.TableName)
			}
		}
	default:
		if in.TableName == "" {
			return nil, fmt.Errorf("no TableName")
		}
		table := in.TableName
		if in.IndexName != "" {
			table += "/index/" + in.IndexName
		}
		add(op, table)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("names no table")
	}
	return out, nil
}

// sesRequests: SES authorizes a send on the sending identity and, when one
// is used, on the configuration set; ses:FromAddress is the sender.
func sesRequests(form url.Values, acct Account, sesARN func(string) string) ([]iampolicy.Request, error) {
	action := form.Get("Action")
	switch action {
	case "SendRawEmail", "SendEmail":
	default:
		return nil, fmt.Errorf("SES action %q is not read by this check", action)
	}
	from := form.Get("Source")
	if from == "" && action == "SendRawEmail" {
		raw, err := base64.StdEncoding.DecodeString(form.Get("RawMessage.Data"))
		if err != nil {
			return nil, fmt.Errorf("RawMessage.Data: %w", err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("the raw message: %w", err)
		}
		from = msg.Header.Get("From")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("sender %q: %w", from, err)
	}
	ctx := map[string]string{"ses:FromAddress": addr.Address}
	out := []iampolicy.Request{{Action: "ses:" + action, Resource: sesARN("identity/" + identity(addr.Address, acct.SESIdentities)), Context: ctx}}
	if set := form.Get("ConfigurationSetName"); set != "" {
		out = append(out, iampolicy.Request{Action: "ses:" + action, Resource: sesARN("configuration-set/" + set), Context: ctx})
	}
	return out, nil
}

func identity(address string, verified []string) string {
	_, domain, _ := strings.Cut(address, "@")
	for _, v := range verified {
		if strings.EqualFold(v, address) {
			return v
		}
	}
	return domain
}
