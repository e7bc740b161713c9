package billing

import (
	"context"
	"errors"
	"slices"
	"time"
)

// MaxNoteLength bounds the clinic's optional note in an e-mail.
const MaxNoteLength = 1000

// SentEmail is the record of an invoice e-mail accepted by the mail service.
type SentEmail struct {
	MessageID string
	To        string
	Language  Language
	SentAt    time.Time
	// LinkGeneration is the generation of the payment link the e-mail
	// carried, 0 when it carried none.
	LinkGeneration int
	// RequestKey is the Idempotency-Key of the request that sent it: a
	// retry of that request finds the e-mail here and does not send it
	// again.
	RequestKey string
}

// EmailInput is the body of POST /invoices/{invoiceId}/emails.
type EmailInput struct {
	IncludePaymentLink bool      `json:"includePaymentLink"`
	To                 *string   `json:"to"`
	Language           *Language `json:"language"`
	Message            *string   `json:"message"`
	// RequestKey is the request's Idempotency-Key, if any (not part of the
	// body).
	RequestKey string `json:"-"`
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
func (s *Service) SendEmail(ctx context.Context, tenant, invoiceID string, in *EmailInput) (*SentEmail, *Link, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	for range maxAttempts {
		inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
		if err != nil {
			return nil, nil, err
		}
		if sent, link := inv.sentFor(in.RequestKey); sent != nil {
			return sent, link, nil // a retry of a request whose e-mail left and was recorded
		}
		if company == nil {
			return nil, nil, Errorf(CodeBillingCompanyNotConfigured, "the billing company has no record yet: save its name and reply-to address first")
		}
		if len(inv.Emails) >= MaxEmailsPerInvoice {
			return nil, nil, Errorf(CodeLimitReached, "this invoice was already e-mailed %d times", MaxEmailsPerInvoice)
		}
		e := s.emailFor(inv, company, in)
		if !in.IncludePaymentLink {
			sent, err := e.send(ctx, inv, nil)
			if err != nil {
				return nil, nil, err
			}
			if _, err := s.commit(ctx, inv, "", nil, e.record); err != nil {
				return nil, nil, err
			}
			s.reach(ctx, StepCommitted)
			return sent, nil, nil
		}
		if inv, err = s.settle(ctx, inv, company); errors.Is(err, errRetry) {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		if err := checkLinkable(inv, company); err != nil {
			return nil, nil, err
		}
		// The e-mail is sent while the invoice is claimed, so the link it
		// carries can't be ended before it leaves.
		link := currentLink(inv, company)
		plan := &LinkPlan{Email: true}
		if link == nil {
			plan = linkPlan(inv, company, e.lang)
			plan.Create.RequestKey = in.RequestKey
			plan.Email = true
		}
		var sent *SentEmail
		hooks := planHooks{
			afterStripe: func(ctx context.Context, inv *Invoice, created *Link) error {
				if created != nil {
					link = created
				}
				var sendErr error
				sent, sendErr = e.send(ctx, inv, link)
				return sendErr
			},
			finish: e.record,
		}
		_, _, err = s.runPlan(ctx, inv, company, plan, hooks)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return sent, link, nil
	}
	return nil, nil, conflictError()
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

// outgoing is one e-mail being sent.
type outgoing struct {
	s          *Service
	company    *Company
	to         string
	lang       Language
	note       string
	requestKey string
	sent       *SentEmail
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
	url := ""
	if link != nil {
		url = link.URL
	}
	r, err := RenderInvoiceEmail(e.company, inv, e.lang, e.note, url)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "internal error", Err: err}
	}
	id, err := e.s.mailer.Send(ctx, OutgoingEmail{
		FromName: e.company.Name,
		To:       e.to,
		ReplyTo:  e.company.ReplyToEmail,
		Subject:  r.Subject,
		Text:     r.Text,
		HTML:     r.HTML,
		Language: e.lang,
	})
	if err != nil {
		return nil, err
	}
	e.s.metrics.Count(ctx, MetricEmailsSent, 1)
	e.s.reach(ctx, StepEmailAccepted)
	e.sent = &SentEmail{MessageID: id, To: e.to, Language: e.lang, SentAt: e.s.clock(), RequestKey: e.requestKey}
	if link != nil {
		e.sent.LinkGeneration = link.Generation
	}
	return e.sent, nil
}

// record appends the sent e-mail to the invoice's history, once (a write
// retried after its answer was lost finds it there).
func (e *outgoing) record(inv *Invoice) {
	if e.sent == nil || slices.ContainsFunc(inv.Emails, func(x SentEmail) bool { return x.MessageID == e.sent.MessageID }) {
		return
	}
	inv.Emails = append(inv.Emails, *e.sent)
}
