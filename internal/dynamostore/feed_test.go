package dynamostore

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/clinicpay/payments/internal/billing"
)

// feedScenario is one tenant's concurrent commits and reads: a writer per
// invoice commits its events in turn, each with a number of feed entries,
// stamped by a clock that may run behind (skew); readers page through the
// feed all along, each with its page size.
type feedScenario struct {
	entries [][]int // per invoice, per event: how many feed entries
	skew    [][]int // per invoice, per event: seconds off the writer's clock
	pages   []int   // per reader, its page size
}

// fataler is a *testing.T or a *rapid.T.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// entryKey identifies an entry: its event and its place in the event (kept
// in Amount).
type entryKey struct {
	event string
	i     int64
}

// runFeedScenario runs sc on DynamoDB Local and checks the feed's promise:
// each reader, paging while events commit, gets every entry exactly once,
// in the order of the final feed; positions are 1, 2, 3, …; each invoice's
// entries come in the order of its events; nothing is left pending.
func runFeedScenario(t fataler, sc feedScenario) {
	s, ctx := newStore(), context.Background()
	company := id("co-")
	var writers sync.WaitGroup
	var failed atomic.Value
	for k, events := range sc.entries {
		inv := fullInvoice(company)
		inv.Reminders = billing.ReminderState{}
		if err := s.PutInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
		writers.Go(func() {
			for j, n := range events {
				at := t0.Add(time.Duration(sc.skew[k][j]) * time.Second)
				if err := commitFeedEvent(ctx, s, inv, eventID(company, k, j), n, at); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()
	got := make([][]billing.FeedEntry, len(sc.pages))
	var readers sync.WaitGroup
	for r, limit := range sc.pages {
		readers.Go(func() {
			var err error
			if got[r], err = readWhileWritten(ctx, s, company, limit, done); err != nil {
				failed.Store(err)
			}
		})
	}
	readers.Wait()
	if err, ok := failed.Load().(error); ok {
		t.Fatal(err)
	}
	checkFeed(t, s, company, sc, got)
}

// readWhileWritten pages through the feed until the writers are done and a
// page after that is empty with nothing more.
func readWhileWritten(ctx context.Context, s *Store, company string, limit int, done <-chan struct{}) ([]billing.FeedEntry, error) {
	var got []billing.FeedEntry
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, more, err := s.ListFeed(ctx, company, int64(len(got)), limit)
		if err != nil {
			return nil, err
		}
		if len(page) > limit {
			return nil, fmt.Errorf("a page of %d entries, limit %d", len(page), limit)
		}
		got = append(got, page...)
		if finished && len(page) == 0 && !more {
			return got, nil
		}
	}
}

// eventID names the j-th event of invoice k.
func eventID(company string, k, j int) string { return fmt.Sprintf("evt_%s_%d_%d", company, k, j) }

// commitFeedEvent commits the invoice's next event with n feed entries
// recorded at at, as the service does.
func commitFeedEvent(ctx context.Context, s *Store, inv *billing.Invoice, eventID string, n int, at time.Time) error {
	inv.Version++
	c := &billing.EventCommit{
		Event:   billing.EventRecord{ID: eventID, Type: billing.EventChargeRefunded, CompanyID: inv.CompanyID, InvoiceID: inv.ID, Outcome: billing.OutcomeApplied, ReceivedAt: at},
		Invoice: inv,
	}
	for i := range n {
		c.Feed = append(c.Feed, billing.FeedEntry{RecordedAt: at, InvoiceID: inv.ID, Kind: billing.KindRefund, Amount: int64(i), NetChange: -1, Currency: "cad", EventID: eventID})
	}
	return s.CommitEvent(ctx, c)
}

func checkFeed(t fataler, s *Store, company string, sc feedScenario, got [][]billing.FeedEntry) {
	ctx := context.Background()
	want := 0
	order := map[string]int{} // an event's place among its invoice's
	for k, events := range sc.entries {
		for j, n := range events {
			want += n
			order[eventID(company, k, j)] = j
		}
	}
	var final []billing.FeedEntry
	for {
		page, more, err := s.ListFeed(ctx, company, int64(len(final)), 100)
		if err != nil {
			t.Fatal(err)
		}
		final = append(final, page...)
		if !more {
			break
		}
	}
	if len(final) != want {
		t.Fatalf("%d entries committed; the feed has %d", want, len(final))
	}
	for r, entries := range got {
		if len(entries) != want {
			t.Fatalf("reader %d got %d entries of %d", r, len(entries), want)
		}
		for i, e := range entries {
			if f := final[i]; e.Seq != f.Seq || e.EventID != f.EventID || e.Amount != f.Amount {
				t.Fatalf("position %d: reader %d got %s/%d, the feed has %s/%d", f.Seq, r, e.EventID, e.Amount, f.EventID, f.Amount)
			}
		}
	}
	seen := map[entryKey]bool{}
	last := map[string]entryKey{} // per invoice, its last entry so far
	for i, e := range final {
		k := entryKey{e.EventID, e.Amount}
		switch {
		case e.Seq != int64(i+1):
			t.Fatalf("entry %d has position %d", i, e.Seq)
		case seen[k]:
			t.Fatalf("entry %v twice", k)
		}
		seen[k] = true
		if p, ok := last[e.InvoiceID]; ok && slices.Compare([]int64{int64(order[p.event]), p.i}, []int64{int64(order[k.event]), k.i}) >= 0 {
			t.Fatalf("invoice %s: entry %v after %v", e.InvoiceID, k, p)
		}
		last[e.InvoiceID] = k
	}
	if _, pending, _, err := s.pendingFeed(ctx, company); err != nil || len(pending) > 0 {
		t.Fatalf("%d entries left pending (%v)", len(pending), err)
	}
}

// TestFeedUnderConcurrentCommits: generated bursts of one tenant
// (invoices, events, entries per event, writers' clocks running behind or
// ahead, readers and their page sizes) keep the feed's promise
// (runFeedScenario).
func TestFeedUnderConcurrentCommits(t *testing.T) {
	// Each case is a burst against DynamoDB Local: fewer than rapid's
	// default 100, unless asked for on the command line.
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("15")
		defer func() { _ = f.Value.Set(f.DefValue) }()
	}
	rapid.Check(t, func(rt *rapid.T) {
		invoices := rapid.IntRange(1, 8).Draw(rt, "invoices")
		sc := feedScenario{pages: rapid.SliceOfN(rapid.IntRange(1, 7), 1, 3).Draw(rt, "pages")}
		for k := range invoices {
			events := rapid.IntRange(1, 4).Draw(rt, fmt.Sprintf("events%d", k))
			sc.entries = append(sc.entries, rapid.SliceOfN(rapid.IntRange(1, 3), events, events).Draw(rt, fmt.Sprintf("entries%d", k)))
			sc.skew = append(sc.skew, rapid.SliceOfN(rapid.IntRange(-5, 5), events, events).Draw(rt, fmt.Sprintf("skew%d", k)))
		}
		runFeedScenario(rt, sc)
	})
}

// TestOneTenantsBurst: 32 writers, each committing five events of one or
// two entries on its invoice with clocks up to 3 s apart, while two readers
// page through the feed, three and seven entries at a time.
func TestOneTenantsBurst(t *testing.T) {
	sc := feedScenario{pages: []int{3, 7}}
	for k := range 32 {
		var entries, skew []int
		for j := range 5 {
			entries = append(entries, 1+(k+j)%2)
			skew = append(skew, (k*5+j)%7-3)
		}
		sc.entries, sc.skew = append(sc.entries, entries), append(sc.skew, skew)
	}
	runFeedScenario(t, sc)
}
