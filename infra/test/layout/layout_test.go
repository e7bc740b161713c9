// Package layout holds the repository's structural rules. What is
// deployed (functions/ and the internal/ packages they build from) never
// depends on what runs the stack locally or tests it (infra/, cmd/). The
// depguard rule in .golangci.yml sees direct imports only; this test walks
// every deployed function's full dependency graph.
package layout

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/clinicpay/payments/"

// notDeployed are the module's roots that no Lambda may carry.
var notDeployed = []string{module + "infra/", module + "cmd/"}

func TestDeployedCodeReachesNoDevOrTestCode(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..", "..")
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, "./functions/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list found only %d packages; the rule would check nothing", len(deps))
	}
	for _, dep := range deps {
		for _, root := range notDeployed {
			if strings.HasPrefix(dep, root) {
				t.Errorf("a deployed function depends on %s (infra/ and cmd/ are local and test code)", dep)
			}
		}
	}
}
