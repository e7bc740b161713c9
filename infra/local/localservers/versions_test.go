package localservers

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// The versions are written once: versions.mk, which the Makefile includes.
func TestVersionsWrittenOnce(t *testing.T) {
	for name, v := range map[string]string{
		"DynamoDB Local": DynamoDBSimulatorVersion, "stripe-mock": StripeMockVersion,
		"aws-ses-v2-local": SESLocalVersion, "aws-lambda-rie": LambdaRIEVersion, "moto": MotoVersion,
		"aws-sam-translator": SAMTranslatorVersion, "cfn-lint": CfnLintVersion,
	} {
		if v == "" || strings.ContainsAny(v, " \t#") {
			t.Errorf("%s: version %q", name, v)
		}
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "\ninclude infra/local/localservers/versions.mk\n") {
		t.Error("the Makefile does not include infra/local/localservers/versions.mk")
	}
	if m := regexp.MustCompile(`(?m)^\w+_VERSION\s*:?=`).FindString(string(mk)); m != "" {
		t.Errorf("the Makefile sets a version itself (%q): write it in versions.mk", m)
	}
}
