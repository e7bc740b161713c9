package sesmailer

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
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
		if err != nil {
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
