package samtemplate_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
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

// TestDeployRefusesTheWrongAccount: make deploy compares the credentials'
// account with the environment's AccountId in samconfig.toml before it
// builds anything (stand-ins for the aws and sam commands).
func TestDeployRefusesTheWrongAccount(t *testing.T) {
	root, _ := samtemplate.RepoRoot()
	bin := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("aws", "echo 111111111111") // dev's account in samconfig.toml
	write("sam", `echo "sam $*"`)
	for env, refused := range map[string]bool{"dev": false, "prod": true} {
		cmd := exec.Command("make", "-s", "-C", root, "deploy", "ENV="+env)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		built := strings.Contains(string(out), "sam build --config-env "+env)
		if refused && (err == nil || built || !strings.Contains(string(out), "these credentials are account 111111111111")) {
			t.Errorf("ENV=%s with dev's credentials: %v\n%s", env, err, out)
		}
		if !refused && (err != nil || !built) {
			t.Errorf("ENV=%s with its own credentials: %v\n%s", env, err, out)
		}
	}
}
