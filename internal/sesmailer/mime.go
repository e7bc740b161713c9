package sesmailer

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clinicpay/payments/internal/billing"
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
	// Ref, when set, is written as billing.MailRefHeader for SES's events
	// to name the e-mail by.
	Ref string
	// Attachments, when there are any, make the message multipart/mixed:
	// the alternatives, then each file.
	Attachments []billing.Attachment
}

// errHeaderInjection is returned for a header value with a line break: it
// could add headers (Bcc:) or end the header block.
var errHeaderInjection = errors.New("line break in an e-mail header value")

// errInvalidRef is returned for a Ref outside validRef.
var errInvalidRef = errors.New("invalid mail reference")

// errInvalidFilename and errInvalidContentType are returned for an
// attachment outside validFilename or validContentType.
var (
	errInvalidFilename    = errors.New("invalid attachment file name")
	errInvalidContentType = errors.New("invalid attachment content type")
)

// maxRefLen keeps the reference's header line far under 998 octets.
const maxRefLen = 300

// BuildMIME writes the message as RFC 5322/2045 bytes, ready for SES
// SendRawEmail: multipart/alternative, text first then HTML (clients show the
// last alternative they can render), both UTF-8 quoted-printable; with
// attachments, that inside a multipart/mixed, followed by the files in
// base64. Display names and the subject are RFC 2047 encoded words, folded
// under the 998 octet line limit; addresses must be bare and free of line
// breaks; the reference, file names and content types must be plain ASCII
// ids (they are refused, never escaped).
func BuildMIME(m Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	var buf bytes.Buffer
	writeHeaders(&buf, m)
	altBoundary := boundary()
	if len(m.Attachments) == 0 {
		writeHeader(&buf, "Content-Type", alternativeType(altBoundary))
		buf.WriteString("\r\n")
		if err := writeAlternative(&buf, altBoundary, m.Text, m.HTML); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	if err := writeMixed(&buf, m, altBoundary); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func alternativeType(boundary string) string {
	return `multipart/alternative; boundary="` + boundary + `"`
}

func writeHeader(buf *bytes.Buffer, name, value string) { fmt.Fprintf(buf, "%s: %s\r\n", name, value) }

// writeHeaders writes the message's headers but its Content-Type.
func writeHeaders(buf *bytes.Buffer, m Message) {
	from := "<" + m.From.Address + ">"
	if m.From.Name != "" {
		from = headerText(m.From.Name, plainName) + " " + from
	}
	writeHeader(buf, "From", from)
	writeHeader(buf, "To", m.To)
	if m.ReplyTo != "" {
		writeHeader(buf, "Reply-To", m.ReplyTo)
	}
	writeHeader(buf, "Subject", headerText(m.Subject, plainSubject))
	writeHeader(buf, "Date", m.Date.Format(time.RFC1123Z))
	writeHeader(buf, "MIME-Version", "1.0")
	if m.Language != "" {
		writeHeader(buf, "Content-Language", m.Language)
	}
	if m.Ref != "" {
		writeHeader(buf, billing.MailRefHeader, m.Ref)
	}
}

// writeMixed writes the Content-Type and body of a message with files:
// multipart/mixed, the alternatives first (what clients show as the
// body, with boundary altBoundary), then each file.
func writeMixed(buf *bytes.Buffer, m Message, altBoundary string) error {
	mixed := multipart.NewWriter(buf)
	mixedBoundary := boundary()
	for mixedBoundary == altBoundary {
		mixedBoundary = boundary()
	}
	if err := mixed.SetBoundary(mixedBoundary); err != nil {
		return err
	}
	writeHeader(buf, "Content-Type", `multipart/mixed; boundary="`+mixed.Boundary()+`"`)
	buf.WriteString("\r\n")
	w, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {alternativeType(altBoundary)}})
	if err != nil {
		return err
	}
	if err := writeAlternative(w, altBoundary, m.Text, m.HTML); err != nil {
		return err
	}
	for _, a := range m.Attachments {
		if err := writeAttachment(mixed, a); err != nil {
			return err
		}
	}
	return mixed.Close()
}

