package billing

import "testing"

func TestCheckEmail(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when refused
	}{
		{"marie@example.com", "marie@example.com"},
		{"marie.tremblay+facture@clinique.qc.ca", "marie.tremblay+facture@clinique.qc.ca"},
		// An internationalized domain is sent in punycode; SES does not
		// take SMTPUTF8, so a non-ASCII local part is refused.
		{"marie@clinique-é.ca", "marie@xn--clinique--j4a.ca"},
		{"marie@CLINIQUE.CA", "marie@clinique.ca"},
		{"émilie@example.com", ""},
		{"", ""},
		{"marie", ""},
		{"marie@localhost", ""},
		{"Marie <marie@example.com>", ""},
		{"marie@example.com\r\nBcc: x@example.com", ""},
		{"a b@example.com", ""},
		{"marie@example.com,paul@example.com", ""},
		{"marie\u200b@example.com", ""},
		{"marie@exam_ple.com", ""},
	}
	for _, tc := range tests {
		got, err := checkEmail("f", tc.in)
		if (err == nil) != (tc.want != "") || got != tc.want {
			t.Errorf("checkEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		in  string
		max int
		ok  bool
	}{
		{"Clinique Saint-Louis", 200, true},
		{"Émilie Côté", 11, true},
		{"Clinique « Les Érables »", 200, true},
		{"Émilie Côté", 10, false},
		{"", 10, false},
		{"   ", 10, false},
		{"a\nb", 10, false},
		{"a\u2028b", 10, false},
		{"a\x00b", 10, false},
		{string([]byte{0xff}), 10, false},
		// Invisible and direction-changing characters: a right-to-left
		// override makes a From line read backwards.
		{"Clinique\u202eeuqinilC", 200, false},
		{"Clinique\u2066x\u2069", 200, false},
		{"Cli\u200bnique", 200, false},
		{"Cli\ufeffnique", 200, false},
		{"Cli\u00adnique", 200, false},
		{"Clinique\ufffd", 200, false},
	}
	for _, tc := range tests {
		if err := checkText("f", tc.in, 1, tc.max); (err == nil) != tc.ok {
			t.Errorf("checkText(%q, %d) = %v, want ok=%v", tc.in, tc.max, err, tc.ok)
		}
	}
}

func TestCheckNote(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"Merci!\nÀ bientôt.\tDr Côté", true},
		{"paid\u202e", false},
		{"a\x07b", false},
	} {
		if err := checkNote("message", tc.in, 1000); (err == nil) != tc.ok {
			t.Errorf("checkNote(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
