package sesevents

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// testdata/*.json are AWS's example records ("Examples of event data that
// Amazon SES publishes to Amazon SNS", the same record EventBridge carries
// in detail) in EventBridge's envelope, with our X-Clinicpay-Mail header
// added to their headers. rendering_failure.json keeps its example's
// shape: no headers at all.

const exampleMessageID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"

const exampleRef = "comp_7/inv_42/key_9f1c/1"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ms(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReadExamples(t *testing.T) {
	one := []string{"recipient@example.com"}
	tests := []struct {
		fixture string
		want    billing.EmailEvent
	}{
		{"send", billing.EmailEvent{ID: "9d4a6f2e-0c1b-4d7a-a5e3-2f8b1c6d9e04", Type: billing.EmailEventSend,
			Recipients: one, At: ms("2016-10-14T05:02:16.645Z"), Ref: exampleRef}},
		{"delivery", billing.EmailEvent{ID: "5b7e9c1f-3a2d-4e8b-8f01-6c4d2b9a7e03", Type: billing.EmailEventDelivery,
			Recipients: one, At: ms("2016-10-19T23:21:04.133Z"), Ref: exampleRef}},
		{"bounce", billing.EmailEvent{ID: "8fa3bd59-1b4c-4e52-9a7e-1f6b0e9c2d01", Type: billing.EmailEventBounce,
			Recipients: one, At: ms("2017-08-05T00:41:02.669Z"), Ref: exampleRef, BounceType: "Permanent", BounceSubType: "General"}},
		{"complaint", billing.EmailEvent{ID: "2c1d0e5a-7b8f-4a3e-b6c2-94d1f0a8e302", Type: billing.EmailEventComplaint,
			Recipients: one, At: ms("2017-08-05T00:41:02.669Z"), Ref: exampleRef, ComplaintType: "abuse"}},
		// AWS's Reject example is addressed to the sender.
		{"reject", billing.EmailEvent{ID: "4e8c2a7d-6f1b-4c9e-9d3a-7b5e0f2c1a05", Type: billing.EmailEventReject,
			Recipients: []string{"sender@example.com"}, At: ms("2016-10-14T17:38:15.211Z"), Ref: exampleRef}},
		{"delivery_delay", billing.EmailEvent{ID: "3f6b8d2c-9e1a-4b7f-8c5d-1a7e4f9b2c07", Type: billing.EmailEventDeliveryDelay,
			Recipients: one, At: ms("2020-06-16T00:25:40.095Z"), Ref: exampleRef}},
		{"rendering_failure", billing.EmailEvent{ID: "7a1f3c9e-2d6b-4f8a-b1c7-5e9d0a3f6b06", Type: billing.EmailEventRenderingFailure,
			Recipients: one, At: ms("2018-01-22T18:43:06.197Z")}},
		// Not acted on: read with SES's type lower-cased, at the mail's time.
		{"open", billing.EmailEvent{ID: "1b9e5d3a-8c2f-4a6d-9e7b-3c0f6a2d8e08", Type: "open",
			Recipients: one, At: ms("2017-08-09T21:59:49.927Z"), Ref: exampleRef}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			got, err := Read(fixture(t, tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.MessageID = exampleMessageID
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

// edit returns the fixture with change applied to its decoded form.
func edit(t *testing.T, name string, change func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(fixture(t, name), &ev); err != nil {
		t.Fatal(err)
	}
	change(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func detail(ev map[string]any) map[string]any { return ev["detail"].(map[string]any) }
func mailOf(ev map[string]any) map[string]any { return detail(ev)["mail"].(map[string]any) }

func setHeaders(ev map[string]any, headers ...map[string]any) {
	list := make([]any, len(headers))
	for i, h := range headers {
		list[i] = h
	}
	mailOf(ev)["headers"] = list
}

func header(name, value string) map[string]any { return map[string]any{"name": name, "value": value} }

func TestReadRefusesWhatIsNotAnSESEvent(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	recipients := make([]any, 101)
	for i := range recipients {
		recipients[i] = "r@example.com"
	}
	tests := []struct {
		name    string
		why     string // in the error's message
		payload []byte
	}{
		{"empty", "single JSON value", nil},
		{"not JSON", "not an EventBridge event", []byte("{")},
		{"null", "not from SES", []byte("null")},
		{"an array", "not an EventBridge event", []byte("[]")},
		{"two values", "single JSON value", append(fixture(t, "send"), fixture(t, "send")...)},
		{"trailing garbage", "single JSON value", append(fixture(t, "send"), 'x')},
		{"another source", "not from SES", edit(t, "delivery", func(ev map[string]any) { ev["source"] = "aws.sns" })},
		{"the source in capitals", "not from SES", edit(t, "delivery", func(ev map[string]any) { ev["source"] = "AWS.SES" })},
		{"no source", "not from SES", edit(t, "delivery", func(ev map[string]any) { delete(ev, "source") })},
		{"no id", "no valid id", edit(t, "delivery", func(ev map[string]any) { delete(ev, "id") })},
		{"an id with a space", "no valid id", edit(t, "delivery", func(ev map[string]any) { ev["id"] = "a b" })},
		{"an id with a line break", "no valid id", edit(t, "delivery", func(ev map[string]any) { ev["id"] = "a\nb" })},
		{"a huge id", "no valid id", edit(t, "delivery", func(ev map[string]any) { ev["id"] = strings.Repeat("a", 257) })},
		{"a numeric id", "not an EventBridge event", edit(t, "delivery", func(ev map[string]any) { ev["id"] = 5 })},
		{"no detail", "no valid detail.eventType", edit(t, "delivery", func(ev map[string]any) { delete(ev, "detail") })},
		{"a string detail", "not an EventBridge event", edit(t, "delivery", func(ev map[string]any) { ev["detail"] = "x" })},
		{"no eventType", "no valid detail.eventType", edit(t, "delivery", func(ev map[string]any) { delete(detail(ev), "eventType") })},
		{"an eventType with a control character", "no valid detail.eventType", edit(t, "delivery", func(ev map[string]any) { detail(ev)["eventType"] = "Open\x07" })},
		{"a huge eventType", "no valid detail.eventType", edit(t, "send", func(ev map[string]any) {
			ev["detail-type"] = "x"
			detail(ev)["eventType"] = strings.Repeat("A", 65)
		})},
		{"a domain type in SES's place", "not spelled as SES", edit(t, "delivery", func(ev map[string]any) {
			ev["detail-type"] = "x"
			detail(ev)["eventType"] = "delivery"
		})},
		{"our spelling of a delay", "not spelled as SES", edit(t, "delivery_delay", func(ev map[string]any) {
			ev["detail-type"] = "x"
			detail(ev)["eventType"] = "Delivery_Delay"
		})},
		{"no mail", "no valid detail.mail.messageId", edit(t, "delivery", func(ev map[string]any) { delete(detail(ev), "mail") })},
		{"no messageId", "no valid detail.mail.messageId", edit(t, "delivery", func(ev map[string]any) { delete(mailOf(ev), "messageId") })},
		{"detail-type and eventType disagree", "disagree", edit(t, "bounce", func(ev map[string]any) { ev["detail-type"] = "Email Delivered" })},
		{"a known detail-type over an unknown eventType", "disagree", edit(t, "open", func(ev map[string]any) { ev["detail-type"] = "Email Delivered" })},
		{"a bounce without its object", "bounce type", edit(t, "bounce", func(ev map[string]any) { delete(detail(ev), "bounce") })},
		{"a bounce without its type", "bounce type", edit(t, "bounce", func(ev map[string]any) { delete(detail(ev)["bounce"].(map[string]any), "bounceType") })},
		{"a bounce type with a line break", "bounce's type", edit(t, "bounce", func(ev map[string]any) { detail(ev)["bounce"].(map[string]any)["bounceType"] = "Permanent\n" })},
		{"a complaint without its object", "complaint object", edit(t, "complaint", func(ev map[string]any) { delete(detail(ev), "complaint") })},
		{"a delivery without its object", "delivery object", edit(t, "delivery", func(ev map[string]any) { delete(detail(ev), "delivery") })},
		{"a delay without its object", "deliveryDelay object", edit(t, "delivery_delay", func(ev map[string]any) { delete(detail(ev), "deliveryDelay") })},
		{"a timestamp that is not RFC 3339", "time", edit(t, "delivery", func(ev map[string]any) {
			detail(ev)["delivery"].(map[string]any)["timestamp"] = "yesterday"
		})},
		{"no time at all", "time", edit(t, "send", func(ev map[string]any) {
			delete(ev, "time")
			delete(mailOf(ev), "timestamp")
		})},
		{"recipients of the wrong type", "not an EventBridge event", edit(t, "delivery", func(ev map[string]any) { detail(ev)["delivery"].(map[string]any)["recipients"] = "a@example.com" })},
		{"too many recipients", "recipients", edit(t, "send", func(ev map[string]any) { mailOf(ev)["destination"] = recipients })},
		{"an empty recipient", "recipients", edit(t, "send", func(ev map[string]any) { mailOf(ev)["destination"] = []any{""} })},
		{"a recipient with a line break", "recipients", edit(t, "send", func(ev map[string]any) { mailOf(ev)["destination"] = []any{"a@example.com\r\nBcc: b@example.com"} })},
		{"headers of the wrong type", "not an EventBridge event", edit(t, "send", func(ev map[string]any) { mailOf(ev)["headers"] = "X-Clinicpay-Mail: a/b/c/1" })},
		{"two different refs", "header", edit(t, "send", func(ev map[string]any) {
			setHeaders(ev, header(billing.MailRefHeader, "a/b/c/1"), header("x-clinicpay-mail", "a/b/c/2"))
		})},
		{"an empty ref", "header", edit(t, "send", func(ev map[string]any) { setHeaders(ev, header(billing.MailRefHeader, " ")) })},
		{"a ref with a control character", "header", edit(t, "send", func(ev map[string]any) { setHeaders(ev, header(billing.MailRefHeader, "a/b\x00/c/1")) })},
		{"a huge ref", "header", edit(t, "send", func(ev map[string]any) { setHeaders(ev, header(billing.MailRefHeader, strings.Repeat("a/", 300))) })},
		{"nested too deep", "single JSON value", edit(t, "send", func(ev map[string]any) { detail(ev)["extra"] = json.RawMessage(deep) })},
		{"over 256 KiB", "bytes", edit(t, "send", func(ev map[string]any) { ev["padding"] = strings.Repeat(" ", 256<<10) })},
		// A duplicate could make two readers (this one, a log, a person)
		// see two different events.
		{"an id twice", "unique keys", []byte(strings.Replace(string(fixture(t, "delivery")), `"id":`, `"id": "other", "id":`, 1))},
		{"an id in two cases", "unique keys", []byte(strings.Replace(string(fixture(t, "delivery")), `"id":`, `"ID": "other", "id":`, 1))},
		{"a messageId twice", "unique keys", []byte(strings.Replace(string(fixture(t, "delivery")), `"messageId":`, `"messageId": "other", "messageId":`, 1))},
		{"a source twice", "unique keys", []byte(strings.Replace(string(fixture(t, "delivery")), `"source": "aws.ses"`, `"source": "aws.ses", "Source": "evil"`, 1))},
		{"invalid UTF-8 in the id", "no valid id", []byte(strings.Replace(string(fixture(t, "delivery")), `"id": "`, "\"id\": \"\xff", 1))},
		// SES's SNS shapes: the service reads EventBridge's only.
		{"the bare record", "not from SES", func() []byte {
			var ev map[string]json.RawMessage
			if err := json.Unmarshal(fixture(t, "delivery"), &ev); err != nil {
				t.Fatal(err)
			}
			return ev["detail"]
		}()},
		{"an SNS notification", "not from SES", func() []byte {
			var ev map[string]json.RawMessage
			if err := json.Unmarshal(fixture(t, "delivery"), &ev); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
				"TopicArn": "arn:aws:sns:us-east-1:123456789012:ses", "Message": string(ev["detail"]), "Timestamp": "2016-10-19T23:21:04.200Z"})
			return b
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := Read(tc.payload)
			var e *billing.Error
			if !errors.As(err, &e) || e.Code != billing.CodeInvalidEvent || !strings.Contains(e.Message, tc.why) {
				t.Fatalf("got %+v, %v; want an invalid_event error about %q", ev, err, tc.why)
			}
		})
	}
}

func TestReadAccepts(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		check   func(t *testing.T, ev *billing.EmailEvent)
	}{
		{"the header's name in any case", edit(t, "send", func(ev map[string]any) {
			setHeaders(ev, header("From", "a@example.com"), header("x-clinicpay-MAIL", " a/b/c/1 "))
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.Ref != "a/b/c/1" {
				t.Fatalf("ref %q", ev.Ref)
			}
		}},
		{"the same ref twice", edit(t, "send", func(ev map[string]any) {
			setHeaders(ev, header(billing.MailRefHeader, "a/b/c/1"), header(billing.MailRefHeader, "a/b/c/1"))
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.Ref != "a/b/c/1" {
				t.Fatalf("ref %q", ev.Ref)
			}
		}},
		{"no ref: not ours", edit(t, "send", func(ev map[string]any) { setHeaders(ev, header("From", "a@example.com")) }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.Ref != "" {
					t.Fatalf("ref %q", ev.Ref)
				}
			}},
		{"truncated headers", edit(t, "send", func(ev map[string]any) { mailOf(ev)["headersTruncated"] = true }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.Ref != "" {
					t.Fatalf("ref %q from truncated headers", ev.Ref)
				}
			}},
		{"truncated headers, as a string", edit(t, "send", func(ev map[string]any) { mailOf(ev)["headersTruncated"] = "true" }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.Ref != "" {
					t.Fatalf("ref %q from truncated headers", ev.Ref)
				}
			}},
		{"a bounce SES could not attribute", edit(t, "bounce", func(ev map[string]any) {
			b := detail(ev)["bounce"].(map[string]any)
			b["bounceType"], b["bounceSubType"], b["bouncedRecipients"] = "Undetermined", "Undetermined", []any{}
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.BounceType != "Undetermined" || ev.Recipients != nil {
				t.Fatalf("%+v", ev)
			}
		}},
		{"a transient bounce of several", edit(t, "bounce", func(ev map[string]any) {
			b := detail(ev)["bounce"].(map[string]any)
			b["bounceType"], b["bounceSubType"] = "Transient", "MailboxFull"
			b["bouncedRecipients"] = []any{map[string]any{"emailAddress": "a@example.com"}, map[string]any{"emailAddress": "b@example.com"}}
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.BounceType != "Transient" || ev.BounceSubType != "MailboxFull" || !reflect.DeepEqual(ev.Recipients, []string{"a@example.com", "b@example.com"}) {
				t.Fatalf("%+v", ev)
			}
		}},
		{"a complaint without a feedback report", edit(t, "complaint", func(ev map[string]any) {
			c := detail(ev)["complaint"].(map[string]any)
			delete(c, "complaintFeedbackType")
			c["complaintSubType"] = nil
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.Type != billing.EmailEventComplaint || ev.ComplaintType != "" {
				t.Fatalf("%+v", ev)
			}
		}},
		{"the mail's time when the event has none", edit(t, "delivery", func(ev map[string]any) {
			delete(detail(ev)["delivery"].(map[string]any), "timestamp")
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if !ev.At.Equal(ms("2016-10-19T23:20:52.240Z")) {
				t.Fatalf("at %v", ev.At)
			}
		}},
		{"EventBridge's time when SES gives none", edit(t, "send", func(ev map[string]any) { delete(mailOf(ev), "timestamp") }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if !ev.At.Equal(ms("2016-10-14T05:02:17Z")) || ev.At.Location() != time.UTC {
					t.Fatalf("at %v", ev.At)
				}
			}},
		{"a detail-type added later", edit(t, "delivery", func(ev map[string]any) { ev["detail-type"] = "Email Delivered Again" }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.Type != billing.EmailEventDelivery {
					t.Fatalf("type %q", ev.Type)
				}
			}},
		{"Rendering Failure in one word", edit(t, "rendering_failure", func(ev map[string]any) { detail(ev)["eventType"] = "RenderingFailure" }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.Type != billing.EmailEventRenderingFailure {
					t.Fatalf("type %q", ev.Type)
				}
			}},
		{"a subscription", edit(t, "open", func(ev map[string]any) {
			ev["detail-type"] = "Email Subscribed"
			detail(ev)["eventType"] = "Subscription"
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.Type != "subscription" {
				t.Fatalf("type %q", ev.Type)
			}
		}},
		{"fields not read, of any shape", edit(t, "delivery", func(ev map[string]any) {
			ev["version"], ev["resources"] = 7, "x"
			detail(ev)["delivery"].(map[string]any)["processingTimeMillis"] = "slow"
			mailOf(ev)["commonHeaders"] = []any{1, 2}
		}), func(t *testing.T, ev *billing.EmailEvent) {
			if ev.Type != billing.EmailEventDelivery || ev.Ref != exampleRef {
				t.Fatalf("%+v", ev)
			}
		}},
		{"the same key in two objects", edit(t, "delivery", func(ev map[string]any) { detail(ev)["id"] = "x" }),
			func(t *testing.T, ev *billing.EmailEvent) {
				if ev.ID != "5b7e9c1f-3a2d-4e8b-8f01-6c4d2b9a7e03" {
					t.Fatalf("id %q", ev.ID)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := Read(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ev)
		})
	}
}

// The recipients are the event's own: changing them can't change the next
// read.
func TestReadCopiesRecipients(t *testing.T) {
	payload := fixture(t, "delivery")
	a, err := Read(payload)
	if err != nil {
		t.Fatal(err)
	}
	a.Recipients[0] = "changed"
	b, err := Read(payload)
	if err != nil {
		t.Fatal(err)
	}
	if b.Recipients[0] != "recipient@example.com" {
		t.Fatal(b.Recipients)
	}
}
