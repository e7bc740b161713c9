package e2e

import (
	"bufio"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/test/lambdarie"
)

// TestMetricsSurviveLogLevelWarn: a function built as SAM builds it, run
// under aws-lambda-rie with JSON logs at WARN (what LoggingConfig gives it
// with LogLevel=WARN), still writes its Embedded Metric Format line, at a
// level Lambda's filter keeps (a line without a valid level counts as INFO
// and is dropped), while its INFO request line is gone.
func TestMetricsSurviveLogLevelWarn(t *testing.T) {
	t.Parallel()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const function = "CreatePaymentLinkFunction"
	bootstrap, err := lambdarie.Build(root, function, runtime.GOARCH, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fn := startLambda(t, function, bootstrap,
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=WARN", "AWS_LAMBDA_FUNCTION_NAME=clinicpay-e2e-"+function)
	tn := newTenant(t, "fr")
	id := newInvoice(t, tn)
	staff := map[string]string{"billing_company_id": tn.ID, "iss": localapi.Issuer, "aud": localapi.Audience}
	got, err := fn.Invoke(apiEvent("POST", "/invoices/"+id+"/payment-link", map[string]string{"invoiceId": id}, staff, "", nil))
	if err != nil || got.StatusCode != 201 {
		t.Fatalf("%d %v: %s", got.StatusCode, err, got.Body)
	}

	// The emulator copies the function's output after it has answered: read
	// it until the metrics line, the request's last, is there (the request
	// line, if any, comes before it on the same stream).
	var metrics, request int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) { // a hang, not a slow machine
		metrics, request = keptLines(fn.Logs(), "WARN")
		if metrics > 0 || time.Now().After(deadline) {
			break
		}
	}
	if metrics != 1 || request != 0 {
		t.Fatalf("under LOG_LEVEL=WARN Lambda would keep %d metrics lines (want 1) and %d INFO request lines (want 0):\n%s", metrics, request, fn.Logs())
	}
}

// keptLines applies Lambda's filter for JSON logs at an application log
// level (a line under it is dropped; one without a valid "level" counts as
// INFO) and counts the metrics and request lines it keeps.
func keptLines(logs, applicationLevel string) (metrics, request int) {
	levels := map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue // the emulator's own lines
		}
		level, _ := line["level"].(string)
		rank, ok := levels[strings.ToUpper(level)]
		if !ok {
			rank = levels["INFO"]
		}
		if rank < levels[applicationLevel] {
			continue // Lambda drops it
		}
		switch line["message"] {
		case "metrics":
			if line["LinksCreated"] == float64(1) && line["Service"] == "clinicpay-e2e" && line["_aws"] != nil {
				metrics++
			}
		case "request":
			request++
		}
	}
	return metrics, request
}
