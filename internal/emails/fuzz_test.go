package emails

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzInvoiceEmail: whatever the values, the e-mail is rendered with the
// structure of its twin and every value reads back intact in its own text
// context (checkRendering), or — only for a payment link that is not a
// plain https URL — it is refused. Its seed corpus in
// testdata/fuzz/FuzzInvoiceEmail runs with every go test; it starts with the
// inputs that once told the hand-written renderer apart from html/template.
func FuzzInvoiceEmail(f *testing.F) {
	f.Add("Marie", "Consultation", "note", "https://buy.stripe.com/test_1", "f@clinique.example", true, false)
	f.Add("<b>", "&amp;", "a\nb", "mailto:x@y", "a+b@c.d", false, true)
	f.Add(`"><script>alert(1)</script>`, `' onmouseover='x`, "</p>\r\n<p>", "javascript:alert(1)", `x"@y.z?bcc=a@b.c`, true, true)
	f.Add("F-1\r\nBcc: evil@example.com", "\x00\u2028\xff", "\r\r\n", "https://buy.stripe.com/x?a='1'&b=\"2\"", "a@b.c#x", false, false)
	f.Add("x", "y", "", "data:text/html,<script>alert(1)</script>", "", true, false)
	f.Fuzz(func(t *testing.T, name, desc, note, payURL, replyTo string, due, english bool) {
		v := Invoice{
			Language: French, Clinic: "Clinique " + name, PatientName: name, Number: "F-" + name,
			IssuedOn: desc, Lines: []Line{{desc, name}, {"Rapport", "250,00 $"}}, Total: name, BalanceDue: desc,
			ReplyTo: replyTo, PayURL: payURL,
		}
		if english {
			v.Language = English
		}
		if due {
			v.DueOn = note
		}
		if note != "" {
			v.NoteLines = strings.Split(note, "\n")
		}
		if _, err := InvoiceEmail(v); err != nil {
			if !errors.Is(err, ErrUnsafePayURL) {
				t.Fatal(err)
			}
			if u, err := url.Parse(payURL); err == nil && strings.HasPrefix(payURL, "https://") && u.Host != "" && u.User == nil &&
				!strings.ContainsAny(payURL, " \t\r\n\"<>\\^`{|}") && strings.IndexFunc(payURL, func(r rune) bool { return r > '~' || r < ' ' }) < 0 {
				t.Fatalf("refused a plain https URL %q", payURL)
			}
			v.PayURL = ""
		}
		checkRendering(t, v)
	})
}

// FuzzReceiptEmail: FuzzInvoiceEmail for the payment receipt, which refuses
// nothing: whatever the values, it has its twin's structure (checkReceipt).
func FuzzReceiptEmail(f *testing.F) {
	f.Add("Marie", "Consultation", "Visa •••• 4242", "pi_3QxYzA2eZvKYlo2C0a1b2c3d", "f@clinique.example", true, false)
	f.Add("<b>", "&amp;", "", "", "a+b@c.d", false, true)
	f.Add(`"><script>alert(1)</script>`, `' onmouseover='x`, "</td></tr>\r\n<tr>", "javascript:alert(1)", `x"@y.z?bcc=a@b.c`, true, true)
	f.Add("F-1\r\nBcc: evil@example.com", "\x00\u2028\xff", "\r\r\n", "pi_<1>&'\"", "a@b.c#x", false, false)
	f.Add("x", "", "<!-- x -->", "\u0085", "", true, false)
	f.Fuzz(func(t *testing.T, name, desc, method, reference, replyTo string, lines, english bool) {
		v := Receipt{
			Language: French, Clinic: "Clinique " + name, PatientName: name, Number: "F-" + name,
			AmountPaid: desc, PaidOn: method, Method: method, Total: name, BalanceLeft: desc,
			ReplyTo: replyTo, Reference: reference,
		}
		if english {
			v.Language = English
		}
		if lines {
			v.Lines = []Line{{desc, name}, {"Rapport", "250,00 $"}}
		}
		checkReceipt(t, v)
	})
}

// FuzzReminderEmail: FuzzInvoiceEmail for the payment reminder. It is
// refused only for a blank due date or an unsafe payment link (days is
// kept at 1 or more, as its callers must); otherwise it has its twin's
// structure (checkReminder), the clinic's note never shown.
func FuzzReminderEmail(f *testing.F) {
	f.Add("Marie", "Consultation", "1er décembre 2026", "https://buy.stripe.com/test_1", "f@clinique.example", false, false, uint8(2))
	f.Add("<b>", "&amp;", "a\nb", "mailto:x@y", "a+b@c.d", true, true, uint8(0))
	f.Add(`"><script>alert(1)</script>`, `' onmouseover='x`, "</p>\r\n<p>", "javascript:alert(1)", `x"@y.z?bcc=a@b.c`, true, false, uint8(6))
	f.Add("F-1\r\nBcc: evil@example.com", "\x00\u2028\xff", "\r\r\n", "https://buy.stripe.com/x?a='1'&b=\"2\"", "a@b.c#x", false, true, uint8(255))
	f.Add("x", "y", "", "", "", true, false, uint8(1))
	f.Fuzz(func(t *testing.T, name, desc, due, payURL, replyTo string, overdue, english bool, days uint8) {
		v := Reminder{Invoice: Invoice{
			Language: French, Clinic: "Clinique " + name, PatientName: name, Number: "F-" + name,
			IssuedOn: desc, DueOn: due, Lines: []Line{{desc, name}, {"Rapport", "250,00 $"}}, Total: name, BalanceDue: desc,
			NoteLines: strings.Split(due, "\n"), ReplyTo: replyTo, PayURL: payURL,
		}, Overdue: overdue, Days: int(days) + 1}
		if english {
			v.Language = English
		}
		if strings.TrimSpace(oneLine(due)) == "" {
			if _, err := ReminderEmail(v); err == nil {
				t.Fatalf("a reminder without a due date (%q)", due)
			}
			return
		}
		if _, err := ReminderEmail(v); err != nil {
			if !errors.Is(err, ErrUnsafePayURL) {
				t.Fatal(err)
			}
			if checkPayURL(payURL) == nil {
				t.Fatalf("refused a payment link the invoice accepts: %q", payURL)
			}
			v.PayURL = ""
		}
		checkReminder(t, v)
	})
}
