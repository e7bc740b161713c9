package billing

import "testing"

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		lang     Language
		want     string
	}{
		{12500, "cad", French, "125,00 $"},
		{12500, "cad", English, "$125.00"},
		{125000, "cad", French, "1 250,00 $"},
		{125000, "cad", English, "$1,250.00"},
		{99999999, "cad", French, "999 999,99 $"},
		{5, "cad", English, "$0.05"},
		{0, "cad", French, "0,00 $"},
		{12500, "usd", French, "125,00 $ US"},
		{12500, "usd", English, "US$125.00"},
		{12500, "eur", French, "125,00 €"},
		{-12500, "cad", English, "-$125.00"},
	}
	for _, tc := range tests {
		if got := FormatMoney(tc.amount, tc.currency, tc.lang); got != tc.want {
			t.Errorf("FormatMoney(%d, %s, %s) = %q, want %q", tc.amount, tc.currency, tc.lang, got, tc.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	tests := []struct {
		lang Language
		in   string
		want string
	}{
		{French, "2026-11-20", "20 novembre 2026"},
		{French, "2026-12-01", "1er décembre 2026"},
		{English, "2026-11-20", "November 20, 2026"},
		{English, "2026-02-01", "February 1, 2026"},
	}
	for _, tc := range tests {
		if got := formatDate(tc.lang, tc.in); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.lang, tc.in, got, tc.want)
		}
	}
}
