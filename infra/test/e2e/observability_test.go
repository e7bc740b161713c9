package e2e

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// logLines returns the service's JSON log lines that match.
func logLines(t *testing.T, match func(map[string]any) bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(env.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			t.Fatalf("a log line is not JSON: %s", sc.Text())
		}
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

// TestRequestLogsAndMetrics: one structured line per request with where the
// time went, business metrics as Embedded Metric Format lines, and nothing
// about the patient in any line.
func TestRequestLogsAndMetrics(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, "fr")
	id := "inv-" + randomHex(5)
	b := invoiceBody("F-"+id, 12500, 12500, "fr")
	b["patient"] = map[string]any{"name": "Ginette Lapointe-Obs", "email": "ginette.obs." + tn.ID + "@example.com"}
	call(t, "PUT", "/invoices/"+id, tn.Staff, b).want(t, 201)
	call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{"includePaymentLink": true, "message": "Merci Ginette"}).want(t, 202)

	lines := logLines(t, func(m map[string]any) bool { return m["msg"] == "request" && m["invoiceId"] == id })
	if len(lines) != 2 {
		t.Fatalf("%d request lines for the invoice, want 2", len(lines))
	}
	email := lines[1]
	if email["route"] != "POST /invoices/{invoiceId}/emails" || email["status"] != float64(202) || email["outcome"] != "ok" ||
		email["tenant"] != tn.ID || email["latencyMs"] == nil || email["ownMs"] == nil || email["apiRequestId"] == "" {
		t.Fatalf("request line: %v", email)
	}
	up, _ := email["upstream"].(map[string]any)
	calls := func(name string) float64 {
		u, _ := up[name].(map[string]any)
		n, _ := u["calls"].(float64)
		return n
	}
	// Create-and-send: Price + Payment Link at Stripe, one SES call, and
	// DynamoDB: read, claim, commit.
	if calls("stripe") != 2 || calls("ses") != 1 || calls("dynamodb") != 3 {
		t.Fatalf("upstream calls: %v", up)
	}

	metrics := logLines(t, func(m map[string]any) bool {
		return m["msg"] == "metrics" && m["LinksCreated"] != nil && m["EmailsSent"] != nil
	})
	if len(metrics) == 0 {
		t.Fatal("no metrics line with LinksCreated and EmailsSent")
	}
	aws, _ := metrics[0]["_aws"].(map[string]any)
	cw, _ := aws["CloudWatchMetrics"].([]any)
	if aws["Timestamp"] == nil || len(cw) != 1 || cw[0].(map[string]any)["Namespace"] != "ClinicPay" {
		t.Fatalf("EMF block: %v", metrics[0])
	}

	all := env.logs.String()
	for _, private := range []string{"Ginette", "Lapointe", "ginette.obs", "Merci", "Consultation"} {
		if strings.Contains(all, private) {
			t.Fatalf("the logs hold %q", private)
		}
	}
}
