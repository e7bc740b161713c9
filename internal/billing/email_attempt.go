package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A staff e-mail sent under an Idempotency-Key is marked on the invoice
// before SES is called, as the outbox marks its attempts: SES has no
// idempotency key, and when its answer is lost (it took the e-mail, the
// answer never came back) or the process dies before the record, nothing
// else would tell the request's retry that the e-mail left. The mark names
// the attempt in the e-mail's reference header, so SES's events record the
// e-mail (HandleEmailEvent); until they do, a retry under the same key
// sends nothing and answers 409 request_in_progress. Only after
// confirmWindow without news is the attempt taken for lost, and a retry
// sends it again.

// EmailAttempt is a staff e-mail handed, or about to be handed, to SES
// under a request's Idempotency-Key, not yet recorded as sent.
type EmailAttempt struct {
	RequestKey string
	// Token is the attempt's, in the e-mail's reference header.
	Token          string
	At             time.Time
	To             string
	Language       Language
	LinkGeneration int
	PDF            bool
}

// emailAttemptKept is how long an attempt is kept: an Idempotency-Key's
// life, after which no retry can ask for it.
const emailAttemptKept = 24 * time.Hour

// emailRetryAfter is when a retry may find the first attempt confirmed:
// SES publishes its events within seconds.
const emailRetryAfter = 5 * time.Second

// emailAttempt returns the attempt marked under requestKey, nil when none.
func (inv *Invoice) emailAttempt(requestKey string) *EmailAttempt {
	if requestKey == "" {
		return nil
	}
	for i := range inv.EmailAttempts {
		if inv.EmailAttempts[i].RequestKey == requestKey {
			return &inv.EmailAttempts[i]
		}
	}
	return nil
}

// markEmailAttempt marks a, in place of an earlier attempt under the same
// key (taken for lost), and forgets the attempts no retry can ask for.
func (inv *Invoice) markEmailAttempt(a EmailAttempt) {
	inv.EmailAttempts = slices.DeleteFunc(inv.EmailAttempts, func(x EmailAttempt) bool {
		return x.RequestKey == a.RequestKey || a.At.Sub(x.At) > emailAttemptKept
	})
	inv.EmailAttempts = append(inv.EmailAttempts, a)
}

// dropEmailAttempt removes the attempt with token.
func (inv *Invoice) dropEmailAttempt(token string) {
	inv.EmailAttempts = slices.DeleteFunc(inv.EmailAttempts, func(x EmailAttempt) bool { return x.Token == token })
}

// recordEmailAttempt records the staff e-mail of the attempt with token as
// sent, with SES's message id (its answer was lost, or the process died
// before recording it): it reports whether there was such an attempt.
func (inv *Invoice) recordEmailAttempt(token string, ev *EmailEvent) bool {
	i := slices.IndexFunc(inv.EmailAttempts, func(x EmailAttempt) bool { return x.Token == token })
	if i < 0 {
		return false
	}
	a := inv.EmailAttempts[i]
	inv.Emails = append(inv.Emails, SentEmail{MessageID: ev.MessageID, To: a.To, Language: a.Language, SentAt: ev.At.UTC(),
		Kind: EmailInvoice, LinkGeneration: a.LinkGeneration, PDF: a.PDF, RequestKey: a.RequestKey})
	inv.dropEmailAttempt(token)
	return true
}

// emailInFlight refuses a retry whose first attempt may have left and is
// not confirmed yet; nil when there is none, or when it is taken for lost.
func (s *Service) emailInFlight(inv *Invoice, requestKey string) error {
	a := inv.emailAttempt(requestKey)
	if a == nil || !a.At.Add(confirmWindow).After(s.clock()) {
		return nil
	}
	secs := int(emailRetryAfter / time.Second)
	return &Error{Code: CodeRequestInProgress, RetryAfter: emailRetryAfter,
		Message: fmt.Sprintf("the e-mail of the first request with this Idempotency-Key may have left: the mail service has not confirmed it yet; retry in %d seconds", secs)}
}

// attemptFor is the attempt of e under token, carrying link (nil: none).
func (e *outgoing) attemptFor(token string, link *Link) EmailAttempt {
	a := EmailAttempt{RequestKey: e.requestKey, Token: token, At: e.s.clock(), To: e.to, Language: e.lang, PDF: e.pdf()}
	if link != nil {
		a.LinkGeneration = link.Generation
	}
	return a
}

// mark writes the e-mail's attempt to the invoice before SES is called, as
// the next version of inv (updated in place, so the write that records the
// e-mail is conditional on it). Without a request key there is nothing a
// retry could find it by: nothing is written.
func (e *outgoing) mark(ctx context.Context, inv *Invoice, link *Link) error {
	if e.requestKey == "" || e.attempt != nil {
		return nil
	}
	a := e.attemptFor(e.s.newToken(), link)
	stored, err := e.s.changeInvoice(ctx, commitPolicy, inv, func(next *Invoice) error {
		next.markEmailAttempt(a)
		return nil
	})
	if err != nil {
		return err
	}
	*inv = *stored
	e.attempt = &a
	return nil
}

// failed is the error of an e-mail that did not get through, its attempt
// unmarked first when the e-mail certainly did not leave (SES refused
// it, or it was never handed over) so that a retry sends it; one that may
// have left stays marked for SES's events.
func (e *outgoing) failed(ctx context.Context, inv *Invoice, err error) error {
	if e.attempt == nil || errors.Is(err, errRetry) || (e.mailTried && !errors.Is(err, ErrNotSent)) {
		return err // nothing marked (a claim lost writes nothing), or it may have left
	}
	if uerr := e.unmark(ctx, inv); uerr != nil {
		return errors.Join(err, uerr)
	}
	return err
}

// unmark removes the attempt from the invoice as stored now.
func (e *outgoing) unmark(ctx context.Context, inv *Invoice) error {
	cur, err := e.s.store.GetInvoice(ctx, inv.CompanyID, inv.ID)
	if err != nil {
		return storeError("read invoice", err)
	}
	token := e.attempt.Token
	_, err = e.s.changeInvoice(ctx, commitPolicy, cur, func(next *Invoice) error {
		if !slices.ContainsFunc(next.EmailAttempts, func(x EmailAttempt) bool { return x.Token == token }) {
			return errNoChange
		}
		next.dropEmailAttempt(token)
		return nil
	})
	return err
}
