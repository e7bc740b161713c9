package billing

// messages is the wording of a payment link's Stripe pages in one language
// (the e-mail's wording lives in internal/emails).
type messages struct {
	ProductName  string // format: invoice number
	InactiveLink string // format: clinic name
	PaidMessage  string // format: clinic name
}

var catalog = map[Language]messages{
	French: {
		ProductName:  "Facture %s",
		InactiveLink: "Ce lien de paiement n'est plus actif. Pour payer votre facture, communiquez avec %s.",
		PaidMessage:  "Merci! Votre paiement a été reçu par %s.",
	},
	English: {
		ProductName:  "Invoice %s",
		InactiveLink: "This payment link is no longer active. To pay your invoice, please contact %s.",
		PaidMessage:  "Thank you! Your payment was received by %s.",
	},
}

func wording(lang Language) messages {
	if m, ok := catalog[lang]; ok {
		return m
	}
	return catalog[French]
}
