package billing

import (
	"slices"
	"strings"
)

// AddressInput is a billing company's "address", as PUT sends it: what
// Stripe requires of a Terminal Location in Canada and the US.
type AddressInput struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// The province and state codes a Location may have (Canada Post's and
// USPS's two-letter codes).
var (
	provinces = []string{"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
	usStates  = []string{"AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL",
		"IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM",
		"NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY"}
	// postalAreas: the first letters of each province's postal codes, so a
	// typo in either is caught before Stripe prints it on a receipt.
	postalAreas = map[string]string{"NL": "A", "NS": "B", "PE": "C", "NB": "E", "QC": "GHJ", "ON": "KLMNP",
		"MB": "R", "SK": "S", "AB": "T", "BC": "V", "NT": "X", "NU": "X", "YT": "Y"}
)

// address validates the input and returns the address, normalized: codes
// in capitals, a Canadian postal code as "H2X 1Y4".
func (in *AddressInput) address() (*Address, error) {
	a := &Address{Line1: strings.TrimSpace(in.Line1), Line2: strings.TrimSpace(in.Line2), City: strings.TrimSpace(in.City),
		State: strings.ToUpper(strings.TrimSpace(in.State)), PostalCode: strings.ToUpper(strings.TrimSpace(in.PostalCode)),
		Country: strings.ToUpper(strings.TrimSpace(in.Country))}
	if err := checkText("address.line1", in.Line1, 1, 200); err != nil {
		return nil, err
	}
	if in.Line2 != "" {
		if err := checkText("address.line2", in.Line2, 1, 200); err != nil {
			return nil, err
		}
	}
	if err := checkText("address.city", in.City, 1, 100); err != nil {
		return nil, err
	}
	switch a.Country {
	case "CA":
		if !slices.Contains(provinces, a.State) {
			return nil, Invalid("address.state", "address.state must be a province or territory code (QC, ON, BC…)")
		}
		code, ok := canadianPostalCode(a.PostalCode)
		if !ok {
			return nil, Invalid("address.postalCode", "address.postalCode must be a Canadian postal code (H2X 1Y4)")
		}
		if !strings.ContainsRune(postalAreas[a.State], rune(code[0])) {
			return nil, Invalid("address.postalCode", "address.postalCode %s is not a postal code of %s", code, a.State)
		}
		a.PostalCode = code
	case "US":
		if !slices.Contains(usStates, a.State) {
			return nil, Invalid("address.state", "address.state must be a US state code (NY, VT, DC…)")
		}
		if !zipCode(a.PostalCode) {
			return nil, Invalid("address.postalCode", "address.postalCode must be a ZIP code (12345 or 12345-6789)")
		}
	default:
		return nil, Invalid("address.country", "address.country must be CA or US (Stripe Terminal's countries here)")
	}
	return a, nil
}

// canadianPostalCode reads "A1A 1A1" (with or without its space) and
// returns it with the space. D, F, I, O, Q and U are never used, nor W or Z
// first.
func canadianPostalCode(s string) (string, bool) {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) != 6 {
		return "", false
	}
	for i := 0; i < 6; i++ {
		c := s[i]
		if i%2 == 1 {
			if c < '0' || c > '9' {
				return "", false
			}
			continue
		}
		if c < 'A' || c > 'Z' || strings.IndexByte("DFIOQU", c) >= 0 || (i == 0 && (c == 'W' || c == 'Z')) {
			return "", false
		}
	}
	return s[:3] + " " + s[3:], true
}

// zipCode: 12345 or 12345-6789.
func zipCode(s string) bool {
	if len(s) != 5 && len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 5 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
