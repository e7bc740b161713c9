package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// manualEvents starts the addresses whose SES events the tests build
// themselves (the relay leaves them out).
const manualEvents = "manual-events+"

// TestDeliveryEvents: SES's events about an invoice e-mail — delivered,
// bounced for good or not, complained, rejected, delivered twice, out of
// order — leave the e-mail at the status the most advanced of them says,
// and the feed tells each bounce type and a complaint once.
func TestDeliveryEvents(t *testing.T) {
	t.Parallel()
	type ev struct {
		typ    billing.EmailEventType
		bounce string
		at     int    // seconds after sending: the event's own time
		id     string // the same id twice is one event delivered twice
	}
	tests := []struct {
		name       string
		events     []ev
		status     string
		bounceType string
		feed       string
	}{
		{"delivered", []ev{{typ: "send"}, {typ: "delivery", at: 2}}, "delivered", "", ""},
		{"bounced for good", []ev{{typ: "send"}, {typ: "bounce", bounce: "Permanent", at: 2}}, "bounced", "Permanent", "email_bounced/Permanent"},
		{"bounced for now", []ev{{typ: "send"}, {typ: "bounce", bounce: "Transient", at: 2}}, "bounced", "Transient", "email_bounced/Transient"},
		{"bounced for now, then delivered", []ev{{typ: "send"}, {typ: "bounce", bounce: "Transient", at: 2}, {typ: "delivery", at: 60}},
			"delivered", "", "email_bounced/Transient"},
		{"delivered, then complained", []ev{{typ: "send"}, {typ: "delivery", at: 2}, {typ: "complaint", at: 600}}, "complained", "", "email_complained/"},
		{"rejected", []ev{{typ: "reject"}}, "rejected", "", "email_bounced/"},
		{"a bounce delivered three times", []ev{{typ: "send"}, {typ: "bounce", bounce: "Permanent", at: 2, id: "b"}, {typ: "bounce", bounce: "Permanent", at: 2, id: "b"},
			{typ: "bounce", bounce: "Permanent", at: 2, id: "b"}}, "bounced", "Permanent", "email_bounced/Permanent"},
		{"complaint first, send last", []ev{{typ: "complaint", at: 600}, {typ: "delivery", at: 2}, {typ: "send"}}, "complained", "", "email_complained/"},
		{"a late soft bounce after the delivery", []ev{{typ: "delivery", at: 60}, {typ: "bounce", bounce: "Transient", at: 2}}, "delivered", "", ""},
		{"a delay says nothing", []ev{{typ: "send"}, {typ: "delivery_delay", at: 30}}, "sent", "", ""},
	}
	tn := newTenant(t, "fr")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := manualEvents + randomHex(5) + "@example.com"
			id := invoiceFor(t, tn, addr, 5000, "", "fr")
			sent := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{}).want(t, 202)
			m := sentMail(t, sent.str("messageId"))
			base := time.Unix(m.At, 0)
			for _, e := range tc.events {
				opts := localses.EventOptions{At: base.Add(time.Duration(e.at) * time.Second), BounceType: e.bounce,
					ID: e.id + "-" + m.MessageID}
				if e.id == "" {
					opts.ID = ""
				}
				if e.bounce != "" {
					opts.BounceSubType = "General"
				}
				sendEvent(t, localses.Event(m, e.typ, opts))
			}
			emails, last := emailsOf(t, tn, id)
			if len(emails) != 1 || emails[0]["status"] != tc.status || last != tc.status || stringOf(emails[0]["bounceType"]) != tc.bounceType {
				t.Fatalf("e-mail %v, last %q; want %s %s", emails, last, tc.status, tc.bounceType)
			}
			var feed []string
			for _, e := range feedFor(t, tn, id) {
				if strings.HasPrefix(e["kind"].(string), "email_") {
					email := e["email"].(map[string]any)
					feed = append(feed, e["kind"].(string)+"/"+stringOf(email["bounceType"]))
					if email["messageId"] != m.MessageID || email["to"] != addr || e["netChange"] != float64(0) {
						t.Fatalf("feed entry %v", e)
					}
				}
			}
			if strings.Join(feed, " ") != tc.feed {
				t.Fatalf("feed %v, want %q", feed, tc.feed)
			}
		})
	}
}

// TestSimulatorAddresses: SES's mailbox simulator's addresses, as the relay
// publishes their events (make dev does the same).
func TestSimulatorAddresses(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	for addr, want := range map[string]string{
		"success+" + randomHex(3) + "@simulator.amazonses.com":   "delivered",
		"bounce+" + randomHex(3) + "@simulator.amazonses.com":    "bounced",
		"complaint+" + randomHex(3) + "@simulator.amazonses.com": "complained",
		"suppressionlist@simulator.amazonses.com":                "bounced",
	} {
		id := invoiceFor(t, tn, addr, 5000, "", "en")
		call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{}).want(t, 202)
		flushSES(t)
		if _, last := emailsOf(t, tn, id); last != want {
			t.Errorf("%s: %s, want %s", addr, last, want)
		}
	}
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// TestEmailEventsTakeTurnsOnTheFeed: two bounces of one clinic recorded at
// the same moment both reach the feed, once each, one after the other: the
// first, held at DynamoDB, does not hold up the second (they share no
// item), and the read numbers them in the order they were recorded.
func TestEmailEventsTakeTurnsOnTheFeed(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	var mails []localses.Mail
	var ids []string
	for range 2 {
		addr := manualEvents + randomHex(5) + "@example.com"
		id := invoiceFor(t, tn, addr, 5000, "", "fr")
		sent := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{}).want(t, 202)
		mails, ids = append(mails, sentMail(t, sent.str("messageId"))), append(ids, id)
	}
	first := localses.Event(mails[0], billing.EmailEventBounce, localses.EventOptions{})
	var ev struct{ ID string }
	_ = json.Unmarshal(first, &ev)
	atDynamo, release := make(chan struct{}), make(chan struct{})
	rule := env.dynamo.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool {
		return r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.TransactWriteItems" && strings.Contains(string(r.Body), "ses:"+ev.ID)
	}, Times: 1, Reached: atDynamo, Hold: release})
	defer env.dynamo.Remove(rule)
	done := make(chan struct{})
	go func() { defer close(done); sendEvent(t, first) }()
	select {
	case <-atDynamo:
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		t.Fatal("the first bounce never reached DynamoDB")
	}
	sendEvent(t, localses.Event(mails[1], billing.EmailEventBounce, localses.EventOptions{}))
	close(release)
	<-done
	var seqs []string
	for _, e := range feed(t, tn) {
		if e["kind"] == "email_bounced" {
			seqs = append(seqs, e["invoiceId"].(string))
		}
	}
	if len(seqs) != 2 || seqs[0] != ids[0] || seqs[1] != ids[1] {
		t.Fatalf("the feed's bounces: %v (want the first invoice's first)", seqs)
	}
}
