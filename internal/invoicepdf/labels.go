package invoicepdf

// labels is the wording of the PDF in one language. The words match the
// invoice e-mail's (internal/billing/invoice_email.go) where both say the same thing.
type labels struct {
	Title         string // big heading: "Facture" / "Invoice"
	BillTo        string
	InvoiceNumber string
	IssuedOn      string
	DueOn         string
	Description   string
	Amount        string
	Total         string
	AmountPaid    string
	BalanceDue    string
	SummaryNote   string // shown instead of the lines in summary mode
	PayHeading    string
	PayIntro      string
	PayButton     string
	PayFallback   string
	Questions     string // format: the clinic's e-mail address
	Continued     string // format: invoice number; heading of pages 2 and on
	Page          string // format: page number, page count
	PDFLang       string // the document's /Lang, for screen readers
}

var catalog = map[Language]labels{
	French: {
		Title:         "Facture",
		BillTo:        "Facturé à",
		InvoiceNumber: "Numéro de facture",
		IssuedOn:      "Date de la facture",
		DueOn:         "Date d’échéance",
		Description:   "Description",
		Amount:        "Montant",
		Total:         "Total",
		AmountPaid:    "Montant payé",
		BalanceDue:    "Solde à payer",
		SummaryNote:   "Le détail des services n’est pas inclus dans ce document. Pour l’obtenir, communiquez avec la clinique.",
		PayHeading:    "Paiement en ligne",
		PayIntro:      "Vous pouvez payer votre facture en ligne, de façon sécurisée. Le paiement en ligne couvre le montant total du solde.",
		PayButton:     "Payer la facture",
		PayFallback:   "Ou copiez ce lien dans votre navigateur\u00a0:",
		Questions:     "Pour toute question, écrivez à %s",
		Continued:     "Facture %s (suite)",
		Page:          "Page %d de %d",
		PDFLang:       "fr-CA",
	},
	English: {
		Title:         "Invoice",
		BillTo:        "Bill to",
		InvoiceNumber: "Invoice number",
		IssuedOn:      "Invoice date",
		DueOn:         "Due date",
		Description:   "Description",
		Amount:        "Amount",
		Total:         "Total",
		AmountPaid:    "Amount paid",
		BalanceDue:    "Balance due",
		SummaryNote:   "Service details are not included in this document. To obtain them, please contact the clinic.",
		PayHeading:    "Pay online",
		PayIntro:      "You can pay your invoice online, securely. Online payment covers the full balance due.",
		PayButton:     "Pay Invoice",
		PayFallback:   "Or copy this link into your browser:",
		Questions:     "If you have any questions, write to %s",
		Continued:     "Invoice %s (continued)",
		Page:          "Page %d of %d",
		PDFLang:       "en-CA",
	},
}
