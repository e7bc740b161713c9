package sesmailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is an e-mail with plain-text and HTML alternatives.
type Message struct {
	From     mail.Address
	To       string
	ReplyTo  string
	Subject  string
	Language string
	Text     string
	HTML     string
	Date     time.Time
}

// errHeaderInjection is returned for a header value with a line break: it
// could add headers (Bcc:) or end the header block.
var errHeaderInjection = errors.New("line break in an e-mail header value")

// BuildMIME writes the message as RFC 5322/2045 bytes, ready for SES
// SendRawEmail: multipart/alternative, text first then HTML (clients show the
// last alternative they can render), both UTF-8 quoted-printable. Display
// names and the subject are RFC 2047 encoded words, folded under the 998
// octet line limit; addresses must be bare and free of line breaks.
func BuildMIME(m Message) ([]byte, error) {
	for _, v := range []string{m.From.Name, m.From.Address, m.To, m.ReplyTo, m.Subject, m.Language} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errHeaderInjection
		}
	}
	for _, a := range []string{m.From.Address, m.To, m.ReplyTo} {
		if a == "" {
			continue
		}
		if parsed, err := mail.ParseAddress(a); err != nil || parsed.Address != a {
			return nil, fmt.Errorf("invalid address %q", a)
		}
	}
	if m.Date.IsZero() {
		m.Date = time.Now()
	}

	var buf bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&buf, "%s: %s\r\n", name, value) }
	header("From", fold(m.From.String()))
	header("To", m.To)
	if m.ReplyTo != "" {
		header("Reply-To", m.ReplyTo)
	}
	header("Subject", fold(mime.QEncoding.Encode("utf-8", m.Subject)))
	header("Date", m.Date.Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	if m.Language != "" {
		header("Content-Language", m.Language)
	}

	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary()); err != nil {
		return nil, err
	}
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ contentType, body string }{
		{"text/plain; charset=UTF-8", m.Text},
		{"text/html; charset=UTF-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(toCRLF(part.body))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fold breaks a header value between RFC 2047 encoded words so no line
// exceeds the 998-octet limit, however long a clinic's name is.
func fold(v string) string {
	return strings.ReplaceAll(v, "?= =?", "?=\r\n =?")
}

func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func boundary() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return "clinicpay-" + hex.EncodeToString(b)
}
