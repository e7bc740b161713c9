package localstripe

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// TestDivertedEvents: the events Divert takes (a card presented to the
// reader, the service's capture) never reach the webhook, and a call's
// are taken before the call is answered; those it leaves are sent.
func TestDivertedEvents(t *testing.T) {
	ctx := context.Background()
	tm := newTerminal(t, "")
	var mu sync.Mutex
	var taken []string
	tm.sim.Divert = func(payload []byte) bool {
		var ev struct{ Type string }
		_ = json.Unmarshal(payload, &ev)
		if ev.Type == "terminal.reader.action_succeeded" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		taken = append(taken, ev.Type)
		return true
	}
	r := tm.reader(t)
	pi := tm.intent(t, 5000, "k/pi")
	if _, err := tm.g.ProcessPaymentIntent(ctx, acct, r.ID, pi.ID, "k/process"); err != nil {
		t.Fatal(err)
	}
	o, err := tm.sim.PresentPaymentMethod(ctx, r.ID, Presented{})
	if err != nil || len(o.Deliveries) != 2 || o.Deliveries[0].Status != 200 || o.Deliveries[1].Reason != Diverted {
		t.Fatalf("present: %v %+v", err, o)
	}
	if _, err := tm.g.CapturePaymentIntent(ctx, acct, pi.ID, 5000, "k/capture"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]string(nil), taken...)
	mu.Unlock()
	if !same(got, "payment_intent.amount_capturable_updated", "payment_intent.succeeded") {
		t.Fatalf("taken %v", got)
	}
	if ds := tm.sim.Pending(); len(ds) != 0 {
		t.Fatalf("sent after the capture: %+v", ds)
	}
	if ev := tm.rc.last(); ev.Type != "terminal.reader.action_succeeded" {
		t.Fatalf("the webhook's last event %s", ev.Type)
	}
}
