package emails

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
)

// Message is a rendered e-mail: its subject and both alternatives.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// Line is a line of an invoice: what was billed and its amount, formatted.
type Line struct {
	Description string
	Amount      string
}

// ErrUnsafePayURL is returned for a payment link that is not a plain https
// URL: the Pay button must never run a script (javascript:, data:) nor
// carry anything but the link. The one exception is plain http to this
// machine's own loopback name (make dev's local checkout, standing in for
// Stripe's page): such a link leads nowhere on any other machine, and
// Stripe's links are always https.
var ErrUnsafePayURL = errors.New("emails: the payment link must be an https URL")

// row is a label and its value: a fact about the invoice or a total. A
// small row is fine print (a payment's reference): facts shows it in smaller
// type; the text part writes it as any other.
type row struct {
	label, value string
	small        bool
}

// oneLine makes a value safe to show on one line, in the text part and in a
// header such as the subject: invalid UTF-8 and NUL become U+FFFD (as
// html/template did), line breaks and other control characters a space, so
// no value can start a header, forge a line of the text part or be
// altered by an HTML parser. Tabs stay.
func oneLine(s string) string {
	clean := func(s string) bool {
		for _, r := range s {
			if r == utf8.RuneError || (r != '\t' && isBreak(r)) {
				return false
			}
		}
		return true
	}
	if clean(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == 0:
			b.WriteRune('\uFFFD')
		case r != '\t' && isBreak(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isBreak reports a control character or a Unicode line or paragraph
// separator.
func isBreak(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// oneLines is oneLine for each value.
func oneLines(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = oneLine(s)
	}
	return out
}

// oneLineItems is oneLine for each line's description and amount.
func oneLineItems(lines []Line) []Line {
	var out []Line
	for _, l := range lines {
		out = append(out, Line{Description: oneLine(l.Description), Amount: oneLine(l.Amount)})
	}
	return out
}

// checkPayURL accepts an absolute https URL with a host, no user info, and
// only the characters RFC 3986 allows: what Stripe's links are.
func checkPayURL(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0) {
			return ErrUnsafePayURL
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return ErrUnsafePayURL
	}
	switch {
	case strings.HasPrefix(s, "https://"):
		return nil
	case strings.HasPrefix(s, "http://") && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"):
		return nil
	}
	return ErrUnsafePayURL
}

// mailto is the href of a link to an address. Everything but unreserved
// characters and the few delimiters an address-only mailto URL may hold is
// percent-encoded (RFC 6068), so an address can't add a recipient, a
// subject or a body (",", "?", "&", "=", "#").
func mailto(addr string) templ.SafeURL {
	var b strings.Builder
	b.WriteString("mailto:")
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$'*+@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return templ.SafeURL(b.String())
}

// mail is what an e-mail's templates read beside its values: the
// wording of its language and what the e-mail computes from its values.
type mail struct {
	t       *words
	subject string
	intro   string
	facts   []row
	totals  []row
}

// message is the e-mail, page rendered as its HTML part beside its text.
func (m *mail) message(page templ.Component, text string) (Message, error) {
	html, err := renderHTML(page)
	if err != nil {
		return Message{}, err
	}
	return Message{Subject: m.subject, Text: text, HTML: html}, nil
}

// openText starts the plain-text part as every e-mail starts: the
// clinic, the greeting, the facts and the amounts.
func (m *mail) openText(clinic, patient string, lines []Line) *text {
	x := &text{t: m.t}
	x.page(clinic)
	x.greeting(patient, m.intro)
	x.facts(m.facts)
	x.amounts(lines, m.totals)
	return x
}

// renderHTML runs a component into a string.
func renderHTML(c templ.Component) (string, error) {
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		return "", err
	}
	return b.String(), nil
}
