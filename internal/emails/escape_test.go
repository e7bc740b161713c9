package emails

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"
)

// payloads try to leave the context a value is placed in.
var payloads = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' onmouseover='alert(1)' x='`,
	`</title><script>alert(1)</script>`,
	`</td></tr></table><a href="javascript:alert(1)">x</a>`,
	`<!-- x --> <![CDATA[ y ]]>`,
	`&lt;b&gt; &amp; &#34; &#x3c;`,
	"Clinique\r\nBcc: evil@example.com",
	"a\x00b\u2028c\u0085d\x7fe\tf",
	"\xff\xfe invalid UTF-8",
	`javascript:alert(1)`,
}

// TestHostileValues puts each payload in each field in turn: the e-mail
// keeps its structure and shows the value as text, where it belongs.
func TestHostileValues(t *testing.T) {
	fields := map[string]func(v *Invoice, s string){
		"clinic":      func(v *Invoice, s string) { v.Clinic = s },
		"patient":     func(v *Invoice, s string) { v.PatientName = s },
		"number":      func(v *Invoice, s string) { v.Number = s },
		"issuedOn":    func(v *Invoice, s string) { v.IssuedOn = s },
		"dueOn":       func(v *Invoice, s string) { v.DueOn = s },
		"description": func(v *Invoice, s string) { v.Lines[1].Description = s },
		"amount":      func(v *Invoice, s string) { v.Lines[0].Amount = s },
		"total":       func(v *Invoice, s string) { v.Total = s },
		"balanceDue":  func(v *Invoice, s string) { v.BalanceDue = s },
		"note":        func(v *Invoice, s string) { v.NoteLines = []string{s, "", s} },
		"replyTo":     func(v *Invoice, s string) { v.ReplyTo = s },
	}
	for field, set := range fields {
		for i, p := range payloads {
			for _, lang := range []string{French, English} {
				t.Run(field+"/"+strconv.Itoa(i)+"/"+lang, func(t *testing.T) {
					v := sample(lang)
					set(&v, p)
					checkInert(t, checkRendering(t, v))
				})
			}
		}
	}
}

// TestHostileReceipt: TestHostileValues for the payment receipt.
func TestHostileReceipt(t *testing.T) {
	fields := map[string]func(v *Receipt, s string){
		"clinic":      func(v *Receipt, s string) { v.Clinic = s },
		"patient":     func(v *Receipt, s string) { v.PatientName = s },
		"number":      func(v *Receipt, s string) { v.Number = s },
		"amountPaid":  func(v *Receipt, s string) { v.AmountPaid = s },
		"paidOn":      func(v *Receipt, s string) { v.PaidOn = s },
		"method":      func(v *Receipt, s string) { v.Method = s },
		"total":       func(v *Receipt, s string) { v.Total = s },
		"balanceLeft": func(v *Receipt, s string) { v.BalanceLeft = s },
		"description": func(v *Receipt, s string) { v.Lines[1].Description = s },
		"amount":      func(v *Receipt, s string) { v.Lines[0].Amount = s },
		"replyTo":     func(v *Receipt, s string) { v.ReplyTo = s },
		"reference":   func(v *Receipt, s string) { v.Reference = s },
	}
	for field, set := range fields {
		for i, p := range payloads {
			for _, lang := range []string{French, English} {
				t.Run(field+"/"+strconv.Itoa(i)+"/"+lang, func(t *testing.T) {
					v := sampleReceipt(lang)
					set(&v, p)
					checkInert(t, checkReceipt(t, v))
				})
			}
		}
	}
}

