// Package localses plays, for tests and make dev, the part of SES that
// aws-ses-v2-local does not: the events SES publishes to EventBridge about
// each e-mail it took, as SES's mailbox simulator produces them for its
// addresses.
//
// The JSON is the shape internal/sesevents reads and AWS sends: EventBridge's
// envelope (field names as aws-lambda-go's events.CloudWatchEvent has them;
// source and detail-types from "Amazon Simple Email Service events",
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html)
// around SES's event record (fields and example values from "Contents of
// event data that Amazon SES publishes to Amazon SNS" and its examples,
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html,
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html).
//
// aws-ses-v2-local (2.10.2) keeps no headers of a SendRawEmail
// (dist/v1/sendRawEmail.js stores none), so a Mail read from its store has
// no billing.MailRefHeader and its events no Ref; fill Mail.Headers with
// HeadersOf(the raw message) where the raw message is at hand.
package localses

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// Mail is one e-mail as aws-ses-v2-local received it (GET /store: messageId,
// from, destination {to,cc,bcc}, subject, headers [{name,value}], at (Unix
// seconds)); the fields not needed for events (body, attachments) are left
// out.
type Mail struct {
	MessageID   string      `json:"messageId"`
	From        string      `json:"from"`
	Destination Destination `json:"destination"`
	Subject     string      `json:"subject"`
	Headers     []Header    `json:"headers,omitempty"`
	At          int64       `json:"at"`
}

// Destination holds the addresses as the store has them: each entry one
// header's text ("Marie <marie@example.com>, b@example.com").
type Destination struct {
	To  []string `json:"to"`
	Cc  []string `json:"cc"`
	Bcc []string `json:"bcc"`
}

// Header is one header of an e-mail, as the store and SES's events list them.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EventOptions shape an event of Event. Zero values take the defaults.
type EventOptions struct {
	// At is the event's time; default the mail's. Send, Reject and
	// Rendering Failure have no time of their own in SES's record: theirs
	// is the mail's, and At shows in EventBridge's time only.
	At time.Time
	// BounceType and BounceSubType of a bounce; default Permanent, General.
	BounceType, BounceSubType string
	// Recipients the event is about; default every recipient of the mail.
	Recipients []string
	// ID is EventBridge's id; default one derived from the mail and these
	// options, so the same call gives the same event (a re-delivery).
	ID string
	// Account, Region and ConfigurationSet fill the envelope and the
	// mail's tags; default make dev's: 000000000000, ca-central-1, local.
	Account, Region, ConfigurationSet string
}

// The mailbox simulator's addresses (local part, before any +label).
// https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html
const simulatorDomain = "simulator.amazonses.com"

// step is the time between two events of one mail: a few milliseconds,
// enough to order them.
const step = 5 * time.Millisecond

// Events returns the EventBridge events SES would publish for this mail, as
// SES's mailbox simulator would for its addresses: one Send for the mail,
// then for each recipient (To, Cc and Bcc, once each):
// bounce@simulator.amazonses.com a Bounce (Permanent, General);
// complaint@… a Delivery then a Complaint (abuse); suppressionlist@… a
// Bounce (Permanent, OnAccountSuppressionList); ooto@… and any other
// address a Delivery (the out-of-office reply is an e-mail to the sender,
// not an event). A +label is allowed (bounce+x@…).
//
// Each event is a few milliseconds after the previous one, the first at the
// mail's time; ids derive from the message id and the step, so the same
// mail gives the same events.
func Events(m Mail, account, region, configurationSet string) [][]byte {
	recipients := m.recipients()
	at := time.Unix(m.At, 0).UTC()
	b := builder{m: m, account: account, region: region, configurationSet: configurationSet}
	n := 0
	add := func(typ billing.EmailEventType, e spec) []byte {
		e.typ, e.at, e.id = typ, at.Add(time.Duration(n)*step), uuidOf(m.MessageID, fmt.Sprint(n))
		n++
		return b.build(e)
	}
	out := [][]byte{add(billing.EmailEventSend, spec{recipients: recipients})}
	for _, r := range recipients {
		one := []string{r}
		switch simulated(r) {
		case "bounce":
			out = append(out, add(billing.EmailEventBounce, spec{recipients: one, bounceType: "Permanent", bounceSubType: "General"}))
		case "suppressionlist":
			out = append(out, add(billing.EmailEventBounce, spec{recipients: one, bounceType: "Permanent", bounceSubType: "OnAccountSuppressionList"}))
		case "complaint":
			out = append(out, add(billing.EmailEventDelivery, spec{recipients: one}), add(billing.EmailEventComplaint, spec{recipients: one}))
		default:
			out = append(out, add(billing.EmailEventDelivery, spec{recipients: one}))
		}
	}
	return out
}

