package iampolicy

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	table    = "arn:aws:dynamodb:ca-central-1:123456789012:table/clinicpay"
	secret   = "arn:aws:secretsmanager:ca-central-1:123456789012:secret:clinicpay/stripe-AbCdEf"
	identity = "arn:aws:ses:ca-central-1:123456789012:identity/clinicpay.example"
	confSet  = "arn:aws:ses:ca-central-1:123456789012:configuration-set/clinicpay-prod"
)

// doc parses a JSON policy document, as the template's policies read once
// their intrinsic functions are resolved.
func doc(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// templateLike is the shape of the e-mail function's policy in template.yaml.
const templateLike = `{"Version":"2012-10-17","Statement":[
 {"Sid":"InvoiceTable","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem"],"Resource":"` + table + `"},
 {"Sid":"StripeSecret","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"` + secret + `"},
 {"Sid":"SendInvoiceEmail","Effect":"Allow","Action":"ses:SendRawEmail","Resource":["` + identity + `","` + confSet + `"],
  "Condition":{"StringEquals":{"ses:FromAddress":"factures@clinicpay.example"}}}]}`

func TestEvaluate(t *testing.T) {
	from := map[string]string{"ses:FromAddress": "factures@clinicpay.example"}
	cases := []struct {
		name   string
		policy string
		req    Request
		want   Decision
	}{
		{"action and resource named", templateLike, Request{Action: "dynamodb:UpdateItem", Resource: table}, Allowed},
		{"action names are case-insensitive", templateLike, Request{Action: "DynamoDB:updateitem", Resource: table}, Allowed},
		{"action not in the policy", templateLike, Request{Action: "dynamodb:DeleteItem", Resource: table}, ImplicitDeny},
		{"another table", templateLike, Request{Action: "dynamodb:GetItem", Resource: table + "-other"}, ImplicitDeny},
		{"an index of the table is another resource", templateLike, Request{Action: "dynamodb:GetItem", Resource: table + "/index/gsi1"}, ImplicitDeny},
		{"ARNs are case-sensitive", templateLike, Request{Action: "dynamodb:GetItem", Resource: strings.ToUpper(table)}, ImplicitDeny},
		{"the secret", templateLike, Request{Action: "secretsmanager:GetSecretValue", Resource: secret}, Allowed},
		{"another secret", templateLike, Request{Action: "secretsmanager:GetSecretValue", Resource: secret + "x"}, ImplicitDeny},
		{"SES identity with the sender", templateLike, Request{Action: "ses:SendRawEmail", Resource: identity, Context: from}, Allowed},
		{"SES configuration set with the sender", templateLike, Request{Action: "ses:SendRawEmail", Resource: confSet, Context: from}, Allowed},
		{"SES from another address", templateLike, Request{Action: "ses:SendRawEmail", Resource: identity, Context: map[string]string{"ses:FromAddress": "ceo@clinicpay.example"}}, ImplicitDeny},
		{"SES condition key is case-insensitive", templateLike, Request{Action: "ses:SendRawEmail", Resource: identity, Context: map[string]string{"SES:fromaddress": "factures@clinicpay.example"}}, Allowed},
		{"SES condition value is case-sensitive", templateLike, Request{Action: "ses:SendRawEmail", Resource: identity, Context: map[string]string{"ses:FromAddress": "Factures@clinicpay.example"}}, ImplicitDeny},
		{"SES without the condition key", templateLike, Request{Action: "ses:SendRawEmail", Resource: identity}, ImplicitDeny},
		{"SES SendEmail is another action", templateLike, Request{Action: "ses:SendEmail", Resource: identity, Context: from}, ImplicitDeny},
		{"wildcard resource", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:Query","Resource":"` + table + `/index/*"}}`,
			Request{Action: "dynamodb:Query", Resource: table + "/index/byDate"}, Allowed},
		{"wildcard resource does not match the table", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:Query","Resource":"` + table + `/index/*"}}`,
			Request{Action: "dynamodb:Query", Resource: table}, ImplicitDeny},
		{"? matches one character", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:Query","Resource":"arn:aws:dynamodb:ca-central-1:123456789012:table/clinicpay-???"}}`,
			Request{Action: "dynamodb:Query", Resource: "arn:aws:dynamodb:ca-central-1:123456789012:table/clinicpay-dev"}, Allowed},
		{"wildcard action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*Item","Resource":"*"}}`,
			Request{Action: "dynamodb:PutItem", Resource: table}, Allowed},
		{"explicit deny wins", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},{"Effect":"Deny","Action":"dynamodb:DeleteItem","Resource":"` + table + `"}]}`,
			Request{Action: "dynamodb:DeleteItem", Resource: table}, ExplicitDeny},
		{"deny of another action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"},{"Effect":"Deny","Action":"dynamodb:DeleteItem","Resource":"` + table + `"}]}`,
			Request{Action: "dynamodb:PutItem", Resource: table}, Allowed},
		{"one of several condition values", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ses:SendRawEmail","Resource":"*","Condition":{"StringEquals":{"ses:FromAddress":["a@x.example","b@x.example"]}}}}`,
			Request{Action: "ses:SendRawEmail", Resource: identity, Context: map[string]string{"ses:FromAddress": "b@x.example"}}, Allowed},
		{"a policy variable in a condition value", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::${aws:PrincipalAccount}:policy/b"}}}}`,
			Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::123456789012:role/r", Context: map[string]string{"aws:PrincipalAccount": "123456789012", "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b"}}, Allowed},
		{"a policy variable of another value", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::${aws:PrincipalAccount}:policy/b"}}}}`,
			Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::123456789012:role/r", Context: map[string]string{"aws:PrincipalAccount": "999999999999", "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b"}}, ImplicitDeny},
		{"a policy variable the request lacks", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::${aws:PrincipalAccount}:policy/b"}}}}`,
			Request{Action: "iam:CreateRole", Resource: "arn:aws:iam::123456789012:role/r", Context: map[string]string{"iam:PermissionsBoundary": "arn:aws:iam::${aws:PrincipalAccount}:policy/b"}}, ImplicitDeny},
		{"every condition key must hold", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ses:SendRawEmail","Resource":"*","Condition":{"StringEquals":{"ses:FromAddress":"a@x.example","ses:FromDisplayName":"X"}}}}`,
			Request{Action: "ses:SendRawEmail", Resource: identity, Context: map[string]string{"ses:FromAddress": "a@x.example"}}, ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse(doc(t, c.policy))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Evaluate(c.req); got != c.want {
				t.Fatalf("%s: %v, want %v", c.req, got, c.want)
			}
		})
	}
}

// TestParseRefusesWhatItCannotJudge: grammar beyond the template's is an
// error, not a silent allow or deny.
func TestParseRefusesWhatItCannotJudge(t *testing.T) {
	cases := map[string]string{
		"NotAction":         `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
		"NotResource":       `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","NotResource":"*"}}`,
		"Principal":         `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`,
		"StringLike":        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringLike":{"s3:prefix":"a*"}}}}`,
		"IfExists":          `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualsIfExists":{"k":"v"}}}}`,
		"old version":       `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
		"no version":        `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
		"Id":                `{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`,
		"bad effect":        `{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}}`,
		"no resource":       `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`,
		"empty action list": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`,
		"not a document":    `["dynamodb:GetItem"]`,
	}
	for name, policy := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(doc(t, policy)); err == nil {
				t.Fatalf("accepted %s", policy)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a*b*c", "aXbYbZc", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"table/x", "table/x", true},
		{"table/x", "table/xy", false},
		{"*/index/*", "table/t/index/i", true},
		{"**", "x", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// TestWithoutEachAction: taking any one action out of a policy denies
// exactly the requests that needed it; the rest stay allowed.
func TestWithoutEachAction(t *testing.T) {
	p, err := Parse(doc(t, templateLike))
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]string{"ses:FromAddress": "factures@clinicpay.example"}
	reqs := []Request{
		{Action: "dynamodb:GetItem", Resource: table},
		{Action: "dynamodb:PutItem", Resource: table},
		{Action: "dynamodb:UpdateItem", Resource: table},
		{Action: "secretsmanager:GetSecretValue", Resource: secret},
		{Action: "ses:SendRawEmail", Resource: identity, Context: from},
	}
	if got := p.Actions(); len(got) != len(reqs) {
		t.Fatalf("actions %v", got)
	}
	for _, removed := range p.Actions() {
		q := p.Without(removed)
		for _, r := range reqs {
			want := Allowed
			if r.Action == removed {
				want = ImplicitDeny
			}
			if got := q.Evaluate(r); got != want {
				t.Errorf("without %s: %s is %v, want %v", removed, r, got, want)
			}
		}
	}
	if got := p.Evaluate(reqs[2]); got != Allowed {
		t.Fatal("Without changed the original policy")
	}
}

// TestSizeAsIAMCounts: white space is not counted, wherever it is; a
// document given as its text counts as the same document; characters
// IAM refuses are an error; each quota is enforced at its number.
func TestSizeAsIAMCounts(t *testing.T) {
	compact := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	pretty := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}\n}"
	for _, d := range []any{doc(t, compact), compact, pretty, doc(t, pretty)} {
		if n, err := Size(d); err != nil || n != len(compact) {
			t.Errorf("Size(%.30v…) = %d, %v; want %d", d, n, err, len(compact))
		}
	}
	if _, err := Size(`{"Version":"2012-10-17","Statement":{"Sid":"€"}}`); err == nil {
		t.Error("a character over U+00FF was accepted")
	}
	pad := func(n int) any { // a document of exactly n characters
		base := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"}}`
		s := base[:len(base)-3] + strings.Repeat("b", n-len(base)) + base[len(base)-3:]
		return doc(t, s)
	}
	if err := CheckManaged(pad(MaxManagedPolicyChars)); err != nil {
		t.Errorf("6,144 characters: %v", err)
	}
	if err := CheckManaged(pad(MaxManagedPolicyChars + 1)); err == nil || !strings.Contains(err.Error(), "6144") {
		t.Errorf("6,145 characters: %v", err)
	}
	if err := CheckRoleInline(pad(5000), pad(5240)); err != nil {
		t.Errorf("10,240 characters in two policies: %v", err)
	}
	if err := CheckRoleInline(pad(5000), pad(5241)); err == nil {
		t.Error("10,241 characters in two policies passed")
	}
	if err := CheckTrust(pad(MaxTrustPolicyChars + 1)); err == nil {
		t.Error("a trust policy of 2,049 characters passed")
	}
}
