package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// TestRemindersTable: for a policy and an invoice, moving the scheduler's
// "now" step by step gives exactly the expected reminders: none twice when
// a run is repeated or runs concurrently, none after payment, none after a
// bounce, none while paused. Each row is its own clinic, and each run is of
// that clinic only (POST /_local/run/reminders?company=), so the rows run in
// parallel with the rest of the suite.
func TestRemindersTable(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	due := today.AddDate(0, 0, 20)
	step := func(days int) time.Time { return due.AddDate(0, 0, days).Add(14 * time.Hour) }
	type action struct {
		do   string // run, runs (8 at once), pay, pause, resume, bounce (SES publishes: the address bounced)
		at   time.Time
		want []string // the steps reminded so far, in order
	}
	tests := []struct {
		name        string
		address     string
		policyFirst bool // the policy exists before the invoice (else it is set after: the scheduler plans again)
		actions     []action
	}{
		{"each step once, none after payment", "", false, []action{
			{"run", step(-3).Add(-time.Minute), nil},
			{"run", step(-3), []string{"before-3"}},
			{"run", step(-3).Add(time.Hour), []string{"before-3"}},
			{"run", step(1), []string{"before-3", "after-1"}},
			{"run", step(1), []string{"before-3", "after-1"}},
			{"pay", time.Time{}, []string{"before-3", "after-1"}},
			{"run", step(7), []string{"before-3", "after-1"}},
		}},
		{"only the latest of those missed", "", true, []action{
			{"run", step(8), []string{"after-7"}},
			{"run", step(9), []string{"after-7"}},
		}},
		{"none while paused", "", true, []action{
			{"pause", time.Time{}, nil},
			{"run", step(-3), nil},
			{"run", step(1), nil},
			{"resume", time.Time{}, nil},
			{"run", step(7), []string{"after-7"}},
		}},
		{"none after a bounce", "bounce+" + randomHex(4) + "@simulator.amazonses.com", true, []action{
			{"run", step(-3), []string{"before-3"}},
			{"bounce", time.Time{}, []string{"before-3"}},
			{"run", step(1), []string{"before-3"}},
			{"run", step(7), []string{"before-3"}},
		}},
		{"concurrent runs send once", "", true, []action{
			{"runs", step(-3), []string{"before-3"}},
			{"runs", step(1).Add(30 * time.Minute), []string{"before-3", "after-1"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t, "fr")
			policy := map[string]any{"reminders": map[string]any{"beforeDue": []int{3}, "afterDue": []int{1, 7}}}
			if tc.policyFirst {
				settings(t, tn, policy)
			}
			addr := tc.address
			if addr == "" {
				addr = patientAddress()
			}
			id := invoiceFor(t, tn, addr, 12500, due.Format("2006-01-02"), "fr")
			if !tc.policyFirst {
				settings(t, tn, policy)
			}
			for _, a := range tc.actions {
				switch a.do {
				case "run":
					runScheduler(t, tn, a.at)
				case "runs":
					var wg sync.WaitGroup
					for range 8 {
						wg.Go(func() { runScheduler(t, tn, a.at) })
					}
					wg.Wait()
				case "pay":
					v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
					link, _ := v.JSON["paymentLink"].(map[string]any)
					if link == nil {
						t.Fatal("the reminder made no link")
					}
					lid := link["id"].(string)
					l := linked{tn: tn, invoiceID: id, linkID: lid, generation: linkGeneration(t, lid), amount: 12500}
					l.pay(t)
				case "pause", "resume":
					call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": a.do == "pause"}).want(t, 200)
				case "bounce":
					flushSES(t)
				}
				// The reminders SES took for this patient, by step.
				var got []string
				for _, m := range mailsTo(t, addr) {
					if strings.HasPrefix(m.Subject, "Rappel") {
						got = append(got, stepOf(t, tn, id, m.MessageID))
					}
				}
				if strings.Join(got, " ") != strings.Join(a.want, " ") {
					t.Fatalf("after %s %s: reminders %v, want %v", a.do, a.at.Format(time.RFC3339), got, a.want)
				}
			}
			// What the invoice says of its reminders matches.
			v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
			rem, _ := v.JSON["reminders"].(map[string]any)
			if plan, _ := rem["plan"].([]any); len(plan) != 3 {
				t.Fatalf("plan: %v", rem)
			}
		})
	}
}

// stepOf is the step of a reminder the invoice recorded with SES's id.
func stepOf(t tb, tn *tenant, invoiceID, messageID string) string {
	t.Helper()
	emails, _ := emailsOf(t, tn, invoiceID)
	for _, e := range emails {
		if e["messageId"] == messageID && e["kind"] == "reminder" {
			return e["step"].(string)
		}
	}
	t.Fatalf("the invoice did not record reminder %s: %v", messageID, emails)
	return ""
}

// TestReminderContents: a reminder goes in the patient's language, carries
// the current link (made when none is active), says it is overdue, and the
// bounce it got is in the feed for the billing module to act on.
func TestReminderContents(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	settings(t, tn, map[string]any{"reminders": map[string]any{"afterDue": []int{7}, "includePaymentLink": true}})
	due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	addr := "bounce+" + randomHex(4) + "@simulator.amazonses.com"
	id := invoiceFor(t, tn, addr, 8800, due.Format("2006-01-02"), "en")
	runScheduler(t, tn, due.AddDate(0, 0, 7).Add(14*time.Hour))
	mails := mailsTo(t, addr)
	v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
	link, _ := v.JSON["paymentLink"].(map[string]any)
	if len(mails) != 1 || link == nil {
		t.Fatalf("%d e-mails, link %v", len(mails), link)
	}
	m := mails[0]
	if m.Subject != "Reminder: invoice F-"+id+" is overdue – Clinique Saint-Louis" || !strings.Contains(m.Body.Text, link["url"].(string)) ||
		!strings.Contains(m.Body.Text, "7 days ago") || !strings.Contains(m.Body.Text, "$88.00") {
		t.Fatalf("%s\n%s", m.Subject, m.Body.Text)
	}
	flushSES(t)
	emails, last := emailsOf(t, tn, id)
	if last != "bounced" || emails[0]["bounceType"] != "Permanent" {
		t.Fatalf("%s %v", last, emails)
	}
	var bounced []map[string]any
	for _, e := range feedFor(t, tn, id) {
		if e["kind"] == "email_bounced" {
			bounced = append(bounced, e)
		}
	}
	if len(bounced) != 1 || bounced[0]["netChange"] != float64(0) {
		t.Fatalf("feed: %v", bounced)
	}
	email, _ := bounced[0]["email"].(map[string]any)
	if email["messageId"] != m.MessageID || email["kind"] != "reminder" || email["to"] != addr {
		t.Fatalf("feed entry: %v", bounced[0])
	}
	rem, _ := v.JSON["reminders"].(map[string]any)
	if v2 := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200); v2.JSON["reminders"].(map[string]any)["blocked"] != "address_bounced" {
		t.Fatalf("reminders after the bounce: %v (before: %v)", v2.JSON["reminders"], rem)
	}
}

