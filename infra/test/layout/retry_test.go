package layout

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBillingRetriesInOnePlace: every conditional write in the domain goes
// through billing's change helpers (change.go: retrying, changeInvoice,
// changeCompany, changeReader), so the one loop that retries a lost race
// is there and nowhere else.
func TestBillingRetriesInOnePlace(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "..", "internal", "billing")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no billing files: %v", err)
	}
	loops := map[string]int{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), ".Attempts(ctx)"); n > 0 {
			loops[filepath.Base(f)] = n
		}
	}
	if len(loops) != 1 || loops["change.go"] != 1 {
		t.Fatalf("retry loops in billing: %v; want the one in change.go (use retrying, changeInvoice, changeCompany or changeReader)", loops)
	}
}
