package samtemplate_test

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// stackFor resolves the template as a stage would: each resource's Ref is
// its logical id (enough to see which resource a property names).
func stackFor(tpl *samtemplate.Template, stage string) samtemplate.Stack {
	refs := map[string]string{}
	attrs := map[string]string{}
	for _, r := range tpl.Resources("") {
		refs[r.Name] = r.Name
		attrs[r.Name+".Arn"] = "arn:" + r.Name
	}
	return samtemplate.Stack{
		Params: map[string]string{"Stage": stage, "SenderEmail": "a@b.example", "SesIdentity": "b.example", "JwtIssuer": "https://i.example/",
			"JwtAudience": "a", "CorsAllowedOrigins": "https://o.example", "StripeSecretArn": "arn:aws:secretsmanager:x", "AlarmEmail": "o@b.example",
			"StripeOnboardingRefreshUrl": "https://o.example/r", "StripeOnboardingReturnUrl": "https://o.example/d"},
		Region: "ca-central-1", AccountID: "123456789012", Partition: "aws", StackName: "clinicpay-" + stage, URLSuffix: "amazonaws.com",
		Refs: refs, Attrs: attrs,
	}
}

// refsIn collects the logical ids a node names with !Ref / !GetAtt.
func refsIn(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	switch n.Tag {
	case "!Ref":
		return []string{n.Value}
	case "!GetAtt":
		name, _, _ := strings.Cut(n.Value, ".")
		return []string{name}
	}
	for _, c := range n.Content {
		out = append(out, refsIn(c)...)
	}
	return out
}

func resources(tpl *samtemplate.Template, typ string) map[string]samtemplate.Resource {
	out := map[string]samtemplate.Resource{}
	for _, r := range tpl.Resources(typ) {
		out[r.Name] = r
	}
	return out
}
