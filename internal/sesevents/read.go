// Package sesevents reads the events Amazon SES publishes about the e-mails
// the service sends (SES → configuration set → EventBridge default bus →
// rule → Lambda) into the domain's billing.EmailEvent.
//
// The shape read, with its sources:
//
//   - The envelope is EventBridge's: version "0", id, detail-type, source,
//     account, time, region, resources, detail, named as aws-lambda-go's
//     events.CloudWatchEvent (v1.55.1) names them. SES's source (aws.ses)
//     and detail-types ("Email Sent", "Email Delivered", "Email Bounced",
//     "Email Complaint Received", "Email Rejected", "Email Delivery
//     Delayed", "Email Rendering Failed", …): "Amazon Simple Email Service
//     events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html,
//     and "Monitoring SES events using Amazon EventBridge",
//     https://docs.aws.amazon.com/ses/latest/dg/monitoring-eventbridge.html.
//   - detail is SES's event publishing record, the one SES also publishes
//     to SNS and Firehose: "Contents of event data that Amazon SES
//     publishes to Amazon SNS",
//     https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html,
//     and "Examples of event data that Amazon SES publishes to Amazon SNS",
//     https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html
//     (testdata/*.json are those examples in the envelope).
//
// Only the EventBridge shape is read. SES's SNS notifications (an SNS
// envelope whose Message is the record, or the bare record) are refused:
// the service publishes through EventBridge only, and a second shape would
// be a second way in to test and to secure.
package sesevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clinicpay/payments/internal/billing"
)

// Limits on what is read. Real events are far inside them (EventBridge
// caps an event at 256 KB, SES a message at 50 recipients and the headers
// it repeats at 10 KB); past them the payload is not an SES event.
const (
	maxPayload    = 256 << 10
	maxDepth      = 32
	maxIDLen      = 256 // EventBridge ids are UUIDs, SES message ids ~60 bytes
	maxTypeLen    = 64
	maxRefLen     = 512 // a Ref is four ids
	maxRecipients = 100
	maxAddressLen = 320
)

// source is EventBridge's source for the events SES publishes.
const source = "aws.ses"

// eventTypes maps SES's eventType to the domain's, with the detail-type
// EventBridge gives each (checked when both are known).
var eventTypes = map[string]struct {
	typ        billing.EmailEventType
	detailType string
}{
	"Send":              {billing.EmailEventSend, "Email Sent"},
	"Delivery":          {billing.EmailEventDelivery, "Email Delivered"},
	"Bounce":            {billing.EmailEventBounce, "Email Bounced"},
	"Complaint":         {billing.EmailEventComplaint, "Email Complaint Received"},
	"Reject":            {billing.EmailEventReject, "Email Rejected"},
	"DeliveryDelay":     {billing.EmailEventDeliveryDelay, "Email Delivery Delayed"},
	"Rendering Failure": {billing.EmailEventRenderingFailure, "Email Rendering Failed"},
	// SES's own pages spell it both ways (RenderingFailure in the
	// sending-activity page's list).
	"RenderingFailure": {billing.EmailEventRenderingFailure, "Email Rendering Failed"},
}

// knownDetailTypes are the detail-types of eventTypes: one of them over
// another eventType is a contradiction, not a type added later.
var knownDetailTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range eventTypes {
		m[t.detailType] = true
	}
	return m
}()

// Only the fields read are declared: a field of another shape elsewhere in
// the record does not make the event unreadable.
type envelope struct {
	ID         string  `json:"id"`
	DetailType string  `json:"detail-type"`
	Source     string  `json:"source"`
	Time       string  `json:"time"`
	Detail     *record `json:"detail"`
}

type record struct {
	EventType     string         `json:"eventType"`
	Mail          *mailObject    `json:"mail"`
	Bounce        *bounce        `json:"bounce"`
	Complaint     *complaint     `json:"complaint"`
	Delivery      *delivery      `json:"delivery"`
	DeliveryDelay *deliveryDelay `json:"deliveryDelay"`
}

