package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clinicpay/payments/internal/emails"
)

// The invoice e-mail: billing formats what it shows in the patient's
// language (amounts, dates, the note's lines) and internal/emails writes it
// (wording, templates, escaping).

// RenderInvoiceEmail writes the invoice e-mail for a patient. payURL is empty
// when no payment link is included; one that is not an https URL is refused.
func RenderInvoiceEmail(c *Company, inv *Invoice, lang Language, note, payURL string) (emails.Message, error) {
	return emails.InvoiceEmail(invoiceEmailView(c, inv, lang, note, payURL))
}

// invoiceEmailView gathers the values the e-mail shows, formatted.
func invoiceEmailView(c *Company, inv *Invoice, lang Language, note, payURL string) emails.Invoice {
	v := emails.Invoice{
		Language:    string(lang),
		Clinic:      c.Name,
		PatientName: inv.Patient.Name,
		Number:      inv.Number,
		IssuedOn:    formatDate(lang, inv.IssuedOn),
		Total:       FormatMoney(inv.Total, inv.Currency, lang),
		BalanceDue:  FormatMoney(inv.BalanceDue, inv.Currency, lang),
		ReplyTo:     c.ReplyToEmail,
		PayURL:      payURL,
	}
	if inv.DueOn != "" {
		v.DueOn = formatDate(lang, inv.DueOn)
	}
	if !c.summary() {
		for _, l := range inv.Lines {
			v.Lines = append(v.Lines, emails.Line{Description: l.Description, Amount: FormatMoney(l.Amount, inv.Currency, lang)})
		}
	}
	if note = strings.TrimSpace(strings.ReplaceAll(note, "\r\n", "\n")); note != "" {
		v.NoteLines = strings.Split(strings.ReplaceAll(note, "\r", "\n"), "\n")
	}
	return v
}

// months are the month names of each language, for dates in e-mails.
var months = map[Language][12]string{
	French: {"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
		"août", "septembre", "octobre", "novembre", "décembre"},
	English: {"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"},
}

// formatDate writes a YYYY-MM-DD date for a reader: "1er décembre 2026",
// "December 1, 2026".
func formatDate(lang Language, s string) string {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return s
	}
	if lang == English {
		return fmt.Sprintf("%s %d, %d", months[English][d.Month()-1], d.Day(), d.Year())
	}
	month := months[French][d.Month()-1]
	if d.Day() == 1 {
		return fmt.Sprintf("1er %s %d", month, d.Year())
	}
	return fmt.Sprintf("%d %s %d", d.Day(), month, d.Year())
}

// Limits: the clinic's optional note in an e-mail, and the e-mails one
// invoice keeps in its history (stored with it).
const (
	MaxNoteLength       = 1000
	MaxEmailsPerInvoice = 100
)

// SentEmail is the record of an e-mail about the invoice accepted by the
// mail service, and what SES later said of it.
type SentEmail struct {
	MessageID string
	To        string
	Language  Language
	SentAt    time.Time
	// Kind is invoice (sent by staff), receipt or reminder.
	Kind EmailKind
	// Key is the outbox key of a receipt or reminder (receipt-pi_…,
	// reminder-after-7); a reminder's step is its key's tail.
	Key string
	// LinkGeneration is the generation of the payment link the e-mail
	// carried, 0 when it carried none.
	LinkGeneration int
	// PDF: the invoice was attached as a PDF.
	PDF bool
	// RequestKey is the Idempotency-Key of the request that sent it: a
	// retry of that request finds the e-mail here and does not send it
	// again.
	RequestKey string
	// Delivery is what SES's events said last (status sent until then).
	Delivery EmailDelivery
	// EarlierAttempts are the tokens of a receipt's or reminder's attempts
	// taken for lost before this one left: a late SES event about one of
	// them records it too.
	EarlierAttempts []string
}

// EmailKind is why an e-mail was sent.
type EmailKind string

// The kinds of e-mails.
const (
	EmailInvoice  EmailKind = "invoice"
	EmailReceipt  EmailKind = "receipt"
	EmailReminder EmailKind = "reminder"
)

// EmailKind is the e-mail's kind; records from before kinds existed are
// invoice e-mails.
func (e *SentEmail) EmailKind() EmailKind {
	if e.Kind == "" {
		return EmailInvoice
	}
	return e.Kind
}

