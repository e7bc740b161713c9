// Package sesmailer sends invoice e-mails with Amazon SES (v1 SendRawEmail),
// implementing billing.Mailer.
package sesmailer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"github.com/clinicpay/payments/internal/billing"
)

// API is the part of the SES client the mailer uses.
type API interface {
	SendRawEmail(context.Context, *ses.SendRawEmailInput, ...func(*ses.Options)) (*ses.SendRawEmailOutput, error)
}

// Mailer implements billing.Mailer.
type Mailer struct {
	ses              API
	sender           string
	configurationSet string
	now              func() time.Time
}

// New returns a Mailer that sends from sender (an address verified in SES),
// optionally through a configuration set (for bounce and complaint events).
func New(client API, sender, configurationSet string) *Mailer {
	return &Mailer{ses: client, sender: sender, configurationSet: configurationSet, now: time.Now}
}

var _ billing.Mailer = (*Mailer)(nil)

// Send implements billing.Mailer.
func (m *Mailer) Send(ctx context.Context, msg billing.OutgoingEmail) (string, error) {
	em := Message{
		From:        mail.Address{Name: displayName(msg.FromName), Address: m.sender},
		To:          msg.To,
		ReplyTo:     msg.ReplyTo,
		Subject:     msg.Subject,
		Language:    string(msg.Language),
		Text:        msg.Text,
		HTML:        msg.HTML,
		Date:        m.now(),
		Ref:         msg.Ref,
		Attachments: msg.Attachments,
	}
	if err := em.validate(); err != nil {
		return "", invalidMessage(err)
	}
	// Files grow by a third in base64: when they alone go over the limit,
	// the e-mail is refused before it is encoded in memory.
	filesSize := 0
	for _, a := range em.Attachments {
		filesSize += base64.StdEncoding.EncodedLen(len(a.Data))
	}
	if filesSize > billing.MaxEmailSize {
		return "", tooLarge(fmt.Sprintf("its attachments alone take %d bytes encoded", filesSize))
	}
	raw, err := BuildMIME(em)
	if err != nil {
		return "", invalidMessage(err)
	}
	// SES would refuse it after the upload, with a less clear error.
	if len(raw) > billing.MaxEmailSize {
		return "", tooLarge(fmt.Sprintf("%d bytes encoded", len(raw)))
	}
	in := &ses.SendRawEmailInput{
		RawMessage:   &types.RawMessage{Data: raw},
		Source:       &m.sender,
		Destinations: []string{msg.To},
	}
	if m.configurationSet != "" {
		in.ConfigurationSetName = &m.configurationSet
	}
	out, err := m.ses.SendRawEmail(ctx, in)
	if err != nil {
		return "", mailError(err)
	}
	if out.MessageId == nil {
		return "", &billing.Error{Code: billing.CodeEmailProviderError, Message: "the mail service gave no message id"}
	}
	return *out.MessageId, nil
}

// displayName is the From's display name for a clinic's name: none when
// the name could read as an address (billing.AddressLike; such names are
// refused since, but a record saved before may have one). The e-mail
// still leaves, from the bare sender address, rather than show another
// address as its sender.
func displayName(name string) string {
	if billing.AddressLike(name) {
		return ""
	}
	return name
}

// invalidMessage says which of the e-mail's values BuildMIME refused.
func invalidMessage(err error) error {
	message := "the e-mail could not be built from these addresses"
	switch {
	case errors.Is(err, errInvalidRef):
		message = fmt.Sprintf("the e-mail's reference (%s) must be at most %d letters, digits or _.:/@- characters", billing.MailRefHeader, maxRefLen)
	case errors.Is(err, errInvalidFilename):
		message = "an attachment's file name must be 1 to 100 ASCII letters, digits, dots, underscores or hyphens, not starting with a dot"
	case errors.Is(err, errInvalidContentType):
		message = "an attachment's content type must be a lower-case type/subtype of letters, digits and .+- (not multipart or message)"
	}
	return &billing.Error{Code: billing.CodeInvalidRequest, Message: message, Err: fmt.Errorf("%w: build e-mail: %w", billing.ErrNotSent, err)}
}

// errTooLarge is wrapped in the error for an e-mail over
// billing.MaxEmailSize.
var errTooLarge = errors.New("e-mail over SES's size limit")

// tooLarge refuses an e-mail SES would refuse for its size: definite, so
// CodeEmailProviderError, not worth a retry.
func tooLarge(detail string) error {
	return &billing.Error{
		Code:    billing.CodeEmailProviderError,
		Message: fmt.Sprintf("the e-mail is larger than SES accepts (%d MB) once encoded; its attachments must be smaller", billing.MaxEmailSize/1_000_000),
		Err:     fmt.Errorf("%w: %w: %s, at most %d", billing.ErrNotSent, errTooLarge, detail, billing.MaxEmailSize),
	}
}

// mailError classifies an SES failure: throttling and outages may be retried
// (503), refusals are definite (502).
func mailError(err error) error {
	wrapped := fmt.Errorf("ses send raw email: %w", err)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		// SES answered: the e-mail did not leave (billing.ErrNotSent).
		notSent := fmt.Errorf("%w: %w", billing.ErrNotSent, wrapped)
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable", "InternalFailure":
			return &billing.Error{Code: billing.CodeEmailProviderUnavailable, Message: "the mail service is busy; retry in a moment", RetryAfter: 2 * time.Second, Err: notSent}
		}
		return &billing.Error{Code: billing.CodeEmailProviderError, Message: "the mail service refused the e-mail: " + apiErr.ErrorCode(), Err: notSent}
	}
	// An error status whose body SES did not word as an error: it
	// answered all the same, so the e-mail did not leave (as
	// RetryableSend judges it).
	var answered interface{ HTTPStatusCode() int }
	if errors.As(err, &answered) && answered.HTTPStatusCode() >= 300 {
		notSent := fmt.Errorf("%w: %w", billing.ErrNotSent, wrapped)
		if code := answered.HTTPStatusCode(); code >= 500 || code == http.StatusTooManyRequests {
			return &billing.Error{Code: billing.CodeEmailProviderUnavailable, Message: "the mail service is busy; retry in a moment", RetryAfter: 2 * time.Second, Err: notSent}
		}
		return &billing.Error{Code: billing.CodeEmailProviderError, Message: fmt.Sprintf("the mail service refused the e-mail (HTTP %d)", answered.HTTPStatusCode()), Err: notSent}
	}
	// No answer (a timeout, a lost connection): it may have left.
	return &billing.Error{Code: billing.CodeEmailProviderUnavailable, Message: "the mail service could not be reached; retry in a moment", RetryAfter: 2 * time.Second, Err: wrapped}
}
