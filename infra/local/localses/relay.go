package localses

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Relay is SES's event publishing, locally: it learns each e-mail SES took
// from the SendRawEmail call and its answer (seen at a recording proxy in
// front of aws-ses-v2-local, which keeps no headers of a raw e-mail) and
// hands that e-mail's events (Events) to Deliver, once each, in order.
//
// Events wait in a queue until Flush (tests decide when SES "publishes") or
// Run (make dev: every second, as SES does within seconds).
type Relay struct {
	Account, Region, ConfigurationSet string
	// Deliver hands one event to the e-mail events function.
	Deliver func(ctx context.Context, payload []byte) error
	// Now is the events' clock (time.Now when nil).
	Now func() time.Time
	// Skip, when set, leaves out the mails it says (a test that builds an
	// e-mail's events itself, in its own order).
	Skip func(Mail) bool
	// OnError, when set, hears Run's failed flushes (the event stays queued
	// and the next tick tries again).
	OnError func(error)

	// flushing serializes Flush: a caller returns once every event queued
	// before it was delivered, by it or by a flush already under way.
	flushing sync.Mutex
	mu       sync.Mutex
	queue    [][]byte
	seen     map[string]bool
}

// SentRaw records one SendRawEmail call (its form-encoded parameters) and
// the XML SES answered with; calls that are not a successful SendRawEmail
// are ignored.
func (r *Relay) SentRaw(form url.Values, status int, answer []byte) {
	if status != 200 || form.Get("Action") != "SendRawEmail" {
		return
	}
	var out struct {
		MessageID string `xml:"SendRawEmailResult>MessageId"`
	}
	if xml.Unmarshal(answer, &out) != nil || out.MessageID == "" {
		return
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("RawMessage.Data"))
	if err != nil {
		return
	}
	headers, err := HeadersOf(raw)
	if err != nil {
		return
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	m := Mail{MessageID: out.MessageID, From: form.Get("Source"), Headers: headers, At: now().Unix()}
	for i := 1; ; i++ {
		to := form.Get(fmt.Sprintf("Destinations.member.%d", i))
		if to == "" {
			break
		}
		m.Destination.To = append(m.Destination.To, to)
	}
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Subject") {
			m.Subject = h.Value
		}
	}
	if r.Skip != nil && r.Skip(m) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if r.seen[m.MessageID] {
		return
	}
	r.seen[m.MessageID] = true
	r.queue = append(r.queue, Events(m, r.Account, r.Region, r.ConfigurationSet)...)
}

// Flush delivers every event queued, in order; an event whose delivery
// fails stays at the head of the queue.
func (r *Relay) Flush(ctx context.Context) error {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.mu.Unlock()
			return nil
		}
		next := r.queue[0]
		r.mu.Unlock()
		if err := r.Deliver(ctx, next); err != nil {
			return fmt.Errorf("deliver an SES event: %w", err)
		}
		r.mu.Lock()
		r.queue = r.queue[1:]
		r.mu.Unlock()
	}
}

// Run flushes every interval until ctx ends.
func (r *Relay) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) && r.OnError != nil {
				r.OnError(err)
			}
		}
	}
}

// Pending is how many events wait in the queue.
func (r *Relay) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}
