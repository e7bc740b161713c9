// Package emails renders the e-mails the service sends to patients: for each,
// a subject, a plain-text part and an HTML part, in French or English.
//
//	InvoiceEmail   the invoice, with the Pay button when the clinic adds the link
//	ReceiptEmail   the receipt of a successful online payment
//	ReminderEmail  a reminder of an invoice due soon or overdue, with the Pay button as the invoice's
//
// It is a leaf: it imports nothing from the service. Each e-mail takes a view
// struct whose values are display text already formatted by the caller
// (amounts, dates in the reader's language); the package chooses the
// wording (catalog.go), escapes every value for where it lands and returns a
// Message.
//
// One source per e-mail. The HTML part is a templ component (*.templ,
// compiled by `go tool templ generate` into the committed *_templ.go: plain
// Go with contextual escaping and no reflection at run time, so the Lambda
// binaries stay small). The plain-text part is written by text.go from the
// same prepared values, piece for piece: in Go rather than templ, which
// writes HTML (it would turn "&" into "&amp;" and drop line breaks), or
// text/template, which would bring reflection back. Plain text needs no
// escaping once every value is on one line. Both parts are built from the
// same pieces:
//
//	layout.templ          text.go (methods of text)  what
//	page                  page                        document, title (the subject), the clinic's name
//	greeting              greeting                    "Bonjour <name>," and the e-mail's introduction
//	facts                 facts                       labelled values: number, dates… (a small row: fine print)
//	amounts               amounts                     the lines (if any), then the totals
//	note                  note                        the clinic's message (if any)
//	contact               contact                     where to write with questions
//	payButton / closing   pay / —                     the Pay button and link, or the card's end
//
// To add an e-mail: a view struct and a function
// like InvoiceEmail (invoice.go) that prepares the values, one component in
// a new .templ file that fills page with the pieces above, the same order in
// text, its wording in catalog.go, and its golden cases in golden_test.go
// (go test ./internal/emails -update writes them). A summary without line
// descriptions is the same e-mail with no lines: amounts then shows the
// totals only.
package emails
