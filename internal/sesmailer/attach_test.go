package sesmailer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// parsedPart is a part of a message read back with net/mail and
// mime/multipart: its header and its body, decoded.
type parsedPart struct {
	header    map[string][]string
	mediaType string
	params    map[string]string
	body      []byte
}

// readParts reads a multipart body's parts, decoding base64 (multipart
// decodes quoted-printable itself) and checking base64 lines are at most 76
// characters.
func readParts(body io.Reader, boundary string) ([]parsedPart, error) {
	mr := multipart.NewReader(body, boundary)
	var parts []parsedPart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return parts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", len(parts)+1, err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", len(parts)+1, err)
		}
		mediaType, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return nil, fmt.Errorf("part %d: content type: %w", len(parts)+1, err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			for _, line := range strings.Split(string(b), "\r\n") {
				if len(line) > 76 {
					return nil, fmt.Errorf("part %d: base64 line of %d characters", len(parts)+1, len(line))
				}
			}
			if b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", "")); err != nil {
				return nil, fmt.Errorf("part %d: base64: %w", len(parts)+1, err)
			}
		}
		parts = append(parts, parsedPart{header: p.Header, mediaType: mediaType, params: params, body: b})
	}
}

// readMixed reads a message with attachments: its header, its text and HTML
// alternatives (line ends as LF), and the files after them.
func readMixed(raw []byte) (mail.Header, []string, []parsedPart, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, nil, err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" {
		return nil, nil, nil, fmt.Errorf("content type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	parts, err := readParts(msg.Body, params["boundary"])
	if err != nil {
		return nil, nil, nil, err
	}
	if len(parts) == 0 || parts[0].mediaType != "multipart/alternative" {
		return nil, nil, nil, fmt.Errorf("first part is not the alternatives: %d parts", len(parts))
	}
	if params["boundary"] == parts[0].params["boundary"] {
		return nil, nil, nil, errors.New("the same boundary twice")
	}
	alternatives, err := readParts(bytes.NewReader(parts[0].body), parts[0].params["boundary"])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("alternatives: %w", err)
	}
	var bodies []string
	for _, p := range alternatives {
		bodies = append(bodies, strings.ReplaceAll(string(p.body), "\r\n", "\n"))
	}
	if len(bodies) != 2 || alternatives[0].mediaType != "text/plain" || alternatives[1].mediaType != "text/html" {
		return nil, nil, nil, fmt.Errorf("alternatives: %q", bodies)
	}
	return msg.Header, bodies, parts[1:], nil
}

// pdfLike is binary data of every byte value, long enough for many lines.
func pdfLike(n int) []byte {
	b := []byte("%PDF-1.7\n")
	for i := 0; len(b) < n; i++ {
		b = append(b, byte(i*7+i/256))
	}
	return b[:n]
}

func attachmentMessage() Message {
	return Message{
		From:     mail.Address{Name: "Clinique Saint-Louis", Address: "factures@clinicpay.example"},
		To:       "marie@example.com",
		ReplyTo:  "facturation@clinique.example",
		Subject:  "Facture F-2026-0042",
		Language: "fr",
		Text:     "Bonjour Marie,\nVotre facture est jointe.",
		HTML:     "<p>Bonjour Marie,</p><p>Votre facture est jointe.</p>",
		Date:     time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		Ref:      "co_1/inv_42/key-7/1",
		Attachments: []billing.Attachment{
			{Filename: "facture-F-2026-0042.pdf", ContentType: "application/pdf", Data: pdfLike(5000)},
			{Filename: "recu.txt", ContentType: "text/plain", Data: []byte("Reçu\r\n")},
			{Filename: "empty.bin", ContentType: "application/octet-stream"},
		},
	}
}

func TestBuildMIMEAttachments(t *testing.T) {
	m := attachmentMessage()
	raw, err := BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line over 998 octets: %d", len(line))
		}
	}
	header, bodies, files, err := readMixed(raw)
	if err != nil {
		t.Fatal(err)
	}
	if bodies[0] != m.Text || bodies[1] != m.HTML {
		t.Fatalf("alternatives: %q", bodies)
	}
	if header.Get("Mime-Version") != "1.0" || header.Get("To") != m.To || header.Get(billing.MailRefHeader) != m.Ref {
		t.Fatalf("header: %v", header)
	}
	if len(files) != len(m.Attachments) {
		t.Fatalf("%d files", len(files))
	}
	for i, a := range m.Attachments {
		f := files[i]
		if !bytes.Equal(f.body, a.Data) {
			t.Errorf("%s: %d bytes came back, %d sent", a.Filename, len(f.body), len(a.Data))
		}
		if f.mediaType != a.ContentType || f.params["name"] != a.Filename || len(f.params) != 1 {
			t.Errorf("%s: content type %q", a.Filename, f.header["Content-Type"])
		}
		disposition, params, err := mime.ParseMediaType(textprotoGet(f.header, "Content-Disposition"))
		if err != nil || disposition != "attachment" || params["filename"] != a.Filename || len(params) != 1 {
			t.Errorf("%s: disposition %q (%v)", a.Filename, f.header["Content-Disposition"], err)
		}
		if got := f.header["Content-Transfer-Encoding"]; len(got) != 1 || got[0] != "base64" {
			t.Errorf("%s: encoding %q", a.Filename, got)
		}
	}
}