// TestReminderWhileStripeIsDown: the link a reminder needs can't be made
// (Stripe down): nothing is sent, the invoice is free again, and the next
// run sends the reminder once, with its link.
func TestReminderWhileStripeIsDown(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	settings(t, tn, map[string]any{"reminders": map[string]any{"afterDue": []int{3}}})
	due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 4)
	addr := patientAddress()
	id := invoiceFor(t, tn, addr, 6600, due.Format("2006-01-02"), "fr")
	rule := env.stripe.Inject(faultproxy.Rule{Match: stripeTarget("/v1/payment_links")(tn.Account, id), Status: 500,
		Body: `{"error":{"type":"api_error","message":"boom"}}`, Header: jsonHeader})
	at := due.AddDate(0, 0, 3).Add(14 * time.Hour)
	runScheduler(t, tn, at)
	if n := len(mailsTo(t, addr)); n != 0 {
		t.Fatalf("%d e-mails while Stripe is down", n)
	}
	env.stripe.Remove(rule)
	expireHolds(t, tn.ID, id, "")
	runScheduler(t, tn, at.Add(time.Hour))
	runScheduler(t, tn, at.Add(2*time.Hour))
	mails := mailsTo(t, addr)
	v := call(t, "GET", "/invoices/"+id, tn.Staff, nil).want(t, 200)
	link, _ := v.JSON["paymentLink"].(map[string]any)
	if len(mails) != 1 || link == nil || !strings.Contains(mails[0].Body.Text, link["url"].(string)) {
		t.Fatalf("%d e-mails, link %v", len(mails), link)
	}
}

