package cfntemplate_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// envs are the environments of samconfig.toml, each translated with its
// own parameter values.
var envs = []string{"dev", "prod"}

var (
	cacheMu sync.Mutex
	cache   = map[string]*cfntemplate.Translated{}
)

// translated is template.yaml as AWS's translator builds it for env (one
// translation per environment and test process).
func translated(t *testing.T, env string) *cfntemplate.Translated {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if tr, ok := cache[env]; ok {
		return tr
	}
	tr, err := cfntemplate.TranslateRepo(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	cache[env] = tr
	return tr
}

// source is template.yaml's text, to break on purpose.
func source(t *testing.T) string {
	t.Helper()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// translate translates a (broken) source with env's parameter values.
func translate(t *testing.T, src, env string) *cfntemplate.Translated {
	t.Helper()
	params, err := cfntemplate.Parameters(env)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cfntemplate.Translate(context.Background(), []byte(src), params)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// replaceOnce replaces old, which must be in src, once.
func replaceOnce(t *testing.T, src, old, new string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("the source no longer holds %q", old)
	}
	return strings.Replace(src, old, new, 1)
}

// stackFor resolves the translation as env's stack would: samconfig's
// parameter values, each resource's Ref its logical id, its ARN
// "arn:<id>" (enough to see which resource a property names).
func stackFor(t *testing.T, tr *cfntemplate.Translated, env string) samtemplate.Stack {
	t.Helper()
	params, err := cfntemplate.Parameters(env)
	if err != nil {
		t.Fatal(err)
	}
	refs, attrs := map[string]string{}, map[string]string{}
	for _, r := range tr.Resources("") {
		refs[r.Name] = r.Name
		for _, a := range []string{"Arn", "QueueName", "Version", "RegionalDomainName", "RegionalHostedZoneId"} {
			attrs[r.Name+"."+a] = "arn:" + r.Name
		}
		attrs[r.Name+".QueueName"] = r.Name
	}
	return samtemplate.Stack{Params: params, Region: "ca-central-1", AccountID: params["AccountId"], Partition: "aws",
		StackName: "clinicpay-" + env, URLSuffix: "amazonaws.com", Refs: refs, Attrs: attrs}
}

// refOf is the logical id a {"Ref": X} or {"Fn::GetAtt": [X, …]} node
// names ("" otherwise).
func refOf(v any) string {
	m, _ := v.(map[string]any)
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) > 0 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

// raw reads a resource's property as plain JSON values, intrinsic
// functions left as they are.
func raw(t *testing.T, tr *cfntemplate.Translated, r samtemplate.Resource, keys ...string) any {
	t.Helper()
	n := samtemplate.Get(r.Node, keys...)
	if n == nil {
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`)

// subVars lists the resources a Fn::Sub string names.
func subVars(v any) []string {
	m, _ := v.(map[string]any)
	s, _ := m["Fn::Sub"].(string)
	var out []string
	for _, x := range subVar.FindAllStringSubmatch(s, -1) {
		out = append(out, x[1])
	}
	return out
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