func textprotoGet(h map[string][]string, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// TestBuildMIMEAttachmentLines: base64 in full lines of 76 characters but
// the last, for every length around a line's end.
func TestBuildMIMEAttachmentLines(t *testing.T) {
	for n := 0; n <= 4*57+3; n++ {
		m := attachmentMessage()
		m.Attachments = []billing.Attachment{{Filename: "f.bin", ContentType: "application/octet-stream", Data: pdfLike(n)}}
		raw, err := BuildMIME(m)
		if err != nil {
			t.Fatal(err)
		}
		_, _, files, err := readMixed(raw)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(files[0].body, m.Attachments[0].Data) {
			t.Fatalf("%d bytes: changed", n)
		}
		enc := base64.StdEncoding.EncodeToString(m.Attachments[0].Data)
		var want strings.Builder
		for len(enc) > 76 {
			want.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		want.WriteString(enc + "\r\n--")
		if !strings.Contains(string(raw), "\r\n\r\n"+want.String()) {
			t.Fatalf("%d bytes: base64 not in lines of 76", n)
		}
	}
}

func TestBuildMIMERefusesBadAttachments(t *testing.T) {
	tests := []struct {
		name, filename, contentType string
		want                        error
	}{
		{"empty name", "", "application/pdf", errInvalidFilename},
		{"hidden", ".bashrc", "application/pdf", errInvalidFilename},
		{"dot dot", "..", "application/pdf", errInvalidFilename},
		{"path", "../facture.pdf", "application/pdf", errInvalidFilename},
		{"windows path", `C:\facture.pdf`, "application/pdf", errInvalidFilename},
		{"quote", `facture".pdf`, "application/pdf", errInvalidFilename},
		{"quote closing the parameter", `f.pdf"; x="y`, "application/pdf", errInvalidFilename},
		{"CRLF", "f.pdf\r\nBcc: all@example.com", "application/pdf", errInvalidFilename},
		{"LF", "f.pdf\nX: y", "application/pdf", errInvalidFilename},
		{"space", "ma facture.pdf", "application/pdf", errInvalidFilename},
		{"not ASCII", "reçu.pdf", "application/pdf", errInvalidFilename},
		{"encoded word", "=?utf-8?q?x?=.pdf", "application/pdf", errInvalidFilename},
		{"NUL", "f\x00.pdf", "application/pdf", errInvalidFilename},
		{"too long", strings.Repeat("a", 97) + ".pdf", "application/pdf", errInvalidFilename},
		{"empty type", "f.pdf", "", errInvalidContentType},
		{"no subtype", "f.pdf", "application", errInvalidContentType},
		{"empty subtype", "f.pdf", "application/", errInvalidContentType},
		{"two slashes", "f.pdf", "application/pdf/x", errInvalidContentType},
		{"upper case", "f.pdf", "Application/PDF", errInvalidContentType},
		{"parameter", "f.pdf", "text/plain; charset=utf-8", errInvalidContentType},
		{"parameter without space", "f.pdf", "text/plain;charset=utf-8", errInvalidContentType},
		{"quote", "f.pdf", `application/pdf"`, errInvalidContentType},
		{"CRLF", "f.pdf", "application/pdf\r\nBcc: all@example.com", errInvalidContentType},
		{"LF", "f.pdf", "application/pdf\nX: y", errInvalidContentType},
		{"not ASCII", "f.pdf", "application/pdé", errInvalidContentType},
		{"leading symbol", "f.pdf", "-/pdf", errInvalidContentType},
		{"multipart", "f.pdf", "multipart/mixed", errInvalidContentType},
		{"message", "f.eml", "message/rfc822", errInvalidContentType},
		{"too long", "f.pdf", "application/" + strings.Repeat("x", 128), errInvalidContentType},
	}
	for _, tc := range tests {
		t.Run(tc.name+" "+tc.want.Error(), func(t *testing.T) {
			m := attachmentMessage()
			m.Attachments = append(m.Attachments, billing.Attachment{Filename: tc.filename, ContentType: tc.contentType, Data: []byte("x")})
			if _, err := BuildMIME(m); !errors.Is(err, tc.want) {
				t.Fatalf("got %v", err)
			}
		})
	}
	m := attachmentMessage()
	m.Attachments = []billing.Attachment{
		{Filename: strings.Repeat("a", 96) + ".pdf", ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Data: []byte("x")},
		{Filename: "F-2026_0042.v2.PDF", ContentType: "image/svg+xml", Data: []byte("x")},
	}
	if _, err := BuildMIME(m); err != nil {
		t.Fatalf("plain names and types refused: %v", err)
	}
}