// TestHostileReminder: TestHostileValues for the payment reminder, before
// the due date and overdue.
func TestHostileReminder(t *testing.T) {
	fields := map[string]func(v *Reminder, s string){
		"clinic":      func(v *Reminder, s string) { v.Clinic = s },
		"patient":     func(v *Reminder, s string) { v.PatientName = s },
		"number":      func(v *Reminder, s string) { v.Number = s },
		"issuedOn":    func(v *Reminder, s string) { v.IssuedOn = s },
		"dueOn":       func(v *Reminder, s string) { v.DueOn = s },
		"description": func(v *Reminder, s string) { v.Lines[1].Description = s },
		"amount":      func(v *Reminder, s string) { v.Lines[0].Amount = s },
		"total":       func(v *Reminder, s string) { v.Total = s },
		"balanceDue":  func(v *Reminder, s string) { v.BalanceDue = s },
		"note":        func(v *Reminder, s string) { v.NoteLines = []string{s, "", s} },
		"replyTo":     func(v *Reminder, s string) { v.ReplyTo = s },
	}
	for field, set := range fields {
		for i, p := range payloads {
			for _, lang := range []string{French, English} {
				for _, overdue := range []bool{false, true} {
					t.Run(field+"/"+strconv.Itoa(i)+"/"+lang+"/"+strconv.FormatBool(overdue), func(t *testing.T) {
						v := Reminder{Invoice: sample(lang), Overdue: overdue, Days: 2}
						set(&v, p)
						checkInert(t, checkReminder(t, v))
					})
				}
			}
		}
	}
}

// checkInert fails if an e-mail's HTML holds a script, an image, a comment,
// an event handler or a link other than https or mailto.
func checkInert(t *testing.T, m Message) {
	t.Helper()
	doc, _ := html.Parse(strings.NewReader(m.HTML))
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "img") {
			t.Fatalf("a %s element got in", n.Data)
		}
		if n.Type == html.CommentNode {
			t.Fatal("a comment got in")
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || (a.Key == "href" && !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "mailto:")) {
				t.Fatalf("attribute %s=%q got in", a.Key, a.Val)
			}
		}
	}
}

// TestPayURL: the Pay button only ever carries an https URL, or plain http
// to this machine's loopback name (make dev's local checkout); anything else
// is refused, not rendered.
func TestPayURL(t *testing.T) {
	accepted := []string{
		"https://buy.stripe.com/test_8wM5kA2b3cde",
		"https://buy.stripe.com/test_1?a=1&b='x'#top",
		"https://buy.stripe.com/%41%42",
		"http://localhost:3001/pay/plink_1", "http://127.0.0.1:3001/pay/plink_1", "http://localhost/pay/plink_1",
	}
	refused := []string{
		"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
		"jav&#x09;ascript:alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
		"vbscript:msgbox(1)", "http://buy.stripe.com/test_1", "HTTPS://buy.stripe.com/test_1",
		"//evil.example/x", "/relative", "https:evil.example", "https://", "https:///path",
		"https://buy.stripe.com@evil.example/x", "https://buy.stripe.com/x\" onmouseover=\"alert(1)",
		"https://buy.stripe.com/<script>", "https://buy.stripe.com/x y", "https://buy.stripe.com/x\r\nBcc: a@b.c",
		"https://buy.stripe.com/é", "https://buy.stripe.com/%zz",
		"http://localhost.evil.example/pay", "http://localhost@evil.example/pay", "http://evil.example/?localhost",
		"http://127.0.0.2/pay", "http://[::1]:3001/pay", "http://127.0.0.1.nip.io/pay", "http:///localhost",
	}
	for _, u := range accepted {
		v := sample(French)
		v.PayURL = u
		m := checkRendering(t, v)
		if !strings.Contains(m.Text, "Payer la facture : "+u+"\n") {
			t.Errorf("%q: the text part lacks the link", u)
		}
	}
	for _, u := range refused {
		v := sample(English)
		v.PayURL = u
		m, err := InvoiceEmail(v)
		if !errors.Is(err, ErrUnsafePayURL) || m != (Message{}) {
			t.Errorf("%q: got %v, want ErrUnsafePayURL and no e-mail", u, err)
		}
	}
}

// TestSubjectIsOneLine: nothing that reaches the Subject header can break
// it into two headers.
func TestSubjectIsOneLine(t *testing.T) {
	v := sample(French)
	v.Number, v.Clinic = "F-1\r\nBcc: evil@example.com", "Clinique\nX-Evil: 1\u2028\u0085"
	m := checkRendering(t, v)
	if m.Subject != "Facture F-1  Bcc: evil@example.com – Clinique X-Evil: 1  " {
		t.Fatalf("subject %q", m.Subject)
	}
}