// validate refuses what BuildMIME can't write safely; it does not look at
// the bodies or the files' bytes.
func (m Message) validate() error {
	for _, v := range []string{m.From.Name, m.From.Address, m.To, m.ReplyTo, m.Subject, m.Language} {
		if strings.ContainsAny(v, "\r\n") {
			return errHeaderInjection
		}
	}
	for _, a := range []string{m.From.Address, m.To, m.ReplyTo} {
		if a == "" {
			continue
		}
		if parsed, err := mail.ParseAddress(a); err != nil || parsed.Address != a {
			return fmt.Errorf("invalid address %q", a)
		}
	}
	if !validRef(m.Ref) {
		return fmt.Errorf("%w: %.100q", errInvalidRef, m.Ref)
	}
	for i, a := range m.Attachments {
		if !validFilename(a.Filename) {
			return fmt.Errorf("%w: attachment %d: %.100q", errInvalidFilename, i+1, a.Filename)
		}
		if !validContentType(a.ContentType) {
			return fmt.Errorf("%w: attachment %d: %.100q", errInvalidContentType, i+1, a.ContentType)
		}
	}
	return nil
}

// writeAlternative writes the text and HTML alternatives, UTF-8
// quoted-printable, as a multipart/alternative body with boundary b.
func writeAlternative(out io.Writer, b, text, html string) error {
	mw := multipart.NewWriter(out)
	if err := mw.SetBoundary(b); err != nil {
		return err
	}
	for _, part := range []struct{ contentType, body string }{
		{"text/plain; charset=UTF-8", text},
		{"text/html; charset=UTF-8", html},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(toCRLF(part.body))); err != nil {
			return err
		}
		if err := qp.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeAttachment writes a file as a part of mw, base64 in lines of 76
// characters (RFC 2045). Its name and type passed validFilename and
// validContentType, so they are written as they are.
func writeAttachment(mw *multipart.Writer, a billing.Attachment) error {
	w, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {a.ContentType + `; name="` + a.Filename + `"`},
		"Content-Disposition":       {`attachment; filename="` + a.Filename + `"`},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	const lineLen = 76
	enc := base64.StdEncoding.EncodeToString(a.Data)
	for len(enc) > lineLen {
		if _, err := io.WriteString(w, enc[:lineLen]+"\r\n"); err != nil {
			return err
		}
		enc = enc[lineLen:]
	}
	_, err = io.WriteString(w, enc)
	return err
}

// headerText writes text for a header: as it is when plain says it can't be
// misread, else as RFC 2047 base64 encoded words of at most 75 characters,
// one per folded line, so no line nears the 998-octet limit however long a
// clinic's name is. Go's mime encoders leave ASCII text as it is, even text
// that looks like an encoded word ("=?utf-8?q?x?=") and that mail clients
// would then decode into something else.
func headerText(s string, plain func(string) bool) string {
	if plain(s) {
		return s
	}
	const maxBytes = 45 // 60 base64 characters: 72 with "=?utf-8?b?" and "?="
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxBytes {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// plainSubject: printable ASCII, short enough, no edge spaces (parsers trim
// them), nothing like an encoded word.
func plainSubject(s string) bool {
	return len(s) <= 900 && strings.TrimSpace(s) == s && !strings.Contains(s, "=?") && printableASCII(s)
}

// plainName: a display name that needs neither quoting nor encoding. Runs
// of spaces are encoded too: readers fold them into one space in a phrase.
func plainName(s string) bool {
	if len(s) > 200 || strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '-') {
			return false
		}
	}
	return true
}

// validRef: ids and their separators only. The reference is written as it
// is, so anything that could end the header, fold it or be read as encoded
// (a quote, a space, "=?", a byte over 0x7e) is refused, not escaped.
func validRef(s string) bool {
	if len(s) > maxRefLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:/@-", c) >= 0) {
			return false
		}
	}
	return true
}

// validFilename: a plain ASCII file name, 1 to 100 characters, not hidden
// (no leading dot, so not "." or ".." either). It is written quoted as it is
// in two headers, and saved under that name by the reader's client: no
// path, quote, space, encoded word or line break can get through.
func validFilename(s string) bool {
	if len(s) == 0 || len(s) > 100 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validContentType: "type/subtype", lower case, each name 1 to 127 of
// [a-z0-9.+-] starting with a letter or digit (RFC 6838), no parameters.
// multipart and message types are refused: RFC 2045 forbids them base64,
// and a reader would look for parts inside the file.
func validContentType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || typ == "multipart" || typ == "message" {
		return false
	}
	for _, name := range []string{typ, sub} {
		if len(name) == 0 || len(name) > 127 || !isLowerAlnum(name[0]) {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !isLowerAlnum(name[i]) && strings.IndexByte(".+-", name[i]) < 0 {
				return false
			}
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
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
