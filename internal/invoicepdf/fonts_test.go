package invoicepdf

import (
	"bytes"
	"testing"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// The compressed fonts are the Go fonts byte for byte, so every PDF is the
// same as with golang.org/x/image's own copies.
func TestFontsAreTheGoFonts(t *testing.T) {
	f, err := goFonts()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"Go Regular", f.regular, goregular.TTF},
		{"Go Bold", f.bold, gobold.TTF},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: %d bytes differ from golang.org/x/image's %d", c.name, len(c.got), len(c.want))
		}
	}
}