// TestReceiptSubject: the receipt's subject names the invoice and the
// clinic only, on one line whatever they hold.
func TestReceiptSubject(t *testing.T) {
	v := sampleReceipt(French)
	m := checkReceipt(t, v)
	if m.Subject != "Reçu de paiement – Facture F-2026-0042 – Clinique Saint-Louis" {
		t.Fatalf("subject %q", m.Subject)
	}
	v.Number, v.Clinic = "F-1\r\nBcc: evil@example.com", "Clinique\nX-Evil: 1\u2028\u0085"
	m = checkReceipt(t, v)
	if m.Subject != "Reçu de paiement – Facture F-1  Bcc: evil@example.com – Clinique X-Evil: 1  " {
		t.Fatalf("subject %q", m.Subject)
	}
	v = sampleReceipt(English)
	if m = checkReceipt(t, v); m.Subject != "Payment receipt – Invoice F-2026-0042 – Clinique Saint-Louis" {
		t.Fatalf("subject %q", m.Subject)
	}
}

// TestReminderSubject: the reminder's subject names the invoice, the due
// date before it and the clinic only, on one line whatever they hold.
func TestReminderSubject(t *testing.T) {
	for _, c := range []struct {
		lang    string
		overdue bool
		want    string
	}{
		{French, false, "Rappel : facture F-2026-0042 à payer d'ici le 1er décembre 2026 – Clinique Saint-Louis"},
		{French, true, "Rappel : facture F-2026-0042 en souffrance – Clinique Saint-Louis"},
		{English, false, "Reminder: invoice F-2026-0042 due on December 1, 2026 – Clinique Saint-Louis"},
		{English, true, "Reminder: invoice F-2026-0042 is overdue – Clinique Saint-Louis"},
	} {
		v := Reminder{Invoice: sample(c.lang), Overdue: c.overdue, Days: 3}
		if m := checkReminder(t, v); m.Subject != c.want {
			t.Errorf("subject %q, want %q", m.Subject, c.want)
		}
	}
	v := Reminder{Invoice: sample(French), Days: 3}
	v.Number, v.DueOn, v.Clinic = "F-1\r\nBcc: evil@example.com", "1er\rdécembre\n", "Clinique\nX-Evil: 1\u2028\u0085"
	if m := checkReminder(t, v); m.Subject != "Rappel : facture F-1  Bcc: evil@example.com à payer d'ici le 1er décembre  – Clinique X-Evil: 1  " {
		t.Fatalf("subject %q", m.Subject)
	}
	v.Overdue = true
	if m := checkReminder(t, v); m.Subject != "Rappel : facture F-1  Bcc: evil@example.com en souffrance – Clinique X-Evil: 1  " {
		t.Fatalf("subject %q", m.Subject)
	}
}

// TestReminderRefuses: a reminder needs a due date, an overdue one its days
// (1 or more), and its payment link is held to the invoice's rule; the days
// before the due date are not shown, so none are needed there.
func TestReminderRefuses(t *testing.T) {
	for _, v := range []Reminder{
		{Invoice: Invoice{DueOn: ""}, Days: 3},
		{Invoice: Invoice{DueOn: " \r\n\u00a0"}, Overdue: true, Days: 3},
		{Invoice: Invoice{DueOn: "1er décembre 2026"}, Overdue: true, Days: 0},
		{Invoice: Invoice{DueOn: "1er décembre 2026"}, Overdue: true, Days: -2},
	} {
		inv := sample(French)
		inv.DueOn = v.DueOn
		v.Invoice = inv
		if m, err := ReminderEmail(v); err == nil || errors.Is(err, ErrUnsafePayURL) || m != (Message{}) {
			t.Errorf("due %q, overdue %v, %d days: got %v", v.DueOn, v.Overdue, v.Days, err)
		}
	}
	checkReminder(t, Reminder{Invoice: sample(English), Days: 0})
	for _, u := range []string{"javascript:alert(1)", "http://buy.stripe.com/test_1", "https://buy.stripe.com/x\" onmouseover=\"alert(1)"} {
		v := Reminder{Invoice: sample(English), Overdue: true, Days: 3}
		v.PayURL = u
		if m, err := ReminderEmail(v); !errors.Is(err, ErrUnsafePayURL) || m != (Message{}) {
			t.Errorf("%q: got %v, want ErrUnsafePayURL and no e-mail", u, err)
		}
	}
	v := Reminder{Invoice: sample(French), Days: 3}
	v.PayURL = "http://localhost:3001/pay/plink_1"
	if m := checkReminder(t, v); !strings.Contains(m.Text, "Payer la facture : "+v.PayURL+"\n") {
		t.Errorf("the text part lacks the link")
	}
}

