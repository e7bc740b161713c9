package emails

// Languages an e-mail is written in. Any other value is read as French, the
// clinics' default.
const (
	French  = "fr"
	English = "en"
)

// words is the e-mail wording in one language. The pieces every e-mail
// shares come first, then each e-mail's own.
type words struct {
	Colon       string // French puts a space before a colon
	Greeting    string
	Description string
	Amount      string
	NoteHeading string
	Questions   string
	PayIntro    string
	PayButton   string
	PayFallback string

	// The labels of an invoice's facts and totals.
	InvoiceNumber string
	IssuedOn      string
	DueOn         string
	Total         string
	BalanceDue    string

	// The invoice e-mail.
	InvoiceSubject string // format: invoice number, clinic name
	InvoiceIntro   string // format: invoice number, clinic name

	// The payment receipt.
	ReceiptSubject   string // format: invoice number, clinic name
	ReceiptIntro     string // format: amount paid, invoice number
	PaidOn           string
	PaymentMethod    string
	PaymentReference string
	AmountPaid       string
	BalanceLeft      string

	// The payment reminder.
	ReminderSubject string // format: invoice number, due date, clinic name
	OverdueSubject  string // format: invoice number, clinic name
	ReminderIntro   string // format: invoice number, clinic name, due date
	OverdueOneDay   string // format: invoice number, clinic name, due date
	OverdueDays     string // format: invoice number, clinic name, due date, days (2 or more)
	ReminderBalance string // format: balance due
}

var catalog = map[string]*words{
	French: {
		Colon:       " :",
		Greeting:    "Bonjour",
		Description: "Description",
		Amount:      "Montant",
		NoteHeading: "Message de la clinique",
		Questions:   "Pour toute question, répondez à ce courriel ou écrivez à",
		PayIntro:    "Vous pouvez payer votre facture en ligne, de façon sécurisée, en cliquant sur le bouton ci-dessous. Le paiement en ligne couvre le montant total du solde.",
		PayButton:   "Payer la facture",
		PayFallback: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",

		InvoiceNumber: "Numéro de facture",
		IssuedOn:      "Date de la facture",
		DueOn:         "Date d'échéance",
		Total:         "Total",
		BalanceDue:    "Solde à payer",

		InvoiceSubject: "Facture %s – %s",
		InvoiceIntro:   "Veuillez trouver ci-dessous le détail de votre facture %s de %s.",

		ReceiptSubject:   "Reçu de paiement – Facture %s – %s",
		ReceiptIntro:     "Nous avons bien reçu votre paiement de %s pour la facture %s. Merci!",
		PaidOn:           "Date du paiement",
		PaymentMethod:    "Mode de paiement",
		PaymentReference: "Référence du paiement",
		AmountPaid:       "Montant payé",
		BalanceLeft:      "Solde restant",

		ReminderSubject: "Rappel : facture %s à payer d'ici le %s – %s",
		OverdueSubject:  "Rappel : facture %s en souffrance – %s",
		ReminderIntro:   "Votre facture %s de %s vient à échéance le %s.",
		OverdueOneDay:   "Votre facture %s de %s était due le %s, il y a 1 jour.",
		OverdueDays:     "Votre facture %s de %s était due le %s, il y a %d jours.",
		ReminderBalance: "Le solde à payer est de %s.",
	},
	English: {
		Colon:       ":",
		Greeting:    "Hello",
		Description: "Description",
		Amount:      "Amount",
		NoteHeading: "Message from the clinic",
		Questions:   "If you have any questions, reply to this e-mail or write to",
		PayIntro:    "You can pay your invoice online, securely, by clicking the button below. Online payment covers the full balance due.",
		PayButton:   "Pay Invoice",
		PayFallback: "If the button does not work, copy this link into your browser:",

		InvoiceNumber: "Invoice number",
		IssuedOn:      "Invoice date",
		DueOn:         "Due date",
		Total:         "Total",
		BalanceDue:    "Balance due",

		InvoiceSubject: "Invoice %s from %s",
		InvoiceIntro:   "Please find below the details of your invoice %s from %s.",

		ReceiptSubject:   "Payment receipt – Invoice %s – %s",
		ReceiptIntro:     "We received your payment of %s for invoice %s. Thank you!",
		PaidOn:           "Payment date",
		PaymentMethod:    "Payment method",
		PaymentReference: "Payment reference",
		AmountPaid:       "Amount paid",
		BalanceLeft:      "Balance remaining",

		ReminderSubject: "Reminder: invoice %s due on %s – %s",
		OverdueSubject:  "Reminder: invoice %s is overdue – %s",
		ReminderIntro:   "Your invoice %s from %s is due on %s.",
		OverdueOneDay:   "Your invoice %s from %s was due on %s, 1 day ago.",
		OverdueDays:     "Your invoice %s from %s was due on %s, %d days ago.",
		ReminderBalance: "The balance due is %s.",
	},
}

// wording returns the language an e-mail is written in and its words.
func wording(lang string) (string, *words) {
	if t, ok := catalog[lang]; ok {
		return lang, t
	}
	return French, catalog[French]
}
