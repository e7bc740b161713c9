package billing

import (
	"fmt"
	"strings"
)

// PageText is what a payment link's Stripe pages say, in the patient's
// language: the product's name (the invoice number, nothing else), the
// message of a link no longer active, and the confirmation after paying.
// (The e-mails' wording lives in internal/emails.)
type PageText struct {
	ProductName         string
	InactiveMessage     string
	ConfirmationMessage string
}

// pageWording is the wording of the pages, per language.
// settled is what a link paid through it says once the payment succeeded
// (paid_link.go), to a patient who opens it again.
var pageWording = map[Language]struct{ product, inactive, paid, settled string }{
	French: {
		product:  "Facture %s",
		inactive: "Ce lien de paiement n'est plus actif. Pour payer votre facture, communiquez avec %s.",
		paid:     "Merci! Votre paiement a été reçu par %s.",
		settled:  "Facture payée, merci. Votre paiement a été reçu par %s.",
	},
	English: {
		product:  "Invoice %s",
		inactive: "This payment link is no longer active. To pay your invoice, please contact %s.",
		paid:     "Thank you! Your payment was received by %s.",
		settled:  "Invoice paid, thank you. Your payment was received by %s.",
	},
}

// pageText writes the pages of a link for an invoice of a clinic.
func pageText(lang Language, invoiceNumber, clinic string) PageText {
	w, ok := pageWording[lang]
	if !ok {
		w = pageWording[French]
	}
	return PageText{
		ProductName:         fmt.Sprintf(w.product, invoiceNumber),
		InactiveMessage:     fmt.Sprintf(w.inactive, clinic),
		ConfirmationMessage: fmt.Sprintf(w.paid, clinic),
	}
}

// paidMessage is the message of a link paid through it, in its language.
func paidMessage(lang Language, clinic string) string {
	w, ok := pageWording[lang]
	if !ok {
		w = pageWording[French]
	}
	return fmt.Sprintf(w.settled, clinic)
}

// PageLanguage is the language a link's pages were written in, read from
// the product name this package wrote (make dev's checkout stand-in shows
// Stripe's page in the patient's language, as the patient's browser would).
// ok is false for a name written elsewhere.
func PageLanguage(productName string) (lang Language, ok bool) {
	for l, w := range pageWording {
		if prefix, _, _ := strings.Cut(w.product, "%s"); strings.HasPrefix(productName, prefix) {
			return l, true
		}
	}
	return "", false
}