// TestLanguage: English on demand, French for anything else, in every
// e-mail.
func TestLanguage(t *testing.T) {
	for lang, want := range map[string]string{English: "Pay Invoice", French: "Payer la facture", "": "Payer la facture", "de": "Payer la facture", `"><x`: "Payer la facture"} {
		v := sample(French)
		v.Language = lang
		m := checkRendering(t, v)
		if !strings.Contains(m.HTML, ">"+want+"</a>") || !strings.Contains(m.Text, want) {
			t.Errorf("language %q: no %q", lang, want)
		}
		wantLang := map[bool]string{true: English, false: French}[lang == English]
		r := sampleReceipt(French)
		r.Language = lang
		receipt, reminder := checkReceipt(t, r), checkReminder(t, Reminder{Invoice: v, Overdue: true, Days: 2})
		for _, m := range []Message{m, receipt, reminder} {
			if !strings.HasPrefix(m.HTML, `<!doctype html><html lang="`+wantLang+`">`) {
				t.Errorf("language %q: %.60s", lang, m.HTML)
			}
		}
		if want := map[string]string{French: "Merci!", English: "Thank you!"}[wantLang]; !strings.Contains(receipt.Text, want) {
			t.Errorf("language %q: the receipt lacks %q", lang, want)
		}
		if want := map[string]string{French: "il y a 2 jours.", English: "2 days ago."}[wantLang]; !strings.Contains(reminder.Text, want) {
			t.Errorf("language %q: the reminder lacks %q", lang, want)
		}
	}
}

// checkRendering renders v and holds the result to its twin: the same
// e-mail (same language, as many lines and note lines, the same optional
// parts) rendered with a placeholder for every value (checkTwin).
func checkRendering(t *testing.T, v Invoice) Message {
	t.Helper()
	m, err := InvoiceEmail(v)
	if err != nil {
		t.Fatal(err)
	}
	tw, values := twin(v)
	want, err := InvoiceEmail(tw)
	if err != nil {
		t.Fatal(err)
	}
	checkTwin(t, m, want, values, v.PayURL, v.ReplyTo)
	return m
}

// checkReceipt is checkRendering for the payment receipt, which has no Pay
// button.
func checkReceipt(t *testing.T, v Receipt) Message {
	t.Helper()
	m, err := ReceiptEmail(v)
	if err != nil {
		t.Fatal(err)
	}
	var p placeholders
	tw := Receipt{
		Language: v.Language, Clinic: p.of(v.Clinic), PatientName: p.of(v.PatientName), Number: p.of(v.Number),
		AmountPaid: p.of(v.AmountPaid), PaidOn: p.of(v.PaidOn), Method: p.opt(v.Method), Total: p.of(v.Total),
		BalanceLeft: p.of(v.BalanceLeft), Lines: p.lines(v.Lines), ReplyTo: p.of(v.ReplyTo), Reference: p.opt(v.Reference),
	}
	want, err := ReceiptEmail(tw)
	if err != nil {
		t.Fatal(err)
	}
	checkTwin(t, m, want, p.values, "", v.ReplyTo)
	return m
}

// checkReminder is checkRendering for the payment reminder; the twin has
// no note, since the reminder shows none.
func checkReminder(t *testing.T, v Reminder) Message {
	t.Helper()
	m, err := ReminderEmail(v)
	if err != nil {
		t.Fatal(err)
	}
	inv, values := twin(v.Invoice)
	inv.NoteLines = nil
	want, err := ReminderEmail(Reminder{Invoice: inv, Overdue: v.Overdue, Days: v.Days})
	if err != nil {
		t.Fatal(err)
	}
	checkTwin(t, m, want, values, v.PayURL, v.ReplyTo)
	return m
}

