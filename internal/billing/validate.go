package billing

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Identifiers come from URLs and tokens; the pattern keeps them safe as parts
// of DynamoDB keys, Stripe metadata and idempotency keys.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s is a valid invoice or billing-company id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Language is the language an invoice e-mail and the payment page messages
// are written in.
type Language string

// Supported languages.
const (
	French  Language = "fr"
	English Language = "en"
)

// Valid reports whether l is a supported language.
func (l Language) Valid() bool { return l == French || l == English }

const dateLayout = "2006-01-02"

// checkText enforces a length in characters and refuses control characters:
// a CR or LF in a name would otherwise end up in an e-mail header.
func checkText(field, s string, min, max int) *Error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	n := utf8.RuneCountInString(s)
	if n < min {
		if min == 1 {
			return Invalid(field, "%s is required", field)
		}
		return Invalid(field, "%s must have at least %d characters", field, min)
	}
	if n > max {
		return Invalid(field, "%s must have at most %d characters", field, max)
	}
	if strings.TrimSpace(s) == "" {
		return Invalid(field, "%s must not be blank", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Invalid(field, "%s must not contain control characters", field)
		}
	}
	return nil
}

// checkNote is checkText for free text where line breaks are welcome.
func checkNote(field, s string, max int) *Error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(field, "%s must have at most %d characters", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return Invalid(field, "%s must not contain control characters", field)
		}
	}
	return nil
}

// checkEmail accepts a bare address (no display name, no comments) that a
// mail server will take; it also rules out header injection.
func checkEmail(field, s string) *Error {
	if s == "" {
		return Invalid(field, "%s is required", field)
	}
	if len(s) > 254 {
		return Invalid(field, "%s must have at most 254 characters", field)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || strings.ContainsAny(s, "\r\n\"() <>,;:\\[]") {
		return Invalid(field, "%s must be a plain e-mail address such as name@example.com", field)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return Invalid(field, "%s must be a plain e-mail address such as name@example.com", field)
	}
	return nil
}

// parseDate reads a calendar date written YYYY-MM-DD.
func parseDate(field, s string) (time.Time, *Error) {
	if s == "" {
		return time.Time{}, Invalid(field, "%s is required", field)
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil || d.Format(dateLayout) != s {
		return time.Time{}, Invalid(field, "%s must be a date written YYYY-MM-DD", field)
	}
	return d, nil
}
