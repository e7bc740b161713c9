package sesmailer

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// FuzzBuildMIME: whatever the clinic's name, the subject, the addresses and
// the bodies, a message is either refused or parses back to exactly what was
// given, with no header added (no injection) and both alternatives intact.
func FuzzBuildMIME(f *testing.F) {
	f.Add("Clinique Saint-Louis", "Facture F-1 – Clinique", "marie@example.com", "facturation@clinique.example", "Bonjour", "<p>Bonjour</p>")
	f.Add("Clinique\r\nBcc: x@evil.example", "s", "a@example.com", "", "t", "h")
	f.Add(`"Dr. O'Brien" <x>`, "=?utf-8?q?x?=", "a@example.com", "b@example.com", "line\r\n.\r\n", "")
	f.Add(strings.Repeat("é", 300), strings.Repeat("Ü", 300), "a@example.com", "b@example.com", strings.Repeat("x", 2000), "--boundary")
	f.Fuzz(func(t *testing.T, name, subject, to, replyTo, text, html string) {
		m := Message{
			From: mail.Address{Name: name, Address: "factures@clinicpay.example"}, To: to, ReplyTo: replyTo,
			Subject: subject, Language: "fr", Text: text, HTML: html, Date: time.Unix(1795750000, 0),
		}
		raw, err := BuildMIME(m)
		// Refused only for a reason: a line break in a header's value, or
		// an address that is not one bare address (names, subjects and
		// bodies of any other text are written, encoded as needed).
		bare := func(a string) bool { p, err := mail.ParseAddress(a); return err == nil && p.Address == a }
		mustAccept := !strings.ContainsAny(name+subject+to+replyTo, "\r\n") && bare(to) && (replyTo == "" || bare(replyTo))
		if err != nil {
			if mustAccept {
				t.Fatalf("refused a message it can write: %v", err)
			}
			return
		}
		for _, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 998 {
				t.Fatalf("line of %d octets", len(line))
			}
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("unparseable message: %v", err)
		}
		allowed := map[string]bool{"From": true, "To": true, "Reply-To": true, "Subject": true, "Date": true,
			"Mime-Version": true, "Content-Language": true, "Content-Type": true}
		for k := range msg.Header {
			if !allowed[k] {
				t.Fatalf("header %q was injected", k)
			}
		}
		if msg.Header.Get("To") != to || (replyTo != "" && msg.Header.Get("Reply-To") != replyTo) {
			t.Fatal("addresses changed")
		}
		dec := new(mime.WordDecoder)
		valid := func(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
		if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); valid(subject) && (err != nil || got != subject) {
			t.Fatalf("subject %q became %q (%v)", subject, got, err)
		}
		if from, err := msg.Header.AddressList("From"); valid(name) && (err != nil || len(from) != 1 || from[0].Name != name) {
			t.Fatalf("sender name %q became %v (%v)", name, from, err)
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("bad part: %v", err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, strings.ReplaceAll(string(b), "\r\n", "\n"))
		}
		norm := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") }
		if len(parts) != 2 || parts[0] != norm(text) || parts[1] != norm(html) {
			t.Fatalf("bodies changed: %q", parts)
		}
	})
}

var (
	refSpec         = regexp.MustCompile(`^[A-Za-z0-9_.:/@-]{0,300}$`)
	filenameSpec    = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$`)
	contentTypeSpec = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]{0,126}/[a-z0-9][a-z0-9.+-]{0,126}$`)
)

// FuzzBuildMIMEAttachments: whatever the reference, the file's name, type
// and bytes and the bodies, a message is refused exactly when the brief's
// rules say so, and otherwise parses back to what was given: the reference
// as its one header, the alternatives intact inside multipart/mixed, each
// file with its name and type and its bytes, no header added.
func FuzzBuildMIMEAttachments(f *testing.F) {
	f.Add("co_1/inv_42/key-7/1", "facture-F-2026-0042.pdf", "application/pdf", []byte("%PDF-1.7\n\x00\xff"), "Bonjour", "<p>Bonjour</p>")
	f.Add("co_1\r\nBcc: x@evil.example", "f.pdf", "application/pdf", []byte("x"), "t", "h")
	f.Add("r", "f.pdf\"\r\nContent-Type: text/html", "application/pdf", []byte("x"), "t", "h")
	f.Add("r", "f.pdf", "application/pdf; name=\"x.exe\"", []byte("x"), "t", "h")
	f.Add("r", "reçu.pdf", "text/plaîn", []byte{}, "", "")
	f.Add("", "..", "multipart/mixed", []byte("--clinicpay-"), "--clinicpay-\r\n", "\r\n.\r\n")
	f.Add(strings.Repeat("a", 300), strings.Repeat("b", 100), "application/"+strings.Repeat("x", 127), bytes.Repeat([]byte{0xfe}, 1000), strings.Repeat("x", 2000), "=?utf-8?q?x?=")
	f.Fuzz(func(t *testing.T, ref, filename, contentType string, data []byte, text, html string) {
		m := Message{
			From: mail.Address{Name: "Clinique", Address: "factures@clinicpay.example"}, To: "a@example.com",
			Subject: "Facture", Language: "fr", Text: text, HTML: html, Date: time.Unix(1795750000, 0), Ref: ref,
			Attachments: []billing.Attachment{
				{Filename: filename, ContentType: contentType, Data: data},
				{Filename: "recu.txt", ContentType: "text/plain", Data: data[:len(data)/2]},
			},
		}
		typ, _, _ := strings.Cut(contentType, "/")
		valid := refSpec.MatchString(ref) && filenameSpec.MatchString(filename) &&
			contentTypeSpec.MatchString(contentType) && typ != "multipart" && typ != "message"
		raw, err := BuildMIME(m)
		if err != nil {
			if valid {
				t.Fatalf("refused: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted ref %q, file %q, type %q", ref, filename, contentType)
		}
		for _, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 998 {
				t.Fatalf("line of %d octets", len(line))
			}
		}
		header, bodies, files, err := readMixed(raw)
		if err != nil {
			t.Fatalf("unparseable message: %v", err)
		}
		allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Mime-Version": true,
			"Content-Language": true, "Content-Type": true, billing.MailRefHeader: ref != ""}
		for k, v := range header {
			if !allowed[k] || len(v) != 1 {
				t.Fatalf("header %q was injected (%d)", k, len(v))
			}
		}
		if header.Get(billing.MailRefHeader) != ref {
			t.Fatalf("ref %q became %q", ref, header.Get(billing.MailRefHeader))
		}
		norm := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") }
		if bodies[0] != norm(text) || bodies[1] != norm(html) {
			t.Fatalf("bodies changed: %q", bodies)
		}
		if len(files) != len(m.Attachments) {
			t.Fatalf("%d files", len(files))
		}
		for i, a := range m.Attachments {
			f := files[i]
			disposition, params, err := mime.ParseMediaType(f.header["Content-Disposition"][0])
			if err != nil || disposition != "attachment" || params["filename"] != a.Filename || len(params) != 1 {
				t.Fatalf("file %d: disposition %q (%v)", i+1, f.header["Content-Disposition"], err)
			}
			if f.mediaType != a.ContentType || f.params["name"] != a.Filename || len(f.params) != 1 {
				t.Fatalf("file %d: content type %q", i+1, f.header["Content-Type"])
			}
			if len(f.header) != 3 || !bytes.Equal(f.body, a.Data) {
				t.Fatalf("file %d: header %v, %d bytes for %d", i+1, f.header, len(f.body), len(a.Data))
			}
		}
	})
}