// Event builds a single event, for tests that need odd ones (a transient
// bounce, a reject, a delay, events out of order…). typ is one of the
// domain's types, or "open", "click", "subscription" (events the service
// does not act on); another is written as its own eventType.
func Event(m Mail, typ billing.EmailEventType, opts EventOptions) []byte {
	e := spec{typ: typ, at: opts.At, recipients: opts.Recipients, id: opts.ID,
		bounceType: opts.BounceType, bounceSubType: opts.BounceSubType}
	if e.at.IsZero() {
		e.at = time.Unix(m.At, 0)
	}
	e.at = e.at.UTC()
	if e.recipients == nil {
		e.recipients = m.recipients()
	}
	if typ == billing.EmailEventBounce {
		e.bounceType = cmp.Or(e.bounceType, "Permanent")
		e.bounceSubType = cmp.Or(e.bounceSubType, "General")
	}
	if e.id == "" {
		e.id = uuidOf(m.MessageID, string(typ), e.at.Format(time.RFC3339Nano), e.bounceType, e.bounceSubType,
			strings.Join(e.recipients, ","))
	}
	b := builder{m: m, account: cmp.Or(opts.Account, "000000000000"), region: cmp.Or(opts.Region, "ca-central-1"),
		configurationSet: cmp.Or(opts.ConfigurationSet, "local")}
	return b.build(e)
}

// HeadersOf reads the header section of a raw e-mail (RFC 5322), in order,
// folded lines unfolded: what SES lists in its events' mail.headers.
func HeadersOf(raw []byte) ([]Header, error) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []Header
	for {
		line, err := r.ReadContinuedLine()
		if line == "" && (err == nil || errors.Is(err, io.EOF)) {
			return out, nil // the blank line, or a message of headers only
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read headers: %w", err)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("read headers: not a header line: %.40q", line)
		}
		out = append(out, Header{Name: name, Value: strings.TrimSpace(value)})
		if err != nil {
			return out, nil
		}
	}
}

