package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/test/faultproxy"
)

// flushSES has SES publish the events of every e-mail it took so far (the
// relay queues them until a test asks).
func flushSES(t tb) {
	t.Helper()
	if err := env.relay.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// runScheduler runs the scheduler at now for one company, through the local
// API's POST /_local/run/reminders.
func runScheduler(t tb, tn *tenant, now time.Time) *response {
	t.Helper()
	q := url.Values{"now": {now.UTC().Format(time.RFC3339)}, "company": {tn.ID}}
	resp, err := http.Post(env.api.URL+"/_local/run/reminders?"+q.Encode(), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &response{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&r.JSON); err != nil || resp.StatusCode != 200 {
		t.Fatalf("run at %s: %d %v %v", now, resp.StatusCode, err, r.JSON)
	}
	if report, _ := r.JSON["report"].(map[string]any); report["more"] == true {
		t.Fatalf("run at %s left work for the next run (its time was up): %v", now, r.JSON)
	}
	return r
}

// settings saves a company's e-mail settings (as its admin), the required
// fields as newTenant made them.
func settings(t tb, tn *tenant, fields map[string]any) *response {
	t.Helper()
	body := map[string]any{"name": "Clinique Saint-Louis", "replyToEmail": "facturation@clinique.example", "defaultLanguage": "fr"}
	for k, v := range fields {
		body[k] = v
	}
	return call(t, "PUT", "/billing-companies/"+tn.ID, tn.Admin, body).want(t, 200)
}

// patientAddress is an address of this test only, so counting the e-mails
// SES took for it counts this test's.
func patientAddress() string { return "patient-" + randomHex(6) + "@example.com" }

// invoiceFor stores an invoice for a patient address, due on dueOn ("" for
// none), in the language given.
func invoiceFor(t tb, tn *tenant, email string, amount int64, dueOn, lang string) string {
	t.Helper()
	id := "inv-" + randomHex(5)
	body := invoiceBody("F-"+id, amount, amount, lang)
	body["patient"] = map[string]any{"name": "Hélène Côté", "email": email, "language": lang}
	body["dueOn"] = dueOn
	if dueOn == "" {
		delete(body, "dueOn")
	}
	call(t, "PUT", "/invoices/"+id, tn.Staff, body).want(t, 201)
	return id
}

// mailsTo are the e-mails SES took for an address, oldest first.
func mailsTo(t tb, addr string) []sesMail {
	t.Helper()
	var out []sesMail
	for _, m := range sesStore(t) {
		for _, d := range m.Destination.To {
			if d == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

// sentMail is an e-mail SES took, with the headers it was sent with (read
// from the call at the SES proxy: aws-ses-v2-local keeps none), as the
// localses events builder takes it.
func sentMail(t tb, messageID string) localses.Mail {
	t.Helper()
	calls := env.ses.Requests(func(r *faultproxy.Request) bool {
		return r.Form != nil && r.Form.Get("Action") == "SendRawEmail" && strings.Contains(string(r.Response), messageID)
	})
	if len(calls) == 1 {
		r := calls[0]
		raw, err := base64.StdEncoding.DecodeString(r.Form.Get("RawMessage.Data"))
		if err != nil {
			t.Fatal(err)
		}
		headers, err := localses.HeadersOf(raw)
		if err != nil {
			t.Fatal(err)
		}
		return localses.Mail{MessageID: messageID, From: r.Form.Get("Source"), Headers: headers, At: r.At.Unix(),
			Destination: localses.Destination{To: []string{r.Form.Get("Destinations.member.1")}}}
	}
	t.Fatalf("SES never took %s", messageID)
	return localses.Mail{}
}

// sendEvent hands one SES event to the e-mail events function.
func sendEvent(t tb, payload []byte) {
	t.Helper()
	if err := env.jobs.EmailEvent(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
}

// emailsOf are an invoice's e-mails (newest first) and its last e-mail's
// status.
func emailsOf(t tb, tn *tenant, invoiceID string) ([]map[string]any, string) {
	t.Helper()
	v := call(t, "GET", "/invoices/"+invoiceID, tn.Staff, nil).want(t, 200)
	last, _ := v.JSON["lastEmailStatus"].(string)
	return v.list("emails"), last
}
