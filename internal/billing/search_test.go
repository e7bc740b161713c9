package billing

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSearchKeys(t *testing.T) {
	for _, tc := range []struct {
		number, name string
		want         []string
	}{
		{"F-2026-001", "Hélène Tremblay", []string{"f-2026-001", "helene", "tremblay"}},
		{"A 12", "Jean-Pierre CÔTÉ", []string{"a_12", "cote", "jean", "jean-pierre", "pierre"}},
		{"#7", "O'Neil  #x", []string{"7", "neil", "o", "o'neil", "x"}},
		{"N", strings.Repeat("mot ", 5) + "a b c d e f g h i j k l m", nil},
	} {
		got := SearchKeys(tc.number, tc.name)
		if tc.want == nil {
			if len(got) != MaxSearchKeys {
				t.Errorf("%q: %d keys, want at most %d", tc.name, len(got), MaxSearchKeys)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("SearchKeys(%q, %q) = %v, want %v", tc.number, tc.name, got, tc.want)
		}
	}
}

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []string
		bad  bool
	}{
		{q: "Hélène", want: []string{"helene"}},
		{q: " HEL  trem ", want: []string{"hel", "trem"}},
		{q: "   ", bad: true},
		{q: "a\tb", bad: true},
		{q: "a\x00", bad: true},
		{q: strings.Repeat("é", 64), want: []string{strings.Repeat("e", 64)}},
		{q: strings.Repeat("é", 65), bad: true},
		{q: "\xff", bad: true},
	} {
		got, err := SearchTerms(tc.q)
		var e *Error
		if tc.bad {
			if !errors.As(err, &e) || e.Field != "q" || e.Code != CodeInvalidRequest {
				t.Errorf("SearchTerms(%q): %v, want invalid q", tc.q, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SearchTerms(%q) = %v, %v, want %v", tc.q, got, err, tc.want)
		}
	}
	if !MatchesSearch([]string{"hel", "trem"}, []string{"helene", "tremblay"}) || MatchesSearch([]string{"hel", "x"}, []string{"helene"}) {
		t.Error("MatchesSearch: each term must prefix a key")
	}
}