// EmailInput is what POST /invoices/{invoiceId}/emails asks for.
type EmailInput struct {
	IncludePaymentLink bool
	To                 *string
	Language           *Language
	Message            *string
	// RequestKey is the request's Idempotency-Key, if any (not part of the
	// body).
	RequestKey string
}

// Validate checks the input against the contract's rules.
func (in *EmailInput) Validate() error {
	if in.To != nil {
		addr, err := checkEmail("to", *in.To)
		if err != nil {
			return err
		}
		*in.To = addr
	}
	if in.Language != nil && !in.Language.Valid() {
		return Invalid("language", "language must be fr or en")
	}
	if in.Message != nil {
		if err := checkNote("message", *in.Message, MaxNoteLength); err != nil {
			return err
		}
	}
	return nil
}

// SendEmail e-mails the invoice to the patient (or to the address given),
// with the Pay Invoice button when asked; a link is made first when the
// invoice has none for the amount due. It returns the record of the e-mail
// and the link it carried.
func (s *Service) SendEmail(ctx context.Context, caller Caller, invoiceID string, in *EmailInput) (*SentEmail, *Link, error) {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	out, err := retrying(ctx, contention, func() (emailed, error) {
		return s.sendEmailOnce(ctx, tenant, invoiceID, in)
	})
	return out.sent, out.link, err
}

// emailed is the e-mail an attempt at SendEmail sent, and the link it
// carried.
type emailed struct {
	sent *SentEmail
	link *Link
}

// sendEmailOnce is one attempt at SendEmail, from the invoice as stored
// now; errRetry when another writer got there first.
func (s *Service) sendEmailOnce(ctx context.Context, tenant, invoiceID string, in *EmailInput) (emailed, error) {
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return emailed{}, err
	}
	if sent, _ := inv.sentFor(in.RequestKey); sent != nil {
		return s.replayEmail(ctx, inv, company, sent) // a retry of a request whose e-mail left and was recorded
	}
	if err := s.emailInFlight(inv, in.RequestKey); err != nil {
		return emailed{}, err // a retry of a request whose e-mail may have left
	}
	if company == nil {
		return emailed{}, Errorf(CodeBillingCompanyNotConfigured, "the billing company has no record yet: save its name and reply-to address first")
	}
	if len(inv.Emails) >= MaxEmailsPerInvoice {
		return emailed{}, Errorf(CodeLimitReached, "this invoice was already e-mailed %d times", MaxEmailsPerInvoice)
	}
	e := s.emailFor(inv, company, in)
	if !in.IncludePaymentLink {
		return e.sendPlain(ctx, inv)
	}
	if inv, _, _, err = s.settle(ctx, inv, company); err != nil {
		return emailed{}, err
	}
	if err := checkLinkable(inv, company); err != nil {
		return emailed{}, err
	}
	// The e-mail is sent while the invoice is held, so the link it
	// carries can't be ended before it leaves.
	e.link = currentLink(inv, company)
	if e.link == nil { // else no change: the lease only holds the invoice
		e.change = replaceWith(inv, newLinkFor(inv, company, e.lang, in.RequestKey))
	}
	if _, _, err = s.carryOut(ctx, inv, company, e.change, e); err != nil {
		return emailed{}, e.failed(ctx, inv, err)
	}
	return emailed{e.sent, e.link}, nil
}

// sendPlain sends an e-mail that carries no link: no one can change what
// it says meanwhile, so it needs no lease. Its attempt is marked first
// (when the request has a key), then it is sent and recorded.
func (e *outgoing) sendPlain(ctx context.Context, inv *Invoice) (emailed, error) {
	if err := e.mark(ctx, inv, nil); err != nil {
		return emailed{}, err
	}
	e.mailTried = true
	sent, err := e.send(ctx, inv, nil)
	if err != nil {
		return emailed{}, e.failed(ctx, inv, err)
	}
	if _, err := e.s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error { e.record(next); return nil }); err != nil {
		return emailed{}, err
	}
	return emailed{sent, nil}, nil
}

// replayEmail answers a retry with its request's e-mail, recorded. When
// SES's events recorded it (the request died after SES took it), the link
// it carries may be one the request made and never recorded: its change
// is finished first, as the next request on the invoice would.
func (s *Service) replayEmail(ctx context.Context, inv *Invoice, company *Company, sent *SentEmail) (emailed, error) {
	if g := sent.LinkGeneration; g > 0 && inv.link(g) == nil && inv.Lease != nil && company != nil {
		settled, _, _, err := s.settle(ctx, inv, company)
		if err != nil {
			return emailed{}, err
		}
		inv = settled
	}
	sent, link := inv.sentFor(sent.RequestKey)
	return emailed{sent, link}, nil
}

