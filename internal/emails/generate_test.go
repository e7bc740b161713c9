package emails

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent fails when a *_templ.go file is not what the
// pinned generator (go.mod's tool directive) makes of its .templ file, or
// has no .templ file: after editing a .templ file, run
// `go tool templ generate -path internal/emails` and commit both.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is needed to check the generated code:", err)
	}
	cmd := exec.Command(goCmd, "tool", "templ", "generate", "-check", "-keep-orphaned-files", "-path", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generated code is stale; run `go tool templ generate -path internal/emails`:\n%s", out)
	}
	generated, err := filepath.Glob("*_templ.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range generated {
		if _, err := os.Stat(strings.TrimSuffix(g, "_templ.go") + ".templ"); err != nil {
			t.Errorf("%s has no .templ file: delete it", g)
		}
	}
	if len(generated) == 0 {
		t.Fatal("no generated code")
	}
}
