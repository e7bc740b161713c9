package billing

import "testing"

// Letters that render as nothing pass "not blank" and "no control
// character" checks: a patient or a clinic named U+3164 looks empty on the
// invoice and in the From line. They are refused like the invisible
// formatting characters, in names and in free text; a variation selector
// is kept where it belongs, right after what it styles.
func TestLettersThatRenderAsNothingAreRefused(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"Hangul filler", "\u3164", false},
		{"Hangul choseong filler", "\u115f", false},
		{"Hangul jungseong filler", "\u1160", false},
		{"halfwidth Hangul filler", "\uffa0", false},
		{"braille blank", "\u2800", false},
		{"musical null notehead", "\U0001d159", false},
		{"fillers around a name", "\u3164Clinique\u3164", false},
		{"combining grapheme joiner", "Cli\u034fnique", false},
		{"Khmer inherent vowel", "Cli\u17b4nique", false},
		{"Mongolian vowel separator", "Cli\u180enique", false},
		{"a tag character", "Clinique\U000e0041", false},
		{"an ignorable noncharacter", "Clinique\ufff0", false},
		{"a variation selector alone", "\ufe0f", false},
		{"a variation selector after a space", "Clinique \ufe0f", false},
		{"two variation selectors", "\u2764\ufe0f\ufe0f", false},
		{"a heart emoji", "Clinique \u2764\ufe0f", true},
		{"a text-style sign", "Clinique \u260e\ufe0e", true},
		{"Korean syllables", "한국 의원", true},
		{"Inuktitut syllabics", "ᐃᓄᒃᑎᑐᑦ", true},
		{"a no-break space inside", "Clinique\u00a0Saint-Louis", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkText("name", tc.in, 1, 200); (err == nil) != tc.ok {
				t.Errorf("checkText(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err := checkNote("message", "Bonjour,\n"+tc.in, 200); (err == nil) != tc.ok {
				t.Errorf("checkNote(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

// The clinic's name is the From's display name: one that reads as an
// address is refused when saved.
func TestCompanyNameCantLookLikeAnAddress(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Clinique Saint-Louis", true},
		{"Clinique « Les Érables » & fils", true},
		{`"Billing" <admin@bank.example>`, false},
		{"admin@bank.example", false},
		{"Clinique <Saint-Louis>", false},
		{"Billing \uff1cadmin\uff20bank.example\uff1e", false},
		{"admin\ufe6bbank.example", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &CompanyInput{Name: tc.name, ReplyToEmail: "a@clinique.example", DefaultLanguage: French}
			err := in.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("%v, want ok=%v", err, tc.ok)
			}
			if e, _ := err.(*Error); err != nil && (e == nil || e.Field != "name") {
				t.Fatalf("%v: not about the name", err)
			}
		})
	}
}
