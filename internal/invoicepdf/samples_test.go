package invoicepdf

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// samplesDir, when set, makes TestSamples write each sample's PDF and its
// pages as PNG there (`make pdf-samples` writes them to .build/pdf/), to look
// at the layout.
var samplesDir = flag.String("samples", "", "write sample PDFs and PNGs of their pages into this folder")

func TestSamples(t *testing.T) {
	if *samplesDir == "" {
		t.Skip("no -samples folder")
	}
	if err := os.MkdirAll(*samplesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		pdf, err := Render(s.doc())
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		path := filepath.Join(*samplesDir, s.name+".pdf")
		if err := os.WriteFile(path, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		// Every page as PNG: name-1.png, name-2.png, …
		prefix := strings.TrimSuffix(path, ".pdf")
		old, _ := filepath.Glob(prefix + "-*.png")
		for _, f := range old {
			os.Remove(f)
		}
		needTool(t, "pdftoppm")
		if out, err := exec.Command("pdftoppm", "-png", "-r", "100", path, prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v: %s", err, out)
		}
		t.Logf("%s: %d bytes → %s-*.png", path, len(pdf), prefix)
	}
}
