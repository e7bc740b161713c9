package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines is the house limit on a production function, from its
// func line to its closing brace: one screen, read at once.
const maxFuncLines = 60

type funcLen struct {
	name  string
	lines int
}

// TestNoLongProductionFunction holds functions/ and internal/ (what is
// deployed; tests and templ's generated code aside) to maxFuncLines.
// With -v it lists the ten longest.
func TestNoLongProductionFunction(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..", "..")
	var all []funcLen
	for _, dir := range []string{"functions", "internal"} {
		all = append(all, funcLengths(t, root, dir)...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].lines > all[j].lines })
	if len(all) < 100 {
		t.Fatalf("found only %d functions; the walk missed the code", len(all))
	}
	for i, f := range all[:10] {
		t.Logf("%2d. %3d lines  %s", i+1, f.lines, f.name)
	}
	for _, f := range all {
		if f.lines > maxFuncLines {
			t.Errorf("%s has %d lines (at most %d: split it into named steps)", f.name, f.lines, maxFuncLines)
		}
	}
}

func funcLengths(t *testing.T, root, dir string) []funcLen {
	var out []funcLen
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") ||
			strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				out = append(out, funcLen{rel + ":" + fn.Name.Name, n})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
