package billing

import "testing"

func TestCheckEmail(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"marie@example.com", true},
		{"marie.tremblay+facture@clinique.qc.ca", true},
		{"", false},
		{"marie", false},
		{"marie@localhost", false},
		{"Marie <marie@example.com>", false},
		{"marie@example.com\r\nBcc: x@example.com", false},
		{"a b@example.com", false},
		{"marie@example.com,paul@example.com", false},
	}
	for _, tc := range tests {
		if err := checkEmail("f", tc.in); (err == nil) != tc.ok {
			t.Errorf("checkEmail(%q) = %v, want ok=%v", tc.in, err, tc.ok)
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
		{"Émilie Côté", 10, false},
		{"", 10, false},
		{"   ", 10, false},
		{"a\nb", 10, false},
		{"a\u2028b", 10, false},
		{"a\x00b", 10, false},
		{string([]byte{0xff}), 10, false},
	}
	for _, tc := range tests {
		if err := checkText("f", tc.in, 1, tc.max); (err == nil) != tc.ok {
			t.Errorf("checkText(%q, %d) = %v, want ok=%v", tc.in, tc.max, err, tc.ok)
		}
	}
}
