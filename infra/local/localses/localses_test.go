package localses_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/sesevents"
)

const ref = "comp_7/inv_42/key_9f1c/1"

var sentAt = time.Date(2026, 11, 27, 14, 30, 5, 0, time.UTC)

// mailTo is a mail as the store keeps it, with the headers of a raw e-mail
// filled in (HeadersOf).
func mailTo(to ...string) localses.Mail {
	m := localses.Mail{
		MessageID: "ses-412345678", From: "Clinique Saint-Louis <factures@clinicpay.example>",
		Subject: "Facture F-2026-0042", At: sentAt.Unix(),
		Headers: []localses.Header{
			{Name: "From", Value: "Clinique Saint-Louis <factures@clinicpay.example>"},
			{Name: "To", Value: strings.Join(to, ", ")},
			{Name: "Subject", Value: "=?utf-8?q?Facture_F-2026-0042?="},
			{Name: "Date", Value: "Fri, 27 Nov 2026 14:30:05 +0000"},
			{Name: billing.MailRefHeader, Value: ref},
			{Name: "MIME-Version", Value: "1.0"},
		},
	}
	m.Destination.To = to
	return m
}

type want struct {
	typ                       billing.EmailEventType
	recipients                []string
	bounceType, bounceSubType string
	complaintType             string
}

func read(t *testing.T, payload []byte) *billing.EmailEvent {
	t.Helper()
	ev, err := sesevents.Read(payload)
	if err != nil {
		t.Fatalf("%v\n%s", err, payload)
	}
	return ev
}

func TestEventsAsTheMailboxSimulator(t *testing.T) {
	const (
		bounce      = "bounce@simulator.amazonses.com"
		complaint   = "complaint@simulator.amazonses.com"
		suppression = "suppressionlist@simulator.amazonses.com"
		ooto        = "ooto@simulator.amazonses.com"
		success     = "success@simulator.amazonses.com"
		patient     = "marie@example.com"
		labelled    = "Bounce+f-42@Simulator.AmazonSES.com"
	)
	tests := []struct {
		to   string // as the store has it
		want []want
	}{
		{bounce, []want{{typ: billing.EmailEventSend, recipients: []string{bounce}},
			{typ: billing.EmailEventBounce, recipients: []string{bounce}, bounceType: "Permanent", bounceSubType: "General"}}},
		{complaint, []want{{typ: billing.EmailEventSend, recipients: []string{complaint}},
			{typ: billing.EmailEventDelivery, recipients: []string{complaint}},
			{typ: billing.EmailEventComplaint, recipients: []string{complaint}, complaintType: "abuse"}}},
		{suppression, []want{{typ: billing.EmailEventSend, recipients: []string{suppression}},
			{typ: billing.EmailEventBounce, recipients: []string{suppression}, bounceType: "Permanent", bounceSubType: "OnAccountSuppressionList"}}},
		{ooto, []want{{typ: billing.EmailEventSend, recipients: []string{ooto}}, {typ: billing.EmailEventDelivery, recipients: []string{ooto}}}},
		{success, []want{{typ: billing.EmailEventSend, recipients: []string{success}}, {typ: billing.EmailEventDelivery, recipients: []string{success}}}},
		{patient, []want{{typ: billing.EmailEventSend, recipients: []string{patient}}, {typ: billing.EmailEventDelivery, recipients: []string{patient}}}},
		{labelled, []want{{typ: billing.EmailEventSend, recipients: []string{labelled}},
			{typ: billing.EmailEventBounce, recipients: []string{labelled}, bounceType: "Permanent", bounceSubType: "General"}}},
		// The store writes an address with its display name.
		{"Marie Tremblay <" + complaint + ">", []want{{typ: billing.EmailEventSend, recipients: []string{complaint}},
			{typ: billing.EmailEventDelivery, recipients: []string{complaint}},
			{typ: billing.EmailEventComplaint, recipients: []string{complaint}, complaintType: "abuse"}}},
	}
	for _, tc := range tests {
		t.Run(tc.to, func(t *testing.T) {
			m := mailTo(tc.to)
			events := localses.Events(m, "123456789012", "ca-central-1", "clinicpay-mail")
			if len(events) != len(tc.want) {
				t.Fatalf("%d events, want %d", len(events), len(tc.want))
			}
			if again := localses.Events(m, "123456789012", "ca-central-1", "clinicpay-mail"); !reflect.DeepEqual(events, again) {
				t.Fatal("the same mail gave other events")
			}
			ids := map[string]bool{}
			var last time.Time
			for i, payload := range events {
				ev := read(t, payload)
				w := tc.want[i]
				if ev.Type != w.typ || !reflect.DeepEqual(ev.Recipients, w.recipients) || ev.BounceType != w.bounceType ||
					ev.BounceSubType != w.bounceSubType || ev.ComplaintType != w.complaintType {
					t.Errorf("event %d: %+v, want %+v", i, ev, w)
				}
				if ev.MessageID != m.MessageID || ev.Ref != ref {
					t.Errorf("event %d: message %q, ref %q", i, ev.MessageID, ev.Ref)
				}
				if i == 0 && !ev.At.Equal(sentAt) || i > 0 && !ev.At.After(last) {
					t.Errorf("event %d at %v, after %v", i, ev.At, last)
				}
				last = ev.At
				if ids[ev.ID] {
					t.Errorf("event %d: id %s twice", i, ev.ID)
				}
				ids[ev.ID] = true
				checkEnvelope(t, payload, "123456789012", "ca-central-1", "clinicpay-mail", m.Headers)
			}
		})
	}
}

