package lambdarie_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/test/lambdarie"
)

// The function the build tests build (any would do; the smallest is
// quickest).
const function = "GetInvoiceFunction"

// TestBuildsAreReproducible: the bootstrap built as SAM builds it (make
// build-<LogicalId>, linux/arm64) is byte-identical when built again in
// another directory, in a checkout with a .git owned by another user, as
// CI's root builds a checkout it did not clone. An unchanged function therefore keeps its code hash and
// is not redeployed, and git's "dubious ownership" refusal can't stop the
// build (no VCS data is read: with it, each commit would change every
// binary). The control: a build that stamps VCS data (-buildvcs=true)
// fails in that checkout ("error obtaining VCS status").
func TestBuildsAreReproducible(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the checkout to another user (CI runs as root)")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	here, err := lambdarie.Build(root, function, "arm64", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	// A checkout of the module owned by nobody (65534), with its .git.
	checkout := filepath.Join(t.TempDir(), "checkout")
	if err := copyModule(root, checkout); err != nil {
		t.Fatal(err)
	}
	// The copy has no .git of its own yet (a worktree's .git is a file that
	// points at the real repository: git must never reach it from here).
	if _, err := os.Lstat(filepath.Join(checkout, ".git")); !os.IsNotExist(err) {
		t.Fatalf("the copy has a .git before git init: %v", err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-q", "-m", "checkout"}} {
		git := exec.Command("git", append([]string{"-C", checkout}, args...)...)
		git.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(checkout), "GIT_DIR="+filepath.Join(checkout, ".git"), "GIT_WORK_TREE="+checkout)
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	if out, err := exec.Command("chown", "-R", "65534:65534", checkout).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	// The build cache is shared: it is content-addressed, and the link,
	// where VCS data, paths and the build id enter a binary, runs again.
	// (A build from an empty cache gives the same bytes too, but costs half
	// a minute of both cores, which the other tests of make test need.)
	env := append(os.Environ(), "GOFLAGS=")

	control := exec.Command("go", "build", "-buildvcs=true", "-o", filepath.Join(t.TempDir(), "stamped"), "./functions/get-invoice")
	control.Dir, control.Env = checkout, append(env, "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := control.CombinedOutput(); err == nil || !strings.Contains(string(out), "VCS") {
		t.Fatalf("the control build (stamping VCS data) should fail in a checkout of another user: %v %s", err, out)
	}

	dir := t.TempDir()
	build := exec.Command("make", "-s", "-C", checkout, "build-"+function, "GOARCH=arm64", "ARTIFACTS_DIR="+dir)
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build-%s in a checkout owned by another user: %v\n%s", function, err, out)
	}
	a, b := digest(t, here), digest(t, filepath.Join(dir, "bootstrap"))
	if a != b {
		t.Fatalf("two builds of the same source differ: %s here, %s in the other checkout", a, b)
	}
	t.Logf("%s: sha256 %s in both builds", function, a)
}

func digest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		t.Fatalf("%s is not an ELF binary", path)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// copyModule copies the module's sources (not its build outputs, tools or
// git data, whether .git is a directory or a worktree's file) to dst,
// keeping file modes.
func copyModule(src, dst string) error {
	skip := map[string]bool{".git": true, ".tools": true, ".build": true, ".aws-sam": true}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if skip[d.Name()] && rel != "." {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
