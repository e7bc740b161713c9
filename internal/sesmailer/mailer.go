// Package sesmailer sends invoice e-mails with Amazon SES (v1 SendRawEmail),
// implementing billing.Mailer.
package sesmailer

import (
	"context"
	"errors"
	"fmt"
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
	raw, err := BuildMIME(Message{
		From:        mail.Address{Name: msg.FromName, Address: m.sender},
		To:          msg.To,
		ReplyTo:     msg.ReplyTo,
		Subject:     msg.Subject,
		Language:    string(msg.Language),
		Text:        msg.Text,
		HTML:        msg.HTML,
		Date:        m.now(),
		Ref:         msg.Ref,
		Attachments: msg.Attachments,
	})
	if err != nil {
		return "", invalidMessage(err)
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
	return &billing.Error{Code: billing.CodeInvalidRequest, Message: message, Err: fmt.Errorf("build e-mail: %w", err)}
}

// mailError classifies an SES failure: throttling and outages may be retried
// (503), refusals are definite (502).
func mailError(err error) error {
	wrapped := fmt.Errorf("ses send raw email: %w", err)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable", "InternalFailure":
			return &billing.Error{Code: billing.CodeEmailProviderUnavailable, Message: "the mail service is busy; retry in a moment", RetryAfter: 2 * time.Second, Err: wrapped}
		}
		return &billing.Error{Code: billing.CodeEmailProviderError, Message: "the mail service refused the e-mail: " + apiErr.ErrorCode(), Err: wrapped}
	}
	return &billing.Error{Code: billing.CodeEmailProviderUnavailable, Message: "the mail service could not be reached; retry in a moment", RetryAfter: 2 * time.Second, Err: wrapped}
}
