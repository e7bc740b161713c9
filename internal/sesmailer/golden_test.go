package sesmailer

import (
	"flag"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden messages in testdata/golden")

// goldenCases are messages whose bytes are held to testdata/golden.
func goldenCases() map[string]Message {
	mixed := attachmentMessage()
	mixed.Attachments[0].Data = pdfLike(300)
	return map[string]Message{
		"mixed": mixed,
		"alternative": {
			From:     mail.Address{Name: "Clinique Saint-Louis — Médecine familiale", Address: "factures@clinicpay.example"},
			To:       "marie@example.com",
			ReplyTo:  "facturation@clinique.example",
			Subject:  "Facture F-2026-0042 – Clinique Saint-Louis",
			Language: "fr",
			Text:     "Bonjour Marie,\nSolde à payer : 125,00 $\n" + strings.Repeat("long line ", 12),
			HTML:     "<p>Bonjour <b>Marie</b></p>",
			Date:     time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		},
		"alternative-plain": {
			From:    mail.Address{Name: "Clinique Saint-Louis", Address: "factures@clinicpay.example"},
			To:      "a@example.com",
			Subject: "Invoice F-1",
			Text:    "Hello",
			HTML:    "<p>Hello</p>",
			Date:    time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		},
	}
}

var boundaryParam = regexp.MustCompile(`boundary="([^"]+)"`)

// withFixedBoundaries replaces the random boundaries, in the order they are
// declared, with BOUNDARY-1, BOUNDARY-2…; every other byte is kept.
func withFixedBoundaries(raw string) string {
	for i, m := range boundaryParam.FindAllStringSubmatch(raw, -1) {
		raw = strings.ReplaceAll(raw, m[1], "BOUNDARY-"+strconv.Itoa(i+1))
	}
	return raw
}

// TestGolden holds BuildMIME's output to the files in testdata/golden, byte
// for byte but for the boundaries (go test ./internal/sesmailer -update
// rewrites them; review the diff).
func TestGolden(t *testing.T) {
	want := map[string]bool{}
	for name, m := range goldenCases() {
		raw, err := BuildMIME(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := withFixedBoundaries(string(raw))
		path := filepath.Join("testdata", "golden", name+".eml")
		want[filepath.Base(path)] = true
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./internal/sesmailer -update writes it)", err)
		}
		if got != string(golden) {
			t.Errorf("%s differs from the golden file (go test ./internal/sesmailer -update, then review the diff):\n got: %q\nwant: %q",
				path, diffAt(got, string(golden)), diffAt(string(golden), got))
		}
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("testdata/golden/%s belongs to no case", e.Name())
		}
	}
}

// diffAt shows a string from a little before where it first differs.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(i-60, 0):min(len(a), i+80)]
}