// recipients are the mail's addresses, bare, once each (compared without
// case), in To, Cc, Bcc order.
func (m Mail) recipients() []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{m.Destination.To, m.Destination.Cc, m.Destination.Bcc} {
		for _, entry := range list {
			for _, a := range addresses(entry) {
				if k := strings.ToLower(a); !seen[k] {
					seen[k] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// addresses reads one header's text of addresses; what does not parse is
// kept as it is.
func addresses(text string) []string {
	if list, err := mail.ParseAddressList(text); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out
	}
	if text = strings.TrimSpace(text); text != "" {
		return []string{text}
	}
	return nil
}

// simulated is the simulator's scenario for an address ("bounce",
// "complaint", …), "" for an address of another domain.
func simulated(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.EqualFold(addr[at+1:], simulatorDomain) {
		return ""
	}
	local, _, _ := strings.Cut(strings.ToLower(addr[:at]), "+")
	return local
}

// uuidOf makes a UUID (version 8: custom) from parts: the same parts give
// the same id.
func uuidOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// spec is one event to build.
type spec struct {
	typ                       billing.EmailEventType
	id                        string
	at                        time.Time
	recipients                []string
	bounceType, bounceSubType string
}

type builder struct {
	m                                 Mail
	account, region, configurationSet string
}

// sesTypes: the domain's type → SES's eventType, EventBridge's
// detail-type and the record's key for the event's object.
var sesTypes = map[billing.EmailEventType]struct{ eventType, detailType, key string }{
	billing.EmailEventSend:             {"Send", "Email Sent", "send"},
	billing.EmailEventDelivery:         {"Delivery", "Email Delivered", "delivery"},
	billing.EmailEventBounce:           {"Bounce", "Email Bounced", "bounce"},
	billing.EmailEventComplaint:        {"Complaint", "Email Complaint Received", "complaint"},
	billing.EmailEventReject:           {"Reject", "Email Rejected", "reject"},
	billing.EmailEventDeliveryDelay:    {"DeliveryDelay", "Email Delivery Delayed", "deliveryDelay"},
	billing.EmailEventRenderingFailure: {"Rendering Failure", "Email Rendering Failed", "failure"},
	"open":                             {"Open", "Email Opened", "open"},
	"click":                            {"Click", "Email Clicked", "click"},
	"subscription":                     {"Subscription", "Email Subscribed", "subscription"},
}

// Field order as in AWS's examples.
type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	// eventType, mail and the event's own object under its key (send,
	// delivery, bounce…).
	Detail map[string]any `json:"detail"`
}

type mailObject struct {
	Timestamp        string              `json:"timestamp"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn"`
	SendingAccountID string              `json:"sendingAccountId"`
	MessageID        string              `json:"messageId"`
	Destination      []string            `json:"destination"`
	HeadersTruncated bool                `json:"headersTruncated"`
	Headers          []Header            `json:"headers,omitempty"`
	CommonHeaders    *commonHeaders      `json:"commonHeaders,omitempty"`
	Tags             map[string][]string `json:"tags"`
}

type commonHeaders struct {
	From      []string `json:"from"`
	Date      string   `json:"date,omitempty"`
	To        []string `json:"to,omitempty"`
	Cc        []string `json:"cc,omitempty"`
	MessageID string   `json:"messageId"`
	Subject   string   `json:"subject"`
}

type recipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action,omitempty"`
	Status         string `json:"status,omitempty"`
	DiagnosticCode string `json:"diagnosticCode,omitempty"`
}

// millis is SES's timestamp: RFC 3339 with milliseconds, in UTC.
func millis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (b builder) build(e spec) []byte {
	m := b.m
	sent := time.Unix(m.At, 0).UTC()
	t, ok := sesTypes[e.typ]
	if !ok {
		t.eventType, t.detailType = string(e.typ), "Email "+string(e.typ)
	}
	sender := m.From
	if a, err := mail.ParseAddress(m.From); err == nil {
		sender = a.Address
	}
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	tags := map[string][]string{"ses:from-domain": {domain}, "ses:caller-identity": {"local"}, "ses:source-ip": {"127.0.0.1"}}
	var resources []string
	if b.configurationSet != "" {
		tags["ses:configuration-set"] = []string{b.configurationSet}
		resources = []string{fmt.Sprintf("arn:aws:ses:%s:%s:configuration-set/%s", b.region, b.account, b.configurationSet)}
	}
	mo := mailObject{
		Timestamp: millis(sent), Source: sender, SendingAccountID: b.account, MessageID: m.MessageID,
		SourceArn:   fmt.Sprintf("arn:aws:ses:%s:%s:identity/%s", b.region, b.account, domain),
		Destination: m.recipients(), Tags: tags,
	}
	// AWS's Rendering Failure example carries no headers: the e-mail was
	// never rendered.
	if e.typ != billing.EmailEventRenderingFailure {
		mo.Headers, mo.CommonHeaders = b.headers()
	}
	var object any
	reportingMTA := "a1-23.smtp-out." + b.region + ".amazonses.com"
	feedbackID := e.id + "-000000"
	switch e.typ {
	case billing.EmailEventSend:
		object = struct{}{}
	case billing.EmailEventDelivery:
		object = map[string]any{"timestamp": millis(e.at), "processingTimeMillis": e.at.Sub(sent).Milliseconds(),
			"recipients": e.recipients, "smtpResponse": "250 2.6.0 Message received", "reportingMTA": reportingMTA}
	case billing.EmailEventBounce:
		status, diagnostic := bounceDiagnostic(e.bounceType, e.bounceSubType)
		list := make([]recipient, len(e.recipients))
		for i, r := range e.recipients {
			list[i] = recipient{EmailAddress: r, Action: "failed", Status: status, DiagnosticCode: diagnostic}
		}
		object = map[string]any{"bounceType": e.bounceType, "bounceSubType": e.bounceSubType, "bouncedRecipients": list,
			"timestamp": millis(e.at), "feedbackId": feedbackID, "reportingMTA": "dsn; " + reportingMTA}
	case billing.EmailEventComplaint:
		list := make([]recipient, len(e.recipients))
		for i, r := range e.recipients {
			list[i] = recipient{EmailAddress: r}
		}
		object = map[string]any{"complainedRecipients": list, "timestamp": millis(e.at), "feedbackId": feedbackID,
			"userAgent": "Amazon SES Mailbox Simulator", "complaintFeedbackType": "abuse", "arrivalDate": millis(e.at)}
	case billing.EmailEventReject:
		object = map[string]any{"reason": "Bad content"}
	case billing.EmailEventDeliveryDelay:
		list := make([]recipient, len(e.recipients))
		for i, r := range e.recipients {
			list[i] = recipient{EmailAddress: r, Status: "4.4.1", DiagnosticCode: "smtp; 421 4.4.1 Unable to connect to remote host"}
		}
		object = map[string]any{"timestamp": millis(e.at), "delayType": "TransientCommunicationFailure",
			"expirationTime": millis(sent.Add(14 * time.Hour)), "delayedRecipients": list, "reportingMTA": "192.0.2.1"}
	case billing.EmailEventRenderingFailure:
		object = map[string]any{"errorMessage": "Attribute 'attributeName' is not present in the rendering data.", "templateName": "MyTemplate"}
	case "open":
		object = map[string]any{"ipAddress": "192.0.2.1", "timestamp": millis(e.at), "userAgent": "Mozilla/5.0"}
	case "click":
		object = map[string]any{"ipAddress": "192.0.2.1", "timestamp": millis(e.at), "userAgent": "Mozilla/5.0",
			"link": "https://example.com/", "linkTags": map[string][]string{}}
	case "subscription":
		object = map[string]any{"contactList": "local", "timestamp": millis(e.at), "source": "UnsubscribeHeader",
			"newTopicPreferences": map[string]any{"unsubscribeAll": true}}
	}
	d := map[string]any{"eventType": t.eventType, "mail": mo}
	if object != nil {
		d[t.key] = object
	}
	env := envelope{
		Version: "0", ID: e.id, DetailType: t.detailType, Source: "aws.ses", Account: b.account,
		// EventBridge's time has whole seconds.
		Time: e.at.UTC().Truncate(time.Second).Format(time.RFC3339), Region: b.region, Resources: resources, Detail: d,
	}
	out, err := marshal(env)
	if err != nil {
		panic(err) // strings, numbers and maps of them only
	}
	return out
}

// headers lists the stored mail's headers; a mail stored without any
// (aws-ses-v2-local keeps none of a raw e-mail) gets the ones the store's
// fields tell, as SES would list them.
func (b builder) headers() ([]Header, *commonHeaders) {
	m := b.m
	common := &commonHeaders{From: []string{m.From}, To: m.Destination.To, Cc: m.Destination.Cc, MessageID: m.MessageID, Subject: m.Subject}
	if len(m.Headers) > 0 {
		for _, h := range m.Headers {
			if strings.EqualFold(h.Name, "Date") {
				common.Date = h.Value
			}
		}
		return append([]Header(nil), m.Headers...), common
	}
	hs := []Header{{"From", m.From}}
	for _, to := range m.Destination.To {
		hs = append(hs, Header{"To", to})
	}
	for _, cc := range m.Destination.Cc {
		hs = append(hs, Header{"Cc", cc})
	}
	return append(hs, Header{"Subject", m.Subject}), common
}

// bounceDiagnostic is what the DSN of such a bounce says, per recipient.
func bounceDiagnostic(bounceType, subType string) (status, diagnostic string) {
	switch {
	case subType == "OnAccountSuppressionList":
		return "5.1.1", "Amazon SES did not send the message to this address because it is on the suppression list for your account."
	case subType == "Suppressed":
		return "5.1.1", "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address."
	case subType == "MailboxFull":
		return "5.2.2", "smtp; 552 5.2.2 Mailbox full"
	case bounceType == "Transient":
		return "4.4.7", "smtp; 421 4.4.7 Delivery time expired"
	}
	return "5.1.1", "smtp; 550 5.1.1 user unknown"
}

// marshal is json.Marshal without HTML escaping: AWS writes < and > as
// they are ("Name <a@example.com>").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
