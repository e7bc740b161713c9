package emails

import (
	"errors"
	"fmt"
	"strings"
)

// Reminder is what a payment reminder shows: the invoice's values (as the
// invoice e-mail, PayURL included when the clinic's policy adds the link)
// and when it is due.
type Reminder struct {
	Invoice      // embedded: Language, Clinic, PatientName, Number, IssuedOn, DueOn, Lines, Total, BalanceDue, NoteLines (unused: reminders carry no note), ReplyTo, PayURL
	Overdue bool // after the due date
	Days    int  // days before the due date (Overdue false) or after it (Overdue true); ≥ 1
}

// reminderMail is the reminder's values, prepared once for both parts: the
// view's values on one line each, its words, and what is made of them.
type reminderMail struct {
	Reminder
	mail
}

var (
	errNoDueDate   = errors.New("emails: a payment reminder needs the invoice's due date")
	errOverdueDays = errors.New("emails: an overdue reminder needs the days since the due date (1 or more)")
)

// ReminderEmail renders a payment reminder: the invoice is due on DueOn, or
// overdue since then (Overdue, Days ago). The subject names the invoice
// number, the due date (before it) and the clinic only. It returns an error
// for a blank due date or an overdue reminder with Days below 1 (the days
// before the due date are not shown), and ErrUnsafePayURL for a payment link
// that is not an https URL, as InvoiceEmail. The clinic's note is not shown.
func ReminderEmail(v Reminder) (Message, error) {
	if strings.TrimSpace(oneLine(v.DueOn)) == "" {
		return Message{}, errNoDueDate
	}
	if v.Overdue && v.Days < 1 {
		return Message{}, errOverdueDays
	}
	if v.PayURL != "" {
		if err := checkPayURL(v.PayURL); err != nil {
			return Message{}, err
		}
	}
	m := reminderMail{Reminder: Reminder{Invoice: invoiceValues(v.Invoice), Overdue: v.Overdue, Days: v.Days}}
	m.NoteLines = nil
	m.Language, m.t = wording(v.Language)
	switch {
	case !m.Overdue:
		m.subject = fmt.Sprintf(m.t.ReminderSubject, m.Number, m.DueOn, m.Clinic)
		m.intro = fmt.Sprintf(m.t.ReminderIntro, m.Number, m.Clinic, m.DueOn)
	case m.Days == 1:
		m.subject = fmt.Sprintf(m.t.OverdueSubject, m.Number, m.Clinic)
		m.intro = fmt.Sprintf(m.t.OverdueOneDay, m.Number, m.Clinic, m.DueOn)
	default:
		m.subject = fmt.Sprintf(m.t.OverdueSubject, m.Number, m.Clinic)
		m.intro = fmt.Sprintf(m.t.OverdueDays, m.Number, m.Clinic, m.DueOn, m.Days)
	}
	m.intro += " " + fmt.Sprintf(m.t.ReminderBalance, m.BalanceDue)
	m.facts = invoiceFacts(m.t, &m.Invoice)
	m.totals = invoiceTotals(m.t, &m.Invoice)

	return m.message(reminderHTML(&m), reminderText(&m))
}

// reminderText is the plain-text part, piece for piece as reminderHTML
// (reminder.templ).
func reminderText(m *reminderMail) string {
	x := m.openText(m.Clinic, m.PatientName, m.Lines)
	x.contact(m.ReplyTo)
	if m.PayURL != "" {
		x.pay(m.PayURL)
	}
	return x.String()
}
