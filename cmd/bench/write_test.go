package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpliceReport(t *testing.T) {
	const report = "Measured today.\n\n| a |\n|---|\n| 1 |\n"
	for _, c := range []struct {
		name, doc, want, err string
	}{
		{
			name: "the old report replaced, the notes kept",
			doc:  "# Performance\n\nhow\n\n<!-- make bench: begin (by cmd/bench) -->\nold figures\nmore\n<!-- make bench: end -->\n\nnotes\n",
			want: "# Performance\n\nhow\n\n<!-- make bench: begin (by cmd/bench) -->\nMeasured today.\n\n| a |\n|---|\n| 1 |\n<!-- make bench: end -->\n\nnotes\n",
		},
		{
			name: "an empty place filled",
			doc:  "<!-- make bench: begin -->\n<!-- make bench: end -->\n",
			want: "<!-- make bench: begin -->\nMeasured today.\n\n| a |\n|---|\n| 1 |\n<!-- make bench: end -->\n",
		},
		{name: "no begin marker", doc: "# Performance\n<!-- make bench: end -->\n", err: "no line starting"},
		{name: "no end marker", doc: "<!-- make bench: begin -->\nold\n", err: "no line \"<!-- make bench: end -->\""},
		{name: "end before begin", doc: "<!-- make bench: end -->\n<!-- make bench: begin -->\n", err: "after the begin marker"},
		{name: "markers twice", doc: "<!-- make bench: begin -->\n<!-- make bench: end -->\n<!-- make bench: begin -->\n", err: "more than once"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := spliceReport([]byte(c.doc), []byte(report))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
			again, err := spliceReport(got, []byte(report))
			if err != nil || string(again) != c.want {
				t.Fatalf("writing the same report again changed the file: %v\n%s", err, again)
			}
		})
	}
}

// TestPerformanceHasThePlace: docs/performance.md has the markers make
// bench writes between, and the report written there keeps the rest.
func TestPerformanceHasThePlace(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, []byte("NEW REPORT\n")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := strings.Cut(string(src), beginMarker)
	_, after, _ := strings.Cut(string(src), endMarker)
	if !strings.HasPrefix(string(got), before) || !strings.HasSuffix(string(got), after) || !strings.Contains(string(got), "\nNEW REPORT\n"+endMarker) {
		t.Fatalf("the report did not land between the markers alone:\n%s", got)
	}
}
