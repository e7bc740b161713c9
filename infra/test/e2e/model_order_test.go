package e2e

import (
	"encoding/json"
	"slices"
	"strings"

	"pgregory.net/rapid"
)

// inAnotherOrder: the events the invoice was told, delivered again in
// another order (a duplicate among them) to a fresh invoice with links of
// the same amounts, give the same money: what was paid online, what the
// feed adds up to, and each payment's state and refunds. (The balance and
// the status "paid" follow the staff's writes too, which the replay does
// not repeat.) Stripe's truth is the same: the replay's objects are the
// model's under other ids.
func (m *model) inAnotherOrder(t *rapid.T) {
	if len(m.sent) == 0 || m.currencyChanged {
		return
	}
	tag := "_r" + randomHex(3)
	r := &replay{tag: tag, invoiceID: m.invoiceID + tag, links: map[string]*mLink{}}
	r.setUp(t, m)
	for _, p := range m.payments {
		if truth := env.truth.Payment(p.pi); truth != nil {
			c := *truth
			c.PaymentIntent, c.Charge = p.pi+tag, p.ch+tag
			c.Refunds = nil
			for _, rf := range truth.Refunds {
				rf.ID += tag
				c.Refunds = append(c.Refunds, rf)
			}
			env.truth.PutPayment(c)
		}
	}
	// The reader's events and those of its payments are left out: the
	// replay's invoice has no attempts. (Their order is shown by the
	// model's own run, whose held, duplicated, reordered events must end
	// at Stripe's facts, and by TestReaderEventsAnyOrderSameMoney.)
	events := slices.DeleteFunc(slices.Clone(m.sent), func(ev *event) bool { return ev.desk })
	if len(events) == 0 {
		return
	}
	events = append(events, events[rapid.IntRange(0, len(events)-1).Draw(t, "a duplicate")])
	for i := len(events) - 1; i > 0; i-- {
		j := rapid.IntRange(0, i).Draw(t, "replay order")
		events[i], events[j] = events[j], events[i]
	}
	for _, ev := range events {
		deliver(t, r.rewrite(t, ev.payload)).want(t, 200)
	}
	want, got := moneyOf(t, m, m.invoiceID), moneyOf(t, m, r.invoiceID)
	if want != got {
		t.Fatalf("the same events in another order:\n%s\nwant\n%s", got, want)
	}
}

// replay is a fresh invoice of the model's tenant with links of the same
// amounts as the model's, and the ids its events take.
type replay struct {
	tag, invoiceID string
	links          map[string]*mLink // the model's link id → the replay's
}

// setUp makes the replay's invoice and, for each of the model's links in
// order, a link of its amount (the balance set to it first).
func (r *replay) setUp(t *rapid.T, m *model) {
	total := m.total
	for _, l := range m.links {
		total = max(total, l.amount)
	}
	put := func(balance int64, want int) {
		b := m.body(total, balance, m.currency)
		b["number"] = "F-" + r.invoiceID
		call(t, "PUT", "/invoices/"+r.invoiceID, m.tn.Staff, b).want(t, want)
	}
	put(total, 201)
	for _, l := range m.links {
		put(l.amount, 200)
		res := call(t, "POST", "/invoices/"+r.invoiceID+"/payment-link/regenerate", m.tn.Staff, nil).want(t, 201)
		r.links[l.id] = &mLink{id: res.str("id"), gen: linkGeneration(t, res.str("id"))}
	}
}

// rewrite is an event of the model's invoice made the replay's: its own
// event id, invoice, links and Stripe ids.
func (r *replay) rewrite(t *rapid.T, payload []byte) []byte {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	ev["id"] = ev["id"].(string) + r.tag
	obj := ev["data"].(map[string]any)["object"].(map[string]any)
	for _, k := range []string{"id", "payment_intent", "charge"} {
		if v, ok := obj[k].(string); ok && v != "" {
			obj[k] = v + r.tag
		}
	}
	if meta, ok := obj["metadata"].(map[string]any); ok && obj["object"] == "checkout.session" {
		if l := r.links[obj["payment_link"].(string)]; l != nil {
			meta["invoice_id"], meta["link_generation"], obj["payment_link"] = r.invoiceID, l.gen, l.id
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// moneyOf is an invoice's money through its links as the comparison sees
// it (what was paid on the reader left out).
func moneyOf(t *rapid.T, m *model, invoiceID string) string {
	v := call(t, "GET", "/invoices/"+invoiceID, m.tn.Staff, nil).want(t, 200)
	var sum, inPerson int64
	for _, e := range feedFor(t, m.tn, invoiceID) {
		if e["channel"] == "in_person" {
			inPerson += int64(e["netChange"].(float64))
			continue
		}
		sum += int64(e["netChange"].(float64))
	}
	var payments []string
	for _, p := range v.list("payments") {
		if p["channel"] == "in_person" {
			continue
		}
		payments = append(payments, strings.Join([]string{p["status"].(string), jsonNum(p["amount"]), jsonNum(p["refunded"])}, " "))
	}
	slices.Sort(payments)
	b, _ := json.Marshal(map[string]any{"netPaidOnline": v.num("netPaidOnline") - inPerson, "feed": sum, "payments": payments})
	return string(b)
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