// sentFor returns the e-mail recorded for a request key, and its link.
func (inv *Invoice) sentFor(requestKey string) (*SentEmail, *Link) {
	if requestKey == "" {
		return nil, nil
	}
	for i := range inv.Emails {
		if e := &inv.Emails[i]; e.RequestKey == requestKey {
			if e.LinkGeneration > 0 {
				return e, inv.link(e.LinkGeneration)
			}
			return e, nil
		}
	}
	return nil, nil
}

// outgoing is one e-mail being sent. With a link, it is sent as the work
// of the lease that holds the invoice.
type outgoing struct {
	noWork
	s          *Service
	company    *Company
	to         string
	lang       Language
	note       string
	requestKey string
	link       *Link       // the link it carries, if any
	change     *LinkChange // the link made for it, if any
	// attempt is its mark under the request's key (email_attempt.go);
	// mailTried: it was handed to SES.
	attempt   *EmailAttempt
	mailTried bool
	sent      *SentEmail
}

func (s *Service) emailFor(inv *Invoice, c *Company, in *EmailInput) *outgoing {
	e := &outgoing{s: s, company: c, to: inv.Patient.Email, lang: inv.language(c), requestKey: in.RequestKey}
	if in.To != nil {
		e.to = *in.To
	}
	if in.Language != nil {
		e.lang = *in.Language
	}
	if in.Message != nil {
		e.note = *in.Message
	}
	return e
}

// send renders and sends the e-mail, carrying link when it is not nil.
func (e *outgoing) send(ctx context.Context, inv *Invoice, link *Link) (*SentEmail, error) {
	m := preparedMail{kind: EmailInvoice, to: e.to, lang: e.lang, pdf: e.pdf(),
		render: func(inv *Invoice, payURL string) (emails.Message, error) {
			return RenderInvoiceEmail(e.company, inv, e.lang, e.note, payURL)
		}}
	token := e.s.newToken()
	if e.attempt != nil {
		token = e.attempt.Token
	}
	id, err := e.s.sendMail(ctx, inv, e.company, m, link, mailRef{inv.CompanyID, inv.ID, string(EmailInvoice), token})
	if err != nil {
		return nil, err
	}
	e.s.metrics.Count(ctx, MetricEmailsSent, 1)
	e.sent = &SentEmail{MessageID: id, To: e.to, Language: e.lang, SentAt: e.s.clock(), Kind: EmailInvoice, PDF: m.pdf, RequestKey: e.requestKey}
	if link != nil {
		e.sent.LinkGeneration = link.Generation
	}
	return e.sent, nil
}

// pdf: the invoice is attached.
func (e *outgoing) pdf() bool { return e.company.AttachPDF && e.s.documents != nil }

// record appends the sent e-mail to the invoice's history and drops its
// attempt, once (a write retried after its answer was lost, or SES's
// event, got there first).
func (e *outgoing) record(inv *Invoice) {
	if e.sent == nil {
		return
	}
	if e.attempt != nil {
		inv.dropEmailAttempt(e.attempt.Token)
	}
	if slices.ContainsFunc(inv.Emails, func(x SentEmail) bool { return x.MessageID == e.sent.MessageID }) {
		return
	}
	inv.Emails = append(inv.Emails, *e.sent)
}

// claimed marks the attempt in the write that takes the lease when no
// Stripe step comes before the send (the link is there already).
func (e *outgoing) claimed(next *Invoice, token string) {
	if e.requestKey != "" && e.change == nil {
		a := e.attemptFor(token, e.link)
		next.markEmailAttempt(a)
		e.attempt = &a
	}
}

// afterStripe sends the e-mail with the link just made, or the one held,
// its attempt marked first if the claim did not.
func (e *outgoing) afterStripe(ctx context.Context, inv *Invoice, made *Link) error {
	if made != nil {
		e.link = made
	}
	if err := e.mark(ctx, inv, e.link); err != nil {
		return err
	}
	e.mailTried = true
	_, err := e.send(ctx, inv, e.link)
	return err
}

// finish records the e-mail in the write that releases the lease.
func (e *outgoing) finish(inv *Invoice) { e.record(inv) }
