package billing

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Identifiers come from URLs and tokens; their alphabet keeps them safe as parts
// of DynamoDB keys, Stripe metadata and idempotency keys.

// ValidID reports whether s is a valid invoice or billing-company id.
func ValidID(s string) bool { return len(s) >= 1 && len(s) <= 64 && allOf(s, "_-") }

// allOf reports whether every byte of s is an ASCII letter, a digit or one
// of extra. (Written out rather than a regular expression with a counted
// repetition, which compiles to one instruction per repeat: {1,250} cost
// each function 0.7 ms of its cold start, measured with GODEBUG=inittrace=1.)
func allOf(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

const dateLayout = "2006-01-02"

// hiddenRune reports a character that must never reach an e-mail, a PDF or
// a log from a text field: control characters, line and paragraph
// separators, invisible formatting characters (Unicode category Cf:
// bidirectional controls such as U+202E, which can make "Clinique" read as
// anything in a From line, zero-width spaces and joiners, the BOM), the
// rest of Unicode's Default_Ignorable_Code_Point (what renderers draw as
// nothing: the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, which are
// letters, so a name made of them passes as "not blank"; variation
// selectors, but see hiddenIn), letters drawn blank, and the replacement
// character U+FFFD, which is what broken UTF-8 or a lone surrogate escape
// decodes to.
func hiddenRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) || r == utf8.RuneError ||
		unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) || blankLetter(r)
}

// blankLetter: characters outside Default_Ignorable_Code_Point that fonts
// draw as empty space although they are not spaces (so strings.TrimSpace
// keeps them): the braille pattern blank U+2800 and the musical null
// notehead U+1D159, both used to make names that look empty.
func blankLetter(r rune) bool { return r == '\u2800' || r == '\U0001D159' }

// hiddenIn returns the index of the first hidden character of s (-1 for
// none), allowing the runes of allow. A variation selector (U+FE0F makes
// U+2764 the emoji ❤️) is allowed once, right after a visible character:
// anywhere else it only hides.
func hiddenIn(s, allow string) int {
	afterVisible := false
	for i, r := range s {
		switch {
		case strings.ContainsRune(allow, r):
			afterVisible = false
		case unicode.Is(unicode.Variation_Selector, r):
			if !afterVisible {
				return i
			}
			afterVisible = false
		case hiddenRune(r):
			return i
		default:
			afterVisible = !unicode.IsSpace(r)
		}
	}
	return -1
}

// checkText enforces a length in characters and refuses hidden characters:
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
	if hiddenIn(s, "") >= 0 {
		return Invalid(field, "%s must not contain control, invisible or direction-changing characters", field)
	}
	return nil
}

// checkNote is checkText for free text where line breaks and tabs are
// welcome.
func checkNote(field, s string, max int) *Error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s must be valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return Invalid(field, "%s must have at most %d characters", field, max)
	}
	if hiddenIn(s, "\n\r\t") >= 0 {
		return Invalid(field, "%s must not contain control, invisible or direction-changing characters", field)
	}
	return nil
}

// checkEmail accepts a bare address (no display name, no comments) that SES
// will take, and returns it as it must be sent: SES does not take SMTPUTF8,
// so the local part must be ASCII, and an internationalized domain is
// written in punycode (IDNA 2008, as browsers and mail servers look it up).
func checkEmail(field, s string) (string, *Error) {
	bad := Invalid(field, "%s must be a plain e-mail address such as name@example.com", field)
	if s == "" {
		return "", Invalid(field, "%s is required", field)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, hiddenRune) >= 0 {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return "", bad
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if local[i] >= utf8.RuneSelf {
			return "", Invalid(field, "%s: the part before @ must be ASCII (e-mail servers may refuse anything else)", field)
		}
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", bad
	}
	addr := local + "@" + ascii
	if len(addr) > 254 {
		return "", Invalid(field, "%s must have at most 254 characters", field)
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr || strings.ContainsAny(addr, "\r\n\"() <>,;:\\[]") {
		return "", bad
	}
	return addr, nil
}

// AddressLike reports whether a name has what makes a display name read as
// an e-mail address: @, < or >, or a form of them NFKC folds to them
// (fullwidth and small forms), which mail clients show alike.
func AddressLike(name string) bool {
	return strings.ContainsAny(name, "@<>\uff20\ufe6b\uff1c\ufe64\uff1e\ufe65")
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