type mailObject struct {
	Timestamp   string   `json:"timestamp"`
	MessageID   string   `json:"messageId"`
	Destination []string `json:"destination"`
	// AWS documents it as "a string … true and false" and shows a boolean;
	// both are read.
	HeadersTruncated json.RawMessage `json:"headersTruncated"`
	Headers          []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

type addressed struct {
	EmailAddress string `json:"emailAddress"`
}

type bounce struct {
	BounceType        string      `json:"bounceType"`
	BounceSubType     string      `json:"bounceSubType"`
	BouncedRecipients []addressed `json:"bouncedRecipients"`
	Timestamp         string      `json:"timestamp"`
}

type complaint struct {
	ComplainedRecipients  []addressed `json:"complainedRecipients"`
	Timestamp             string      `json:"timestamp"`
	ComplaintFeedbackType string      `json:"complaintFeedbackType"`
}

type delivery struct {
	Timestamp  string   `json:"timestamp"`
	Recipients []string `json:"recipients"`
}

type deliveryDelay struct {
	DelayedRecipients []addressed `json:"delayedRecipients"`
	Timestamp         string      `json:"timestamp"`
}

// Read reads one EventBridge event carrying an SES event record into the
// domain's EmailEvent.
//
// A payload that is not an SES event is refused with a *billing.Error of
// code CodeInvalidEvent; such an event can never be read, so retrying it is
// useless. Refused: not JSON; over 256 KiB or nested over 32 levels; a
// source other than aws.ses; no id, detail.eventType or
// detail.mail.messageId; a value of the wrong JSON type in a field read; an
// id, type, Ref or address that is too long or has control characters; a
// known detail-type over another eventType; a bounce, complaint, delivery
// or delay without its object (a bounce without its bounceType); a
// timestamp that is present but not RFC 3339, or no time at all.
//
// Keys match as encoding/json matches them (case-insensitively); an object
// with the same key twice, also in another case, is refused, since two
// readers of it could disagree on which one counts.
//
// An eventType the service does not act on (Open, Click, Subscription, or
// one SES adds later) is read with Type set to it lower-cased ("open"),
// which the domain ignores; one whose lower-case spelling is a domain type
// but is not SES's spelling ("delivery") is refused.
//
// Ref is the MailRefHeader from mail.headers (name matched
// case-insensitively), "" when absent or when SES truncated the headers
// (over 10 KB: the list is then not the whole e-mail's); two different
// values are refused. At is the event's own timestamp (delivery, bounce,
// complaint, delay), else the mail's, else EventBridge's time.
func Read(payload []byte) (*billing.EmailEvent, error) {
	env, err := decode(payload)
	if err != nil {
		return nil, err
	}
	d := env.Detail
	ev := &billing.EmailEvent{ID: env.ID, MessageID: d.Mail.MessageID}
	if ev.Type, err = eventType(env); err != nil {
		return nil, err
	}
	at, recipients, err := d.specifics(ev)
	if err != nil {
		return nil, err
	}
	if ev.Recipients, err = checkRecipients(recipients); err != nil {
		return nil, invalid("the event's recipients are not valid", err)
	}
	if ev.At, err = firstTime(at, d.Mail.Timestamp, env.Time); err != nil {
		return nil, invalid("the event's time is not valid", err)
	}
	if ev.Ref, err = ref(d.Mail); err != nil {
		return nil, invalid("the e-mail's "+billing.MailRefHeader+" header is not valid", err)
	}
	return ev, nil
}

// decode reads the envelope and checks what every event has: SES as its
// source, an id, an eventType and the mail's messageId.
func decode(payload []byte) (*envelope, error) {
	if len(payload) > maxPayload {
		return nil, invalid(fmt.Sprintf("the event is over %d bytes", maxPayload), nil)
	}
	if err := uniqueKeys(payload); err != nil {
		return nil, invalid("the body is not a single JSON value with unique keys", err)
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, invalid("the body is not an EventBridge event", err)
	}
	if env.Source != source {
		return nil, invalid("the event is not from SES (source aws.ses)", nil)
	}
	d := env.Detail
	switch {
	case !validID(env.ID):
		return nil, invalid("the event has no valid id", nil)
	case d == nil || !validType(d.EventType):
		return nil, invalid("the event has no valid detail.eventType", nil)
	case d.Mail == nil || !validID(d.Mail.MessageID):
		return nil, invalid("the event has no valid detail.mail.messageId", nil)
	}
	return &env, nil
}

// eventType is the domain's type of the event, which its detail-type must
// not contradict.
func eventType(env *envelope) (billing.EmailEventType, error) {
	known, ok := eventTypes[env.Detail.EventType]
	if knownDetailTypes[env.DetailType] && (!ok || env.DetailType != known.detailType) {
		return "", invalid("the event's detail-type and eventType disagree", nil)
	}
	if ok {
		return known.typ, nil
	}
	t := billing.EmailEventType(strings.ToLower(env.Detail.EventType))
	if isDomainType(t) {
		return "", invalid("the event's eventType is not spelled as SES spells it", nil)
	}
	return t, nil
}

// specifics reads the object of ev's type into ev: its time and
// recipients (returned, checked by the caller) and its bounce or
// complaint type.
func (d *record) specifics(ev *billing.EmailEvent) (at string, recipients []string, _ error) {
	switch ev.Type {
	case billing.EmailEventDelivery:
		if d.Delivery == nil {
			return "", nil, invalid("a Delivery event without its delivery object", nil)
		}
		return d.Delivery.Timestamp, d.Delivery.Recipients, nil
	case billing.EmailEventBounce:
		if d.Bounce == nil || d.Bounce.BounceType == "" {
			return "", nil, invalid("a Bounce event without its bounce type", nil)
		}
		ev.BounceType, ev.BounceSubType = d.Bounce.BounceType, d.Bounce.BounceSubType
		if !printable(ev.BounceType, maxTypeLen) || (ev.BounceSubType != "" && !printable(ev.BounceSubType, maxTypeLen)) {
			return "", nil, invalid("the bounce's type is not valid", nil)
		}
		return d.Bounce.Timestamp, addresses(d.Bounce.BouncedRecipients), nil
	case billing.EmailEventComplaint:
		if d.Complaint == nil {
			return "", nil, invalid("a Complaint event without its complaint object", nil)
		}
		ev.ComplaintType = d.Complaint.ComplaintFeedbackType
		if ev.ComplaintType != "" && !printable(ev.ComplaintType, maxTypeLen) {
			return "", nil, invalid("the complaint's feedback type is not valid", nil)
		}
		return d.Complaint.Timestamp, addresses(d.Complaint.ComplainedRecipients), nil
	case billing.EmailEventDeliveryDelay:
		if d.DeliveryDelay == nil {
			return "", nil, invalid("a DeliveryDelay event without its deliveryDelay object", nil)
		}
		return d.DeliveryDelay.Timestamp, addresses(d.DeliveryDelay.DelayedRecipients), nil
	default:
		// Send, Reject, Rendering Failure and the types not acted on: the
		// mail's time and every recipient.
		return "", d.Mail.Destination, nil
	}
}

func invalid(msg string, err error) error {
	return &billing.Error{Code: billing.CodeInvalidEvent, Message: msg, Err: err}
}

func isDomainType(t billing.EmailEventType) bool {
	for _, k := range eventTypes {
		if k.typ == t {
			return true
		}
	}
	return false
}

// validID: an id is one printable word.
func validID(s string) bool {
	return printable(s, maxIDLen) && !strings.ContainsFunc(s, unicode.IsSpace)
}

// validType: SES's types are words ("Rendering Failure" has a space).
func validType(s string) bool {
	if s == "" || len(s) > maxTypeLen {
		return false
	}
	for _, r := range s {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '_' || r == '-')) {
			return false
		}
	}
	return true
}

