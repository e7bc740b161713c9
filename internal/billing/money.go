package billing

import (
	"sort"
	"strconv"
	"strings"
)

// currencySymbols says how a two-decimal currency is written in each
// language (Canadian usage: "125,00 $" in French, "$125.00" in English).
// Amounts are always integers in minor units; this is only for display.
type currencySymbols struct {
	frSuffix string
	enPrefix string
}

// currencies are the currencies an invoice may be in: the ones a Quebec
// clinic bills in, all with two decimals.
var currencies = map[string]currencySymbols{
	"cad": {frSuffix: "$", enPrefix: "$"},
	"usd": {frSuffix: "$ US", enPrefix: "US$"},
	"eur": {frSuffix: "€", enPrefix: "€"},
	"gbp": {frSuffix: "£", enPrefix: "£"},
}

func supportedCurrencies() string {
	codes := make([]string, 0, len(currencies))
	for c := range currencies {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}

// FormatMoney writes an amount in minor units for a reader of lang:
// FormatMoney(125000, "cad", French) = "1 250,00 $", English = "$1,250.00".
func FormatMoney(amount int64, currency string, lang Language) string {
	sym, ok := currencies[currency]
	if !ok {
		sym = currencySymbols{frSuffix: strings.ToUpper(currency), enPrefix: strings.ToUpper(currency) + " "}
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	units, cents := amount/100, amount%100
	centsText := strconv.FormatInt(cents+100, 10)[1:]
	if lang == French {
		return sign + group(units, " ") + "," + centsText + " " + sym.frSuffix
	}
	return sign + sym.enPrefix + group(units, ",") + "." + centsText
}

// group writes n with a separator every three digits.
func group(n int64, sep string) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}
