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

	"github.com/clinicpay/payments/internal/billing"
)

func TestBuildMIMERoundTrip(t *testing.T) {
	m := Message{
		From:     mail.Address{Name: "Clinique Saint-Louis — Médecine familiale, « soins »", Address: "factures@clinicpay.example"},
		To:       "marie@example.com",
		ReplyTo:  "facturation@clinique.example",
		Subject:  "Facture F-2026-0042 – Clinique Saint-Louis",
		Language: "fr",
		Text:     "Bonjour Marie,\nSolde à payer : 125,00 $\n" + strings.Repeat("long line ", 40),
		HTML:     "<p>Bonjour <b>Marie</b></p>",
		Date:     time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
	}
	raw, err := BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line over 998 octets: %d", len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	if subj, _ := dec.DecodeHeader(msg.Header.Get("Subject")); subj != m.Subject {
		t.Errorf("subject %q", subj)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || from.Name != m.From.Name || from.Address != m.From.Address {
		t.Errorf("from %v %v", from, err)
	}
	if msg.Header.Get("Reply-To") != m.ReplyTo || msg.Header.Get("To") != m.To {
		t.Error("reply-to or to")
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var bodies []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		bodies = append(bodies, strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	if len(bodies) != 2 || bodies[0] != m.Text || bodies[1] != m.HTML {
		t.Fatalf("parts: %q", bodies)
	}
}

func TestBuildMIMERef(t *testing.T) {
	for _, ref := range []string{"co_1/inv_42/key-7/1", "a.b:c@d-e_f/G9", strings.Repeat("x", 300)} {
		raw, err := BuildMIME(Message{From: mail.Address{Address: "f@example.com"}, To: "a@example.com", Subject: "s", Ref: ref})
		if err != nil {
			t.Fatalf("%q: %v", ref, err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Header[billing.MailRefHeader]; len(got) != 1 || got[0] != ref {
			t.Fatalf("%q: header %q", ref, got)
		}
	}
	raw, err := BuildMIME(Message{From: mail.Address{Address: "f@example.com"}, To: "a@example.com", Subject: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(billing.MailRefHeader)) {
		t.Fatal("a header for an empty ref")
	}
}

func TestBuildMIMERefusesHeaderInjection(t *testing.T) {
	base := Message{From: mail.Address{Name: "C", Address: "f@example.com"}, To: "a@example.com", Subject: "s"}
	tests := []struct {
		name string
		edit func(*Message)
	}{
		{"subject", func(m *Message) { m.Subject = "Facture\r\nBcc: all@example.com" }},
		{"display name", func(m *Message) { m.From.Name = "C\nBcc: all@example.com" }},
		{"to", func(m *Message) { m.To = "a@example.com\r\nBcc: all@example.com" }},
		{"reply-to", func(m *Message) { m.ReplyTo = "r@example.com\nX: y" }},
		{"to with a display name", func(m *Message) { m.To = "A <a@example.com>" }},
		{"ref with CRLF", func(m *Message) { m.Ref = "co_1/inv_2\r\nBcc: all@example.com" }},
		{"ref with LF", func(m *Message) { m.Ref = "co_1\nX: y" }},
		{"ref with a bare CR", func(m *Message) { m.Ref = "co_1\rX: y" }},
		{"ref with a space", func(m *Message) { m.Ref = "co_1 inv_2" }},
		{"ref with a quote", func(m *Message) { m.Ref = `co_1"inv` }},
		{"ref with a tab", func(m *Message) { m.Ref = "co_1\tinv" }},
		{"ref as an encoded word", func(m *Message) { m.Ref = "=?utf-8?q?x?=" }},
		{"ref not ASCII", func(m *Message) { m.Ref = "co_1/facturé" }},
		{"ref with a NUL", func(m *Message) { m.Ref = "co_1\x00" }},
		{"ref too long", func(m *Message) { m.Ref = strings.Repeat("a", 301) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			tc.edit(&m)
			if _, err := BuildMIME(m); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