// printable: non-empty, at most max bytes, valid UTF-8 without control
// characters (encoding/json turns invalid UTF-8 into U+FFFD: refused too).
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func addresses(list []addressed) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.EmailAddress
	}
	return out
}

func checkRecipients(list []string) ([]string, error) {
	if len(list) > maxRecipients {
		return nil, fmt.Errorf("%d recipients", len(list))
	}
	if len(list) == 0 {
		return nil, nil
	}
	for i, a := range list {
		if !printable(a, maxAddressLen) {
			return nil, fmt.Errorf("recipient %d", i)
		}
	}
	return append([]string(nil), list...), nil
}

// firstTime parses the first of the timestamps that is present; one that
// is present must be RFC 3339 (SES writes milliseconds, EventBridge none).
func firstTime(stamps ...string) (time.Time, error) {
	for _, s := range stamps {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, err
		}
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("no timestamp")
}

func ref(m *mailObject) (string, error) {
	if truncated(m.HeadersTruncated) {
		return "", nil
	}
	found := ""
	for _, h := range m.Headers {
		if !strings.EqualFold(h.Name, billing.MailRefHeader) {
			continue
		}
		v := strings.TrimSpace(h.Value)
		if !printable(v, maxRefLen) {
			return "", errors.New("empty, too long or not printable")
		}
		if found != "" && v != found {
			return "", errors.New("two different values")
		}
		found = v
	}
	return found, nil
}

func truncated(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "true" || s == `"true"`
}

// uniqueKeys walks payload's tokens: one JSON value, nested at most
// maxDepth, no object with a key twice (compared as encoding/json matches
// keys to fields, case-insensitively).
func uniqueKeys(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	type frame struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if values != 1 {
				return errors.New("not one JSON value")
			}
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if delim, ok := tok.(json.Delim); ok && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.keys != nil && top.expectKey {
			key, _ := tok.(string) // the decoder gives only strings here
			folded := strings.ToLower(strings.ToUpper(key))
			if top.keys[folded] {
				return fmt.Errorf("key %.40q twice", key)
			}
			top.keys[folded] = true
			top.expectKey = false
			continue
		}
		// A value: in an object, a key comes next.
		if top == nil {
			values++
		} else if top.keys != nil {
			top.expectKey = true
		}
		if delim, ok := tok.(json.Delim); ok {
			if len(stack) == maxDepth {
				return fmt.Errorf("nested deeper than %d", maxDepth)
			}
			f := &frame{}
			if delim == '{' {
				f.keys, f.expectKey = map[string]bool{}, true
			}
			stack = append(stack, f)
		}
	}
}