// checkTwin holds an e-mail m to want, its twin rendered with placeholders
// that values (placeholder, value as shown) replace. The parsed HTML must
// have the twin's structure with each value read back exactly where its
// placeholder was (so no value left its text or attribute context); the Pay
// button's href must be payURL (no Pay button when it is ""), the reply-to
// link a mailto URL that decodes to replyTo and holds nothing else; the
// subject and the text part must be the twin's with the values in place,
// the subject on one line.
func checkTwin(t *testing.T, m, want Message, values []string, payURL, replyTo string) {
	t.Helper()
	r := strings.NewReplacer(values...)
	var structure []string
	for _, e := range events(t, want.HTML) {
		if e = r.Replace(e); e != "#" { // an empty value makes no text node
			structure = append(structure, e)
		}
	}
	if got := events(t, m.HTML); !slices.Equal(got, structure) {
		i := 0
		for i < min(len(got), len(structure)) && got[i] == structure[i] {
			i++
		}
		t.Fatalf("the HTML does not read back as its twin, from event %d:\n got: %q\nwant: %q",
			i, got[i:min(len(got), i+5)], structure[i:min(len(structure), i+5)])
	}
	if m.Text != r.Replace(want.Text) {
		t.Fatalf("text part:\n got: %q\nwant: %q", m.Text, r.Replace(want.Text))
	}
	if m.Subject != r.Replace(want.Subject) || strings.IndexFunc(m.Subject, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) >= 0 {
		t.Fatalf("subject %q", m.Subject)
	}
	var hrefs []string
	doc, _ := html.Parse(strings.NewReader(m.HTML))
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if a.Key == "href" {
				hrefs = append(hrefs, a.Val)
			}
		}
	}
	if payURL != "" && (len(hrefs) != 2 || hrefs[1] != payURL || checkPayURL(hrefs[1]) != nil) ||
		payURL == "" && len(hrefs) != 1 {
		t.Fatalf("links %q for pay URL %q", hrefs, payURL)
	}
	addr, ok := strings.CutPrefix(hrefs[0], "mailto:")
	decoded, err := url.PathUnescape(addr)
	if !ok || err != nil || decoded != oneLine(replyTo) || strings.ContainsAny(addr, "?#&=,;:/ ") {
		t.Fatalf("reply-to link %q for %q", hrefs[0], replyTo)
	}
}

// twin returns v with a placeholder for every value, and the replacements
// (placeholder, value as shown) that turn the twin's rendering into v's.
func twin(v Invoice) (Invoice, []string) {
	var p placeholders
	tw := Invoice{
		Language: v.Language, Clinic: p.of(v.Clinic), PatientName: p.of(v.PatientName), Number: p.of(v.Number),
		IssuedOn: p.of(v.IssuedOn), DueOn: p.opt(v.DueOn), Total: p.of(v.Total), BalanceDue: p.of(v.BalanceDue),
		ReplyTo: p.of(v.ReplyTo), Lines: p.lines(v.Lines),
	}
	for _, l := range v.NoteLines {
		tw.NoteLines = append(tw.NoteLines, p.of(l))
	}
	if v.PayURL != "" {
		tw.PayURL = "https://twin.example/pay"
		p.values = append(p.values, tw.PayURL, v.PayURL)
	}
	return tw, p.values
}

// placeholders makes a twin's values: a placeholder for each value, and the
// replacements (placeholder, value as shown) in values.
type placeholders struct{ values []string }

// of is a placeholder for s.
func (p *placeholders) of(s string) string {
	ph := "\uE000" + strconv.Itoa(len(p.values)/2) + "\uE001"
	p.values = append(p.values, ph, oneLine(s))
	return ph
}

// opt is a placeholder for s, or "" (the part left out) for "".
func (p *placeholders) opt(s string) string {
	if s == "" {
		return ""
	}
	return p.of(s)
}

// lines are placeholders for each line's description and amount.
func (p *placeholders) lines(ls []Line) []Line {
	var out []Line
	for _, l := range ls {
		out = append(out, Line{p.of(l.Description), p.of(l.Amount)})
	}
	return out
}

// events lists a parsed document in order: elements with their attributes
// (hrefs left out: checkRendering looks at them), their ends, and non-empty
// text.
func events(t *testing.T, doc string) []string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			e := "<" + n.Data
			for _, a := range n.Attr {
				if a.Key != "href" {
					e += " " + a.Key + "=" + strconv.Quote(a.Val)
				}
			}
			out = append(out, e+">")
		case html.TextNode:
			if n.Data != "" {
				out = append(out, "#"+n.Data)
			}
		case html.CommentNode:
			out = append(out, "<!--"+n.Data+"-->")
		case html.DoctypeNode:
			out = append(out, "<!doctype "+n.Data+">")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode {
			out = append(out, "</"+n.Data+">")
		}
	}
	walk(root)
	return out
}
