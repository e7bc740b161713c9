package invoicepdf

import (
	"bytes"
	"compress/gzip"
	_ "embed" // the fonts
	"fmt"
	"io"
	"sync"
)

// The Go fonts (Go Regular, Go Bold), gzip-compressed: the same bytes as
// golang.org/x/image/font/gofont's goregular.TTF and gobold.TTF
// (TestFontsAreTheGoFonts), at less than half their size in each
// bootstrap that renders PDFs. Made with zopfli (gzip's format, 4 % smaller
// than gzip -9) from a copy of golang.org/x/image@v0.12.0's
// font/gofont/ttfs/Go-Regular.ttf and Go-Bold.ttf:
//
//	zopfli --i100 Go-Regular.ttf Go-Bold.ttf
var (
	//go:embed fonts/Go-Regular.ttf.gz
	regularGz []byte
	//go:embed fonts/Go-Bold.ttf.gz
	boldGz []byte
)

// goFonts gives the fonts' TrueType bytes, decompressed on first use only
// (about a millisecond) and kept for the execution environment's life.
var goFonts = sync.OnceValues(func() (fonts, error) {
	regular, err := gunzip(regularGz)
	if err != nil {
		return fonts{}, fmt.Errorf("invoicepdf: Go Regular: %w", err)
	}
	bold, err := gunzip(boldGz)
	if err != nil {
		return fonts{}, fmt.Errorf("invoicepdf: Go Bold: %w", err)
	}
	return fonts{regular: regular, bold: bold}, nil
})

type fonts struct{ regular, bold []byte }

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
