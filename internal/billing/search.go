package billing

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Search finds a tenant's invoices by invoice number prefix and by a prefix
// of each word of the patient's name, whatever the case and accents: the
// store indexes SearchKeys and looks up SearchTerms.

// Search limits: a query is short text; an invoice is indexed under a
// bounded number of keys so that rewriting them fits one transaction.
const (
	MaxSearchQuery = 64
	MaxSearchKeys  = 12
)

// foldSearch lower-cases s and removes its accents ("Hélène" → "helene").
func foldSearch(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.ToLower(folded)
}

// searchWords splits folded text into words at spaces; '#' separates too,
// as the store uses it in its keys.
func searchWords(s string) []string {
	return strings.FieldsFunc(foldSearch(s), func(r rune) bool { return unicode.IsSpace(r) || r == '#' })
}

// SearchKeys returns the keys an invoice is found under: its whole number,
// and each word of the patient's name, hyphenated names also by their parts
// ("Jean-Pierre" → "jean-pierre", "jean", "pierre"), at most MaxSearchKeys.
func SearchKeys(number, patientName string) []string {
	keys := searchWords(number)
	if len(keys) > 1 {
		keys = []string{strings.Join(keys, " ")}
	}
	for _, w := range searchWords(patientName) {
		keys = append(keys, w)
		if parts := strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '\'' || r == '’' }); len(parts) > 1 {
			keys = append(keys, parts...)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for i, k := range keys {
		keys[i] = strings.ReplaceAll(k, " ", "_")
	}
	if len(keys) > MaxSearchKeys {
		keys = keys[:MaxSearchKeys]
	}
	return keys
}

// SearchTerms checks a query and returns its words, folded: an invoice
// matches when each word is a prefix of one of its keys.
func SearchTerms(q string) ([]string, error) {
	if utf8.RuneCountInString(q) > MaxSearchQuery || !utf8.ValidString(q) {
		return nil, Invalid("q", "q must be at most %d characters", MaxSearchQuery)
	}
	if strings.ContainsFunc(q, unicode.IsControl) {
		return nil, Invalid("q", "q must not contain control characters")
	}
	terms := searchWords(q)
	if len(terms) == 0 {
		return nil, Invalid("q", "q must contain a word or an invoice number")
	}
	return terms, nil
}

// MatchesSearch reports whether each term is a prefix of one of keys.
func MatchesSearch(terms, keys []string) bool {
	for _, t := range terms {
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, t) }) {
			return false
		}
	}
	return true
}
