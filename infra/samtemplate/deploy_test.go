package samtemplate_test

import (
	"slices"
	"strings"
	"testing"
)

// TestSafeDeploys: every function is published under an alias, which its
// route then invokes (SAM connects a function's event sources to its
// AutoPublishAlias), and deployed through CodeDeploy: a canary rolled back by its own
// 5xx alarm in prod, all at once in dev.
func TestSafeDeploys(t *testing.T) {
	tpl := load(t)
	for _, fn := range tpl.Resources("AWS::Serverless::Function") {
		if v := tpl.FunctionProperty(fn, "AutoPublishAlias"); v == nil || v.Value == "" {
			t.Errorf("%s: no AutoPublishAlias (the API would invoke $LATEST, changed at once by every deploy)", fn.Name)
		}
		if v := tpl.FunctionProperty(fn, "AutoPublishAliasAllProperties"); v == nil || v.Value != "true" {
			t.Errorf("%s: AutoPublishAliasAllProperties must be true (a settings change must publish a version)", fn.Name)
		}
		for stage, want := range map[string]string{"prod": "Canary", "dev": "AllAtOnce"} {
			st := stackFor(tpl, stage)
			typ, err := tpl.Resolve(tpl.FunctionProperty(fn, "DeploymentPreference", "Type"), st)
			if s, _ := typ.(string); err != nil || !strings.HasPrefix(s, want) {
				t.Errorf("%s: deployment type in %s is %v (%v), want %s…", fn.Name, stage, typ, err, want)
			}
			alarms, err := tpl.Resolve(tpl.FunctionProperty(fn, "DeploymentPreference", "Alarms"), st)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := alarms.([]any)
			if stage == "prod" {
				own := strings.TrimSuffix(fn.Name, "Function") + "ServerErrorsAlarm"
				if !slices.Contains(list, any(own)) {
					t.Errorf("%s: in prod the canary is not rolled back by %s (alarms %v)", fn.Name, own, list)
				}
			}
		}
	}
}
