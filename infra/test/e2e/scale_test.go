package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/internal/billing"
)

// TestRemindersAtScale: 2,000 reminders due over 20 clinics are each sent
// exactly once after one call of POST /_local/run/reminders, which answers
// once the workers have done what it planned: as the queue delivers them,
// and again with each message sent twice and workers crashing mid-batch
// (their batches come back whole, half of it done already). Half the
// clinics set their policy after their invoices exist, so their invoices
// are planned again through the same queue.
//
// The run is of every clinic (a test can't name twenty in one call), so
// this test does not run in parallel: the suite's parallel tests start
// after it, and none of their work is due at its time.
func TestRemindersAtScale(t *testing.T) {
	tests := []struct {
		name   string
		faulty bool
	}{
		{"as delivered", false},
		{"each message twice, workers crashing mid-batch", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case at its own time, after the last's reminders and
			// every other test's, within the year the local run accepts.
			due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 330+10*i)
			clinics, addrs := seedDueReminders(t, 20, 100, due)
			if tc.faulty {
				for _, c := range clinics {
					sendTwice(c.ID)
					crashBatches(c.ID, 1)
				}
			}
			rep := runAll(t, due.AddDate(0, 0, 1).Add(14*time.Hour))
			t.Logf("run: %v", rep)
			if tc.faulty && crashesLeft(clinics) > 0 {
				t.Fatalf("%d of the workers' crashes did not happen", crashesLeft(clinics))
			}
			if rep["planned"].(float64) < 1010 || rep["deadLettered"] != float64(0) || rep["failed"] != float64(0) || rep["notQueued"] != float64(0) {
				t.Fatalf("report: %v", rep)
			}
			// Each patient got exactly one reminder.
			got := map[string]int{}
			for _, m := range sesStore(t) {
				if strings.HasPrefix(m.Subject, "Rappel") && len(m.Destination.To) == 1 {
					got[m.Destination.To[0]]++
				}
			}
			var wrong []string
			for _, a := range addrs {
				if got[a] != 1 {
					wrong = append(wrong, fmt.Sprintf("%s: %d", a, got[a]))
				}
			}
			if len(wrong) > 0 {
				t.Fatalf("%d of %d patients did not get exactly one reminder: %v", len(wrong), len(addrs), wrong[:min(len(wrong), 10)])
			}
			// What the invoices recorded agrees (a sample per clinic).
			for _, c := range clinics {
				list := call(t, "GET", "/invoices?limit=1", c.Staff, nil).want(t, 200).list("invoices")
				emails, _ := emailsOf(t, c, list[0]["id"].(string))
				if len(emails) != 1 || emails[0]["kind"] != "reminder" {
					t.Fatalf("%s: %v", c.ID, emails)
				}
			}
		})
	}
}

// crashesLeft counts the crashes still armed for the clinics.
func crashesLeft(clinics []*tenant) int {
	queueFaults.mu.Lock()
	defer queueFaults.mu.Unlock()
	n := 0
	for _, c := range clinics {
		n += queueFaults.crashes[c.ID]
	}
	return n
}

// seedDueReminders makes clinics, each with perClinic invoices due on due
// and a policy reminding one day after; the even clinics set the policy
// after their invoices exist. It returns the patients' addresses.
func seedDueReminders(t *testing.T, clinics, perClinic int, due time.Time) ([]*tenant, []string) {
	t.Helper()
	policy := map[string]any{"reminders": map[string]any{"afterDue": []int{1}}}
	var tenants []*tenant
	var addrs []string
	type job struct {
		tn   *tenant
		addr string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				id := "inv-" + randomHex(5)
				body := invoiceBody("F-"+id, 5000, 5000, "fr")
				body["patient"] = map[string]any{"name": "Hélène Côté", "email": j.addr, "language": "fr"}
				body["dueOn"] = due.Format("2006-01-02")
				if r := call(t, "PUT", "/invoices/"+id, j.tn.Staff, body); r.Status != 201 {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%d %s", r.Status, r.Raw))
					mu.Unlock()
				}
			}
		})
	}
	for i := range clinics {
		tn := newTenant(t, "fr")
		tenants = append(tenants, tn)
		if i%2 == 1 {
			settings(t, tn, policy)
		}
		for range perClinic {
			a := patientAddress()
			addrs = append(addrs, a)
			jobs <- job{tn, a}
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d invoices not stored: %v", len(errs), errs[0])
	}
	for i, tn := range tenants {
		if i%2 == 0 {
			settings(t, tn, policy)
		}
	}
	return tenants, addrs
}

// runAll runs the scheduler at now for every clinic and returns its
// report.
func runAll(t *testing.T, now time.Time) map[string]any {
	t.Helper()
	q := url.Values{"now": {now.UTC().Format(time.RFC3339)}}
	resp, err := http.Post(env.api.URL+"/_local/run/reminders?"+q.Encode(), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("run at %s: %d %v %v", now, resp.StatusCode, err, body)
	}
	rep, _ := body["report"].(map[string]any)
	if rep["more"] == true {
		t.Fatalf("the run left work for the next: %v", body)
	}
	return rep
}

// TestReminderThrottledBySES: SES refuses a reminder for its sending rate
// more times than an e-mail is tried (billing.MaxSendTries): each time the
// worker puts it back on the queue for later, and it is sent once, never
// given up. The run answers once it was.
func TestReminderThrottledBySES(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	settings(t, tn, map[string]any{"reminders": map[string]any{"afterDue": []int{1}, "includePaymentLink": false}})
	due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	addr := patientAddress()
	id := invoiceFor(t, tn, addr, 3300, due.Format("2006-01-02"), "fr")
	rule := env.ses.Inject(faultproxy.Rule{Match: func(r *faultproxy.Request) bool { return r.Form.Get("Destinations.member.1") == addr },
		Times: billing.MaxSendTries + 2, Status: http.StatusBadRequest, Header: http.Header{"Content-Type": {"text/xml"}}, Body: sesThrottled})
	defer env.ses.Remove(rule)
	rep := runScheduler(t, tn, due.AddDate(0, 0, 1).Add(14*time.Hour)).JSON["report"].(map[string]any)
	if rep["failed"] != float64(0) || rep["deadLettered"] != float64(0) {
		t.Fatalf("report: %v", rep)
	}
	if n := len(mailsTo(t, addr)); n != 1 {
		t.Fatalf("%d reminders sent, want 1 (report %v)", n, rep)
	}
	emails, _ := emailsOf(t, tn, id)
	if len(emails) != 1 || emails[0]["kind"] != "reminder" || emails[0]["status"] == "failed" {
		t.Fatalf("%v", emails)
	}
}
