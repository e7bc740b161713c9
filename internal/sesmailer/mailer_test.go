package sesmailer

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/clinicpay/payments/internal/billing"
)

// fakeSES records what the mailer gives SES; no network.
type fakeSES struct {
	calls []*ses.SendRawEmailInput
}

func (f *fakeSES) SendRawEmail(_ context.Context, in *ses.SendRawEmailInput, _ ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
	f.calls = append(f.calls, in)
	id := "0100018c-fake"
	return &ses.SendRawEmailOutput{MessageId: &id}, nil
}

func newTestMailer() (*Mailer, *fakeSES) {
	api := &fakeSES{}
	m := New(api, "factures@clinicpay.example", "clinicpay-events")
	m.now = func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	return m, api
}

func testEmail() billing.OutgoingEmail {
	return billing.OutgoingEmail{
		FromName: "Clinique Saint-Louis", To: "marie@example.com", ReplyTo: "facturation@clinique.example",
		Subject: "Facture F-2026-0042", Text: "Bonjour", HTML: "<p>Bonjour</p>", Language: "fr",
		Ref: "co_1/inv_42/key-7/1",
	}
}

func TestSendWritesTheRef(t *testing.T) {
	m, api := newTestMailer()
	id, err := m.Send(context.Background(), testEmail())
	if err != nil || id != "0100018c-fake" || len(api.calls) != 1 {
		t.Fatalf("send: %q %v, %d calls", id, err, len(api.calls))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(api.calls[0].RawMessage.Data))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header[billing.MailRefHeader]; len(got) != 1 || got[0] != "co_1/inv_42/key-7/1" {
		t.Fatalf("%s: %q", billing.MailRefHeader, got)
	}
}

func TestSendRefusesABadRef(t *testing.T) {
	m, api := newTestMailer()
	e := testEmail()
	e.Ref = "co_1/inv\r\nBcc: all@example.com"
	_, err := m.Send(context.Background(), e)
	var be *billing.Error
	if !errors.As(err, &be) || be.Code != billing.CodeInvalidRequest || !errors.Is(err, errInvalidRef) {
		t.Fatalf("got %v", err)
	}
	if len(api.calls) != 0 {
		t.Fatal("SES was called")
	}
}

func TestSendAttachments(t *testing.T) {
	m, api := newTestMailer()
	e := testEmail()
	e.Attachments = []billing.Attachment{{Filename: "facture-F-2026-0042.pdf", ContentType: "application/pdf", Data: pdfLike(20000)}}
	if _, err := m.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	_, bodies, files, err := readMixed(api.calls[0].RawMessage.Data)
	if err != nil {
		t.Fatal(err)
	}
	if bodies[0] != e.Text || bodies[1] != e.HTML || len(files) != 1 || !bytes.Equal(files[0].body, e.Attachments[0].Data) {
		t.Fatalf("sent %q and %d files", bodies, len(files))
	}
}

func TestSendRefusesBadAttachments(t *testing.T) {
	for _, a := range []billing.Attachment{
		{Filename: "../facture.pdf", ContentType: "application/pdf"},
		{Filename: "facture.pdf", ContentType: "application/pdf\r\nBcc: all@example.com"},
	} {
		m, api := newTestMailer()
		e := testEmail()
		e.Attachments = []billing.Attachment{a}
		_, err := m.Send(context.Background(), e)
		var be *billing.Error
		if !errors.As(err, &be) || be.Code != billing.CodeInvalidRequest || !strings.Contains(be.Message, "attachment") {
			t.Fatalf("%q %q: got %v", a.Filename, a.ContentType, err)
		}
		if len(api.calls) != 0 {
			t.Fatal("SES was called")
		}
	}
}
