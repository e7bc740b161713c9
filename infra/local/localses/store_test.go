package localses_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/internal/billing"
)

// TestEventsOfAMailSESLocalTook: a raw e-mail sent to aws-ses-v2-local
// (v1 SendRawEmail, as sesmailer sends) reads back from GET /store as a
// Mail, without its headers; with HeadersOf(raw) its events carry our Ref.
func TestEventsOfAMailSESLocalTook(t *testing.T) {
	tools, err := localservers.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against a hang
	defer cancel()
	srv, err := localservers.StartSES(ctx, tools)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	raw := "From: Clinique Saint-Louis <factures@clinicpay.example>\r\nTo: Marie <bounce@simulator.amazonses.com>\r\n" +
		"Subject: Facture F-1\r\n" + billing.MailRefHeader + ": " + ref + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
	form := url.Values{"Action": {"SendRawEmail"}, "Source": {"factures@clinicpay.example"},
		"Destinations.member.1": {"bounce@simulator.amazonses.com"}, "ConfigurationSetName": {"clinicpay-mail"},
		"RawMessage.Data": {base64.StdEncoding.EncodeToString([]byte(raw))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20261127/ca-central-1/ses/aws4_request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SendRawEmail: %s\n%s", resp.Status, srv.Logs())
	}

	req, err = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/store", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []localses.Mail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	if len(store.Emails) != 1 {
		t.Fatalf("%d e-mails stored", len(store.Emails))
	}
	m := store.Emails[0]
	// The store writes display names quoted: "Clinique Saint-Louis" <…>.
	if !strings.HasPrefix(m.MessageID, "ses-") || !strings.HasSuffix(m.From, "<factures@clinicpay.example>") ||
		len(m.Destination.To) != 1 || m.Subject != "Facture F-1" || m.At == 0 {
		t.Fatalf("stored %+v", m)
	}
	if len(m.Headers) != 0 {
		t.Fatalf("aws-ses-v2-local now keeps a raw e-mail's headers (%+v): the package comment and HeadersOf's reason are out of date", m.Headers)
	}

	if m.Headers, err = localses.HeadersOf([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	events := localses.Events(m, "000000000000", "ca-central-1", "clinicpay-mail")
	var got []string
	for _, payload := range events {
		ev := read(t, payload)
		if ev.Ref != ref || ev.MessageID != m.MessageID || strings.Join(ev.Recipients, ",") != "bounce@simulator.amazonses.com" {
			t.Errorf("%+v", ev)
		}
		got = append(got, string(ev.Type))
	}
	if strings.Join(got, ",") != "send,bounce" {
		t.Fatalf("events %v", got)
	}
}