// checkEnvelope: what sesevents does not read is still what AWS sends.
func checkEnvelope(t *testing.T, payload []byte, account, region, configurationSet string, headers []localses.Header) {
	t.Helper()
	var ev struct {
		Version    string   `json:"version"`
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Account    string   `json:"account"`
		Time       string   `json:"time"`
		Region     string   `json:"region"`
		Resources  []string `json:"resources"`
		Detail     struct {
			Mail struct {
				SendingAccountID string              `json:"sendingAccountId"`
				Headers          []localses.Header   `json:"headers"`
				Tags             map[string][]string `json:"tags"`
				CommonHeaders    struct {
					Subject string `json:"subject"`
				} `json:"commonHeaders"`
			} `json:"mail"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	mail := ev.Detail.Mail
	_, err := time.Parse(time.RFC3339, ev.Time)
	if ev.Version != "0" || ev.Source != "aws.ses" || !strings.HasPrefix(ev.DetailType, "Email ") || ev.Account != account ||
		ev.Region != region || err != nil || mail.SendingAccountID != account {
		t.Errorf("envelope %+v (%v)", ev, err)
	}
	if arn := "arn:aws:ses:" + region + ":" + account + ":configuration-set/" + configurationSet; !reflect.DeepEqual(ev.Resources, []string{arn}) ||
		!reflect.DeepEqual(mail.Tags["ses:configuration-set"], []string{configurationSet}) {
		t.Errorf("resources %v, tags %v", ev.Resources, mail.Tags)
	}
	if headers != nil && (!reflect.DeepEqual(mail.Headers, headers) || mail.CommonHeaders.Subject != "Facture F-2026-0042") {
		t.Errorf("headers %+v, common %+v", mail.Headers, mail.CommonHeaders)
	}
}

func TestEventsOfSeveralRecipients(t *testing.T) {
	m := mailTo("Marie <marie@example.com>, bounce@simulator.amazonses.com")
	m.Destination.Cc = []string{"complaint@simulator.amazonses.com"}
	m.Destination.Bcc = []string{"MARIE@example.com"}
	var got []string
	for _, payload := range localses.Events(m, "123456789012", "ca-central-1", "clinicpay-mail") {
		ev := read(t, payload)
		got = append(got, string(ev.Type)+" "+strings.Join(ev.Recipients, ","))
	}
	want := []string{
		"send marie@example.com,bounce@simulator.amazonses.com,complaint@simulator.amazonses.com",
		"delivery marie@example.com",
		"bounce bounce@simulator.amazonses.com",
		"delivery complaint@simulator.amazonses.com",
		"complaint complaint@simulator.amazonses.com",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestEvent(t *testing.T) {
	m := mailTo("marie@example.com", "paul@example.com")
	later := sentAt.Add(3 * time.Hour).Add(250 * time.Millisecond)
	both := []string{"marie@example.com", "paul@example.com"}
	tests := []struct {
		name string
		typ  billing.EmailEventType
		opts localses.EventOptions
		want billing.EmailEvent
	}{
		{"a transient bounce", billing.EmailEventBounce,
			localses.EventOptions{At: later, BounceType: "Transient", BounceSubType: "MailboxFull", Recipients: []string{"paul@example.com"}},
			billing.EmailEvent{Type: billing.EmailEventBounce, At: later, Recipients: []string{"paul@example.com"}, BounceType: "Transient", BounceSubType: "MailboxFull", Ref: ref}},
		{"a bounce by default", billing.EmailEventBounce, localses.EventOptions{},
			billing.EmailEvent{Type: billing.EmailEventBounce, At: sentAt, Recipients: both, BounceType: "Permanent", BounceSubType: "General", Ref: ref}},
		{"a complaint", billing.EmailEventComplaint, localses.EventOptions{At: later},
			billing.EmailEvent{Type: billing.EmailEventComplaint, At: later, Recipients: both, ComplaintType: "abuse", Ref: ref}},
		{"a delivery", billing.EmailEventDelivery, localses.EventOptions{At: later, Recipients: []string{"marie@example.com"}},
			billing.EmailEvent{Type: billing.EmailEventDelivery, At: later, Recipients: []string{"marie@example.com"}, Ref: ref}},
		{"a delay", billing.EmailEventDeliveryDelay, localses.EventOptions{At: later},
			billing.EmailEvent{Type: billing.EmailEventDeliveryDelay, At: later, Recipients: both, Ref: ref}},
		// SES's record gives a reject no time but the mail's.
		{"a reject", billing.EmailEventReject, localses.EventOptions{At: later},
			billing.EmailEvent{Type: billing.EmailEventReject, At: sentAt, Recipients: both, Ref: ref}},
		{"a send", billing.EmailEventSend, localses.EventOptions{},
			billing.EmailEvent{Type: billing.EmailEventSend, At: sentAt, Recipients: both, Ref: ref}},
		// As AWS's example: no headers, so no Ref.
		{"a rendering failure", billing.EmailEventRenderingFailure, localses.EventOptions{},
			billing.EmailEvent{Type: billing.EmailEventRenderingFailure, At: sentAt, Recipients: both}},
		{"an open, not acted on", "open", localses.EventOptions{At: later},
			billing.EmailEvent{Type: "open", At: sentAt, Recipients: both, Ref: ref}},
		{"a given id", billing.EmailEventDelivery, localses.EventOptions{ID: "8c1f0d52-4d6e-4a43-9c1e-0b7a2e5f9d31"},
			billing.EmailEvent{ID: "8c1f0d52-4d6e-4a43-9c1e-0b7a2e5f9d31", Type: billing.EmailEventDelivery, At: sentAt, Recipients: both, Ref: ref}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := localses.Event(m, tc.typ, tc.opts)
			ev := read(t, payload)
			tc.want.MessageID = m.MessageID
			if tc.want.ID == "" {
				tc.want.ID = ev.ID
			}
			if !reflect.DeepEqual(*ev, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", *ev, tc.want)
			}
			if again := localses.Event(m, tc.typ, tc.opts); string(again) != string(payload) {
				t.Fatal("the same call gave another event")
			}
			checkEnvelope(t, payload, "000000000000", "ca-central-1", "local", nil)
		})
	}
}

// An event id is a re-delivery's only when the event is the same.
func TestEventIDs(t *testing.T) {
	m := mailTo("marie@example.com")
	ids := map[string]string{}
	for name, payload := range map[string][]byte{
		"delivery":            localses.Event(m, billing.EmailEventDelivery, localses.EventOptions{}),
		"delivery later":      localses.Event(m, billing.EmailEventDelivery, localses.EventOptions{At: sentAt.Add(time.Millisecond)}),
		"bounce":              localses.Event(m, billing.EmailEventBounce, localses.EventOptions{}),
		"transient bounce":    localses.Event(m, billing.EmailEventBounce, localses.EventOptions{BounceType: "Transient"}),
		"to someone else":     localses.Event(m, billing.EmailEventDelivery, localses.EventOptions{Recipients: []string{"paul@example.com"}}),
		"of another mail":     localses.Event(localses.Mail{MessageID: "ses-2", From: m.From, Destination: m.Destination, At: m.At}, billing.EmailEventDelivery, localses.EventOptions{}),
		"the mail's send":     localses.Events(m, "000000000000", "ca-central-1", "local")[0],
		"the mail's delivery": localses.Events(m, "000000000000", "ca-central-1", "local")[1],
	} {
		id := read(t, payload).ID
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s have the same id", name, other)
		}
		ids[id] = name
	}
}

func TestHeadersOf(t *testing.T) {
	raw := "From: Clinique <factures@clinicpay.example>\r\nTo: marie@example.com\r\n" +
		"Subject: =?utf-8?q?Facture?=\r\n =?utf-8?q?_F-1?=\r\nX-Clinicpay-Mail: " + ref + "\r\n\r\nBonjour\r\nNot: a header\r\n"
	got, err := localses.HeadersOf([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []localses.Header{{Name: "From", Value: "Clinique <factures@clinicpay.example>"}, {Name: "To", Value: "marie@example.com"},
		{Name: "Subject", Value: "=?utf-8?q?Facture?= =?utf-8?q?_F-1?="}, {Name: billing.MailRefHeader, Value: ref}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got, err := localses.HeadersOf([]byte("To: a@example.com\nSubject: x")); err != nil || len(got) != 2 {
		t.Fatalf("headers only, bare line feeds: %+v, %v", got, err)
	}
	for _, bad := range []string{"Not a header\r\n\r\n", "Bad name: x\r\n\r\n", ": x\r\n\r\n"} {
		if got, err := localses.HeadersOf([]byte(bad)); err == nil {
			t.Errorf("%q read as %+v", bad, got)
		}
	}
}

// Without headers (aws-ses-v2-local keeps none of a raw e-mail) the events
// still carry the ones the store's fields tell, and no Ref.
func TestEventsOfAMailWithoutHeaders(t *testing.T) {
	m := mailTo("marie@example.com")
	m.Headers = nil
	for _, payload := range localses.Events(m, "123456789012", "ca-central-1", "clinicpay-mail") {
		if ev := read(t, payload); ev.Ref != "" {
			t.Fatalf("ref %q", ev.Ref)
		}
		checkEnvelope(t, payload, "123456789012", "ca-central-1", "clinicpay-mail", []localses.Header{
			{Name: "From", Value: m.From}, {Name: "To", Value: "marie@example.com"}, {Name: "Subject", Value: m.Subject}})
	}
}