// TestRemindersContract: the route's answers and refusals.
func TestRemindersContract(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	other := newTenant(t, "fr")
	id := newInvoice(t, tn)
	r := call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": true}).want(t, 200)
	if rem := r.JSON["reminders"].(map[string]any); rem["paused"] != true || r.Header.Get("ETag") == "" {
		t.Fatalf("%s", r.Raw)
	}
	call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{}).wantError(t, 400, "invalid_request")
	call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": "yes"}).wantError(t, 400, "invalid_request")
	call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": true, "until": "x"}).wantError(t, 400, "invalid_request")
	call(t, "PUT", "/invoices/"+id+"/reminders", other.Staff, map[string]any{"paused": true}).wantError(t, 404, "not_found")
	call(t, "PUT", "/invoices/nope/reminders", tn.Staff, map[string]any{"paused": true}).wantError(t, 404, "not_found")
	call(t, "PUT", "/invoices/"+id+"/reminders", "", map[string]any{"paused": true}).want(t, http.StatusUnauthorized)
	// The Idempotency-Key's contract: a 503 (DynamoDB down on the write)
	// frees the key, the retry runs, a repeat is replayed.
	key := "rem-" + randomHex(8)
	rule := env.dynamo.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool {
		// The invoice's own write (not the key's record, which names it too).
		return r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.PutItem" && strings.Contains(string(r.Body), `"INV#`+id+`"`)
	}, Status: 500, Body: dynamoDown, Header: amzJSON}) // every attempt: the SDK retries
	call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": false}, "Idempotency-Key", key).wantError(t, 503, "service_unavailable")
	env.dynamo.Remove(rule)
	first := call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": false}, "Idempotency-Key", key).want(t, 200)
	again := call(t, "PUT", "/invoices/"+id+"/reminders", tn.Staff, map[string]any{"paused": false}, "Idempotency-Key", key).want(t, 200)
	if first.Header.Get("Idempotent-Replayed") != "" || again.Header.Get("Idempotent-Replayed") != "true" || string(first.Raw) != string(again.Raw) {
		t.Fatalf("retry %s, repeat %s", first.Raw, again.Header)
	}
	// The policy's bounds.
	for _, bad := range []map[string]any{
		{"beforeDue": []int{0}}, {"beforeDue": []int{31}}, {"beforeDue": []int{1, 2, 3, 4}}, {"afterDue": []int{7, 7}},
		{"afterDue": []int{121}}, {"afterDue": []int{1, 2, 3, 4, 5, 6, 7}}, {"every": 3},
	} {
		body := map[string]any{"name": "C", "replyToEmail": "c@clinique.example", "defaultLanguage": "fr", "reminders": bad}
		call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, body).wantError(t, 400, "invalid_request")
	}
	c := settings(t, tn, map[string]any{"reminders": map[string]any{"beforeDue": []int{1, 7}, "afterDue": []int{30, 2}}})
	if rem := c.JSON["reminders"].(map[string]any); rem["includePaymentLink"] != true ||
		!sameInts(rem["beforeDue"], []int{7, 1}) || !sameInts(rem["afterDue"], []int{2, 30}) {
		t.Fatalf("%s", c.Raw)
	}
}

func sameInts(v any, want []int) bool {
	list, _ := v.([]any)
	if len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != float64(want[i]) {
			return false
		}
	}
	return true
}
