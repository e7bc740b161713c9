package sesmailer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/smithy-go"

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

func wantTooLarge(t *testing.T, err error, api *fakeSES) {
	t.Helper()
	var be *billing.Error
	if !errors.As(err, &be) || be.Code != billing.CodeEmailProviderError || !errors.Is(err, errTooLarge) ||
		!strings.HasPrefix(be.Message, "the e-mail is larger than SES accepts (10 MB)") {
		t.Fatalf("got %v", err)
	}
	if len(api.calls) != 0 {
		t.Fatal("SES was called")
	}
}

// TestSendSizeLimit: an e-mail of exactly billing.MaxEmailSize bytes
// encoded goes to SES, one byte more is refused without calling it.
func TestSendSizeLimit(t *testing.T) {
	m, _ := newTestMailer()
	e := testEmail()
	e.Ref = "r"
	size := func(n int) int {
		e.Attachments = []billing.Attachment{{Filename: "facture.pdf", ContentType: "application/pdf", Data: make([]byte, n)}}
		raw, err := BuildMIME(Message{
			From: mail.Address{Name: e.FromName, Address: m.sender}, To: e.To, ReplyTo: e.ReplyTo, Subject: e.Subject,
			Language: string(e.Language), Text: e.Text, HTML: e.HTML, Date: m.now(), Ref: e.Ref, Attachments: e.Attachments,
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(raw)
	}
	// The file's share: base64 in lines of 76 characters joined by CRLF.
	encoded := func(n int) int {
		l := base64.StdEncoding.EncodedLen(n)
		return l + 2*(max(l-1, 0)/76)
	}
	rest := size(0)
	n := (billing.MaxEmailSize - rest) / 78 * 57
	for rest+encoded(n+1) <= billing.MaxEmailSize {
		n++
	}
	total := size(n) // leaves e's file at n bytes
	if total != rest+encoded(n) {
		t.Fatalf("%d bytes of file make %d bytes, not %d", n, total, rest+encoded(n))
	}
	// The reference fills the rest (a few bytes), byte for byte.
	e.Ref = strings.Repeat("r", 1+billing.MaxEmailSize-total)

	m, api := newTestMailer()
	if _, err := m.Send(context.Background(), e); err != nil {
		t.Fatalf("%d bytes refused: %v", billing.MaxEmailSize, err)
	}
	if got := len(api.calls[0].RawMessage.Data); got != billing.MaxEmailSize {
		t.Fatalf("sent %d bytes", got)
	}

	e.Ref += "r"
	m, api = newTestMailer()
	_, err := m.Send(context.Background(), e)
	wantTooLarge(t, err, api)
}

// TestSendRefusesLargeFilesBeforeEncoding: files whose base64 alone is over
// the limit are refused, whatever the rest.
func TestSendRefusesLargeFilesBeforeEncoding(t *testing.T) {
	m, api := newTestMailer()
	e := testEmail()
	e.Attachments = []billing.Attachment{
		{Filename: "a.pdf", ContentType: "application/pdf", Data: make([]byte, 4_000_000)},
		{Filename: "b.pdf", ContentType: "application/pdf", Data: make([]byte, 3_500_001)},
	}
	_, err := m.Send(context.Background(), e)
	wantTooLarge(t, err, api)
	if !strings.Contains(err.Error(), "attachments alone take 10000004 bytes") {
		t.Fatalf("not refused before encoding: %v", err)
	}
}

// TestSendRefusesBadNamesBeforeSize: a bad file name is the caller's
// mistake, reported as such even on a file too large.
func TestSendRefusesBadNamesBeforeSize(t *testing.T) {
	m, api := newTestMailer()
	e := testEmail()
	e.Attachments = []billing.Attachment{{Filename: "a b.pdf", ContentType: "application/pdf", Data: make([]byte, 11_000_000)}}
	_, err := m.Send(context.Background(), e)
	if billing.ErrorCode(err) != billing.CodeInvalidRequest || len(api.calls) != 0 {
		t.Fatalf("got %v", err)
	}
}

type failingSES struct{ err error }

func (f failingSES) SendRawEmail(context.Context, *ses.SendRawEmailInput, ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
	return nil, f.err
}

// TestWhetherItLeft: an answer of SES's (a refusal, a throttle) means the
// e-mail did not leave (billing.ErrNotSent: the outbox may send it again at
// once); no answer (a timeout) may mean it did.
func TestWhetherItLeft(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		code    billing.Code
		notSent bool
	}{
		{"refused", &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified."}, billing.CodeEmailProviderError, true},
		{"sender paused", &smithy.GenericAPIError{Code: "AccountSendingPausedException"}, billing.CodeEmailProviderError, true},
		{"throttled", &smithy.GenericAPIError{Code: "Throttling", Message: "Maximum sending rate exceeded."}, billing.CodeEmailProviderUnavailable, true},
		{"timeout", context.DeadlineExceeded, billing.CodeEmailProviderUnavailable, false},
		// SES answered with a status whose body is no error it words.
		{"500, no error body", statusError(500), billing.CodeEmailProviderUnavailable, true},
		{"400, no error body", statusError(400), billing.CodeEmailProviderError, true},
	} {
		m := New(failingSES{tc.err}, "factures@clinicpay.example", "")
		_, err := m.Send(context.Background(), testEmail())
		if billing.ErrorCode(err) != tc.code || errors.Is(err, billing.ErrNotSent) != tc.notSent {
			t.Errorf("%s: %v (code %s, not sent %v)", tc.name, err, billing.ErrorCode(err), errors.Is(err, billing.ErrNotSent))
		}
	}
	bad := testEmail()
	bad.Ref = "a\r\nBcc: x@example.com"
	if _, err := New(&fakeSES{}, "factures@clinicpay.example", "").Send(context.Background(), bad); !errors.Is(err, billing.ErrNotSent) {
		t.Errorf("a refused build: %v", err)
	}
}

// statusError is an answer with an HTTP status and nothing else, as the
// SDK reports one whose body it could not read.
type statusError int

func (s statusError) Error() string       { return fmt.Sprintf("http response error StatusCode: %d", int(s)) }
func (s statusError) HTTPStatusCode() int { return int(s) }

// A clinic's name that reads as an address is no display name: the e-mail
// leaves from the bare sender address, never showing another as sender.
func TestSendDropsADisplayNameThatLooksLikeAnAddress(t *testing.T) {
	tests := []struct{ name, wantFrom string }{
		{"Clinique Saint-Louis", "Clinique Saint-Louis"},
		{`"Billing" <admin@bank.example>`, ""},
		{"admin@bank.example", ""},
		{"Billing \uff1cadmin\uff20bank.example\uff1e", ""},
		{"Clinique « Les Érables »", "Clinique « Les Érables »"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, api := newTestMailer()
			e := testEmail()
			e.FromName = tc.name
			if _, err := m.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(api.calls[0].RawMessage.Data))
			if err != nil {
				t.Fatal(err)
			}
			from, err := msg.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Address != "factures@clinicpay.example" || from[0].Name != tc.wantFrom {
				t.Fatalf("From %q: %+v %v", msg.Header.Get("From"), from, err)
			}
		})
	}
}
