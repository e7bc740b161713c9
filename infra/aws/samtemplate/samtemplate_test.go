package samtemplate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/internal/httpapi"
)

// TestRoutesMatchTemplate: the routes the local API serves (httpapi.Routes)
// are exactly the routes template.yaml deploys, bound to the same functions,
// with the same authorizer choice; every function has its folder and its
// Makefile target.
func TestRoutesMatchTemplate(t *testing.T) {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	deployed := map[string]samtemplate.Route{}
	for _, r := range tpl.Routes() {
		if _, dup := deployed[r.Key()]; dup {
			t.Errorf("route %s deployed twice", r.Key())
		}
		deployed[r.Key()] = r
	}
	local := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		local[r.Key()] = r
	}
	for key, d := range deployed {
		l, ok := local[key]
		if !ok {
			t.Errorf("template.yaml deploys %s but the local API does not serve it", key)
			continue
		}
		if l.Function != d.Function {
			t.Errorf("%s: template binds %s, route table says %s", key, d.Function, l.Function)
		}
		if l.Public != d.Public {
			t.Errorf("%s: public in one place and not the other", key)
		}
	}
	for key := range local {
		if _, ok := deployed[key]; !ok {
			t.Errorf("the local API serves %s but template.yaml does not deploy it", key)
		}
	}

	root, _ := samtemplate.RepoRoot()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range httpapi.Routes {
		if _, err := os.Stat(filepath.Join(root, "functions", r.Dir, "main.go")); err != nil {
			t.Errorf("%s: functions/%s/main.go is missing", r.Function, r.Dir)
		}
		if !strings.Contains(string(makefile), r.Function+":"+r.Dir) {
			t.Errorf("%s: no build-%s target building ./functions/%s in the Makefile", r.Function, r.Function, r.Dir)
		}
	}
}

// TestTableDefinition: the local table is made from the template's.
func TestTableDefinition(t *testing.T) {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		t.Fatal(err)
	}
	in, ttl, err := tpl.CreateTableInput("Table", "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.KeySchema) != 2 || *in.KeySchema[0].AttributeName != "pk" || *in.KeySchema[1].AttributeName != "sk" || ttl != "expiresAt" {
		t.Fatalf("table: %+v ttl %q", in.KeySchema, ttl)
	}
}
