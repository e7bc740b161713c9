package billing

import (
	"strings"
	"testing"
)

// TestMethodText: a receipt names a card by its brand and a
// pre-authorized debit by its bank, each with the last four digits and
// never more; what Stripe sends that a receipt may not show leaves the
// method out.
func TestMethodText(t *testing.T) {
	tests := []struct {
		name string
		m    *PaymentMethod
		lang Language
		want string
	}{
		{"a Visa", &PaymentMethod{Type: "card", Brand: "visa", Last4: "4242"}, French, "Visa •••• 4242"},
		{"an unknown brand", &PaymentMethod{Type: "card", Brand: "newcard", Last4: "0005"}, English, "Card •••• 0005"},
		{"a debit, French", &PaymentMethod{Type: "acss_debit", Bank: "TD Canada Trust", Last4: "6789"}, French,
			"Débit préautorisé – TD Canada Trust •••• 6789"},
		{"a debit, English", &PaymentMethod{Type: "acss_debit", Bank: "TD Canada Trust", Last4: "6789"}, English,
			"Pre-authorized debit – TD Canada Trust •••• 6789"},
		{"a debit's brand is no bank", &PaymentMethod{Type: "acss_debit", Brand: "visa", Last4: "6789"}, English, "Pre-authorized debit •••• 6789"},
		{"a bank on one line", &PaymentMethod{Type: "acss_debit", Bank: " Caisse\nDesjardins\x00 ", Last4: "6789"}, French,
			"Débit préautorisé – Caisse Desjardins •••• 6789"},
		{"a bank of no letters", &PaymentMethod{Type: "acss_debit", Bank: "815", Last4: "6789"}, French, "Débit préautorisé •••• 6789"},
		{"more than four digits", &PaymentMethod{Type: "card", Brand: "visa", Last4: "424242"}, French, ""},
		{"not digits", &PaymentMethod{Type: "card", Brand: "visa", Last4: "42a2"}, French, ""},
		{"another method", &PaymentMethod{Type: "us_bank_account", Last4: "6789"}, French, ""},
		{"unknown", nil, French, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := methodText(tc.m, tc.lang); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
	long := &PaymentMethod{Type: "acss_debit", Bank: "Banque " + strings.Repeat("é", 70), Last4: "1"}
	want := "Débit préautorisé – Banque " + strings.Repeat("é", 53) + " •••• 1"
	if got := methodText(long, French); got != want {
		t.Fatalf("%q, want the bank cut at 60 characters", got)
	}
}
