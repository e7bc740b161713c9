package billing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The invariant of delivery statuses: whatever the order in which SES's
// events arrive, and however often each is delivered, an e-mail ends at the
// same status (the most advanced said, the latest at the same rank), and
// the feed tells each bounce type and a complaint at most once.
func TestDeliveryStatusIgnoresOrder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newFixture(t)
		ctx := context.Background()
		sent, _, err := f.svc.SendEmail(ctx, Staff("c1"), "i1", &EmailInput{})
		if err != nil {
			rt.Fatal(err)
		}
		ref := f.mail.sent[0].Ref
		kinds := []struct {
			typ    EmailEventType
			bounce string
		}{
			{EmailEventSend, ""}, {EmailEventDelivery, ""}, {EmailEventBounce, BounceTransient}, {EmailEventBounce, BouncePermanent},
			{EmailEventBounce, BounceUndetermined}, {EmailEventBounce, ""}, {EmailEventComplaint, ""}, {EmailEventReject, ""},
			{EmailEventDeliveryDelay, ""},
		}
		subtypes := []string{"", "General", "MailboxFull", "Suppressed", "OnAccountSuppressionList"}
		base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
		n := rapid.IntRange(1, 8).Draw(rt, "events")
		var evs []*EmailEvent
		for i := range n {
			k := kinds[rapid.IntRange(0, len(kinds)-1).Draw(rt, "kind")]
			ev := &EmailEvent{ID: fmt.Sprintf("ev%d", i), Type: k.typ, MessageID: sent.MessageID, Ref: ref,
				At: base.Add(time.Duration(rapid.IntRange(0, 2).Draw(rt, "minute")) * time.Minute), BounceType: k.bounce} // few times: ties
			if k.typ == EmailEventBounce {
				ev.BounceSubType = rapid.SampledFrom(subtypes).Draw(rt, "subtype")
			}
			evs = append(evs, ev)
		}
		// The expected end: the highest rank said, the latest among equals,
		// the last subtype among ties.
		var want EmailDelivery
		for _, ev := range evs {
			if d, ok := deliveryOf(ev); ok && (want.Status == "" || d.outranks(want)) {
				want = d
			}
		}
		order := rapid.Permutation(evs).Draw(rt, "order")
		for _, ev := range order {
			times := rapid.IntRange(1, 3).Draw(rt, "deliveries")
			for range times {
				if _, err := f.svc.HandleEmailEvent(ctx, ev); err != nil {
					rt.Fatal(err)
				}
			}
		}
		got := f.invoice(t).Emails[0].Delivery
		if want.Status == "" {
			want.Status = EmailSent // no event said anything of its fate
		}
		if (got.Status != want.Status && !(got.Status == "" && want.Status == EmailSent)) || got.BounceType != want.BounceType ||
			got.BounceSubType != want.BounceSubType || !got.At.Equal(want.At) {
			rt.Fatalf("ended %+v, want %+v", got, want)
		}
		seen := map[string]bool{}
		for _, e := range f.feed(t) {
			if e.Email == nil {
				continue
			}
			k := e.Kind + "/" + e.Email.BounceType
			if seen[k] {
				rt.Fatalf("the feed told %s twice", k)
			}
			seen[k] = true
		}
		// And it tells the end: the billing module acts on it.
		switch got.Status {
		case EmailBounced, EmailRejected:
			if !seen[KindEmailBounced+"/"+got.BounceType] {
				rt.Fatalf("ended %s %s, the feed says %v", got.Status, got.BounceType, seen)
			}
		case EmailComplained:
			if !seen[KindEmailComplained+"/"] {
				rt.Fatalf("ended complained, the feed says %v", seen)
			}
		}
	})
}

func TestEmailEventsNotOurs(t *testing.T) {
	f := newFixture(t)
	for _, ref := range []string{"", "c1/i1", "../x/y/z", "c2/i1/invoice/a", "c1/nope/invoice/a"} {
		res, err := f.svc.HandleEmailEvent(context.Background(), &EmailEvent{ID: "x" + ref, Type: EmailEventBounce, MessageID: "m", Ref: ref})
		if err != nil || res.Outcome != OutcomeIgnored {
			t.Errorf("%q: %+v %v", ref, res, err)
		}
	}
}

// SES's clock may read earlier than ours: an e-mail's status time is never
// before its send time, whatever the event says.
func TestEmailStatusAtNeverBeforeSentAt(t *testing.T) {
	sent := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event, want time.Time
	}{
		{time.Time{}, time.Time{}},
		{sent.Add(-300 * time.Millisecond), sent},
		{sent, sent},
		{sent.Add(2 * time.Second), sent.Add(2 * time.Second)},
	} {
		e := SentEmail{SentAt: sent, Delivery: EmailDelivery{Status: EmailBounced, At: tc.event}}
		if got := e.StatusAt(); !got.Equal(tc.want) {
			t.Errorf("event at %v: status at %v, want %v", tc.event, got, tc.want)
		}
	}
}
