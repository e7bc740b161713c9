package main

import (
	"bytes"
	"fmt"
	"os"
)

// The report's place in docs/performance.md: between these two lines.
// What lies outside them (how to read the figures, the other
// measurements) is written by hand and kept as it is.
const (
	beginMarker = "<!-- make bench: begin"
	endMarker   = "<!-- make bench: end -->"
)

// writeReport puts report between the markers of the Markdown file at
// path, keeping the marker lines and everything outside them.
func writeReport(path string, report []byte) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the report's file: %w", err)
	}
	out, err := spliceReport(doc, report)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read the report's file: %w", err)
	}
	if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// spliceReport returns doc with the lines between its begin marker's line
// and its end marker replaced by report.
func spliceReport(doc, report []byte) ([]byte, error) {
	begin := bytes.Index(doc, []byte(beginMarker))
	if begin < 0 {
		return nil, fmt.Errorf("no line starting %q to write the report after", beginMarker)
	}
	if bytes.Count(doc, []byte(beginMarker)) > 1 || bytes.Count(doc, []byte(endMarker)) > 1 {
		return nil, fmt.Errorf("the report's markers appear more than once")
	}
	afterBegin := bytes.IndexByte(doc[begin:], '\n')
	if afterBegin < 0 {
		return nil, fmt.Errorf("nothing after the line starting %q", beginMarker)
	}
	afterBegin += begin + 1
	end := bytes.Index(doc, []byte(endMarker))
	if end < afterBegin {
		return nil, fmt.Errorf("no line %q after the begin marker", endMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:afterBegin])
	out.Write(bytes.TrimRight(report, "\n"))
	out.WriteString("\n")
	out.Write(doc[end:])
	return out.Bytes(), nil
}
