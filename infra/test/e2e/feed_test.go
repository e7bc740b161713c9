package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// TestFeedWhileEventsArrive: 200 feed entries are recorded by concurrent
// webhook deliveries while a reader pages through GET /payments with
// limit=7; the reader gets every entry exactly once, in the feed's order.
func TestFeedWhileEventsArrive(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	const invoices, refundsEach = 20, 9 // 20 × (1 payment + 9 refunds) = 200 entries
	links := make([]linked, invoices)
	for i := range links {
		links[i] = linkedInvoice(t, tn, 1000)
	}

	var writers sync.WaitGroup
	for _, l := range links {
		writers.Go(func() {
			pi, ch := "pi_"+randomHex(8), "ch_"+randomHex(8)
			deliverAsStripe(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(8), pi, "paid"))).want(t, 200)
			for k := int64(1); k <= refundsEach; k++ {
				deliverAsStripe(t, stripeEvent("evt_"+randomHex(10), "charge.refunded", tn.Account, refundedCharge(tn, ch, pi, 1000, 100*k))).want(t, 200)
			}
		})
	}
	written := make(chan struct{})
	go func() { writers.Wait(); close(written) }()

	// The reader pages on until it has every entry, or the writers are done
	// and a page after that comes back empty (a writer that failed has
	// said why; the counts below then tell the rest).
	var got []map[string]any
	after, pages, drained := "", 0, false
	for len(got) < invoices*(1+refundsEach) && !drained {
		finished := false
		select {
		case <-written:
			finished = true
		default:
		}
		r := call(t, "GET", "/payments?limit=7&after="+after, tn.Staff, nil).want(t, 200)
		page := r.list("payments")
		pages++
		if len(page) > 7 {
			t.Fatalf("page of %d entries with limit=7", len(page))
		}
		if len(page) > 0 && r.str("nextCursor") != page[len(page)-1]["cursor"] {
			t.Fatalf("nextCursor is not the last entry's cursor")
		}
		got = append(got, page...)
		after = r.str("nextCursor")
		drained = finished && len(page) == 0
		if len(page) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	<-written

	want := feed(t, tn)
	if len(want) != invoices*(1+refundsEach) {
		t.Fatalf("the feed has %d entries, want %d", len(want), invoices*(1+refundsEach))
	}
	if len(got) != len(want) {
		t.Fatalf("the reader got %d entries in %d pages, the feed has %d", len(got), pages, len(want))
	}
	seen := map[string]bool{}
	net := map[string]float64{} // per invoice, what the entries say was paid online
	for i := range want {
		id := fmt.Sprint(got[i]["eventId"], got[i]["kind"])
		if got[i]["cursor"] != want[i]["cursor"] || got[i]["eventId"] != want[i]["eventId"] {
			t.Fatalf("entry %d: reader %v, feed %v", i, got[i], want[i])
		}
		if seen[id] {
			t.Fatalf("entry %s seen twice", id)
		}
		seen[id] = true
		inv := got[i]["invoiceId"].(string)
		net[inv] += got[i]["netChange"].(float64)
		if got[i]["kind"] == "refund" && (got[i]["netChange"].(float64) >= 0 || got[i]["balanceDue"].(float64) != 0) {
			t.Fatalf("invoice %s: a refund entry %v", inv, got[i])
		}
	}
	for _, l := range links {
		if v := l.view(t); float64(v.num("netPaidOnline")) != net[l.invoiceID] || v.num("netPaidOnline") != 100 {
			t.Fatalf("invoice %s: the feed adds up to %v, the invoice says %d paid online", l.invoiceID, net[l.invoiceID], v.num("netPaidOnline"))
		}
	}
	t.Logf("200 entries read exactly once in %d pages while they were being recorded", pages)

	// The cursor is opaque and checked.
	for _, bad := range []string{"nope", "ZmVlZC52MS4tMQ", strings.Repeat("A", 40)} {
		call(t, "GET", "/payments?after="+bad, tn.Staff, nil).wantError(t, 400, "invalid_request")
	}
	for _, bad := range []string{"0", "101", "-1", "x"} {
		call(t, "GET", "/payments?limit="+bad, tn.Staff, nil).wantError(t, 400, "invalid_request")
	}
	// Another tenant sees none of it.
	other := newTenant(t, "fr")
	if r := call(t, "GET", "/payments", other.Staff, nil).want(t, 200); len(r.list("payments")) != 0 || r.JSON["hasMore"] != false {
		t.Fatalf("another tenant's feed: %s", r.Raw)
	}
	call(t, "GET", "/payments", "", nil).wantError(t, 401, "unauthorized")
}

// TestFeedReadPublishesWhatIsPending: a webhook's entry waits, committed,
// for the next read of the feed to number it. A read whose publication
// fails (the table down) answers 503 and numbers nothing; the next one
// numbers the entry once, and a later event's entry comes after it.
func TestFeedReadPublishesWhatIsPending(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	first, second := linkedInvoice(t, tn, 1000), linkedInvoice(t, tn, 2000)
	pay := func(l linked) string {
		evt := "evt_" + randomHex(10)
		r := deliverAsStripe(t, stripeEvent(evt, "checkout.session.completed", tn.Account, l.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))).want(t, 200)
		if r.JSON["outcome"] != "applied" {
			t.Fatalf("delivery: %s", r.Raw)
		}
		return evt
	}
	e1 := pay(first)
	reached := make(chan struct{})
	rule := env.dynamo.Inject(faultproxy.Rule{
		Match: func(r *faultproxy.Request) bool {
			// The publication: a transaction moving the tenant's feed head.
			body := string(r.Body)
			return r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.TransactWriteItems" &&
				strings.Contains(body, `"S":"CO#`+tn.ID+`"`) && strings.Contains(body, `"S":"FEED"}`)
		},
		Reached: reached, Status: 500, Body: dynamoDown, Header: amzJSON,
	})
	call(t, "GET", "/payments", tn.Staff, nil).wantError(t, 503, "service_unavailable")
	env.dynamo.Remove(rule)
	select {
	case <-reached:
	default:
		t.Fatal("the read never tried to publish the entry")
	}
	if got := feed(t, tn); len(got) != 1 || got[0]["eventId"] != e1 || got[0]["netChange"] != float64(1000) {
		t.Fatalf("the feed read after a failed publication: %v", got)
	}
	e2 := pay(second)
	if got := feed(t, tn); len(got) != 2 || got[0]["eventId"] != e1 || got[1]["eventId"] != e2 {
		t.Fatalf("the feed after the next event: %v", got)
	}
}
