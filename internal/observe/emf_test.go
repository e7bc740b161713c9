package observe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// lambdaLevels ranks Lambda's application log levels.
var lambdaLevels = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}

// lambdaKeeps is Lambda's log-level filter for JSON logs as documented
// (docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
// a line under the application log level is dropped; a line whose "level"
// is missing or invalid counts as INFO.
func lambdaKeeps(line map[string]any, applicationLevel string) bool {
	level, _ := line["level"].(string)
	rank, ok := lambdaLevels[strings.ToUpper(level)]
	if !ok {
		rank = lambdaLevels["INFO"]
	}
	return rank >= lambdaLevels[applicationLevel]
}

// TestMetricsSurviveLambdasLogFilter: at every application log level the
// template allows (LOG_LEVEL, passed to the code as AWS_LAMBDA_LOG_LEVEL),
// the Embedded Metric Format line is written, past a logger at that level,
// and Lambda's filter keeps it; an ordinary INFO line is dropped at WARN.
func TestMetricsSurviveLambdasLogFilter(t *testing.T) {
	slogLevel := map[string]slog.Level{"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError}
	for _, level := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		t.Run(level, func(t *testing.T) {
			saved := metricsLevel
			metricsLevel = MetricsLevel(level)
			t.Cleanup(func() { metricsLevel = saved })

			// The logger as aws-lambda-go's lambdacontext builds it in Lambda
			// with JSON logs: at the application log level.
			var out bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slogLevel[level]}))
			ctx, r := Start(context.Background())
			log.InfoContext(ctx, "request", "status", 201)
			Metrics{}.Count(ctx, "LinksCreated", 1)
			Metrics{}.Count(ctx, MetricServerErrors, 1)
			WriteMetrics(ctx, log, "clinicpay-prod", "clinicpay-prod-CreatePaymentLinkFunction-x", r)

			var kept []map[string]any
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("not JSON: %s", sc.Text())
				}
				if lambdaKeeps(line, level) {
					kept = append(kept, line)
				}
			}
			var emf map[string]any
			requestKept := false
			for _, l := range kept {
				switch l["msg"] {
				case "metrics":
					emf = l
				case "request":
					requestKept = true
				}
			}
			if emf == nil {
				t.Fatalf("no metrics line survives LOG_LEVEL=%s: %s", level, out.String())
			}
			if requestKept != (level == "DEBUG" || level == "INFO") {
				t.Fatalf("the INFO request line kept=%v at %s", requestKept, level)
			}
			if emf["LinksCreated"] != float64(1) || emf["Service"] != "clinicpay-prod" || emf["Function"] == nil {
				t.Fatalf("metrics line: %v", emf)
			}
			aws, _ := emf["_aws"].(map[string]any)
			got, _ := json.Marshal(aws["CloudWatchMetrics"])
			want := `[{"Dimensions":[["Service"]],"Metrics":[{"Name":"LinksCreated","Unit":"Count"},{"Name":"ServerErrors","Unit":"Count"}],"Namespace":"ClinicPay"},` +
				`{"Dimensions":[["Service","Function"]],"Metrics":[{"Name":"ServerErrors","Unit":"Count"}],"Namespace":"ClinicPay"}]`
			if string(got) != want || aws["Timestamp"] == nil {
				t.Fatalf("EMF directives %s\nwant %s", got, want)
			}
		})
	}
}

func TestMetricsLevel(t *testing.T) {
	cases := map[string]slog.Level{"": slog.LevelInfo, "TRACE": slog.LevelInfo, "DEBUG": slog.LevelInfo, "INFO": slog.LevelInfo,
		"WARN": slog.LevelWarn, "warn": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError}
	for in, want := range cases {
		if got := MetricsLevel(in); got != want {
			t.Errorf("MetricsLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestConditionalCheckFailuresCounted: a DynamoDB answer that a condition
// failed (alone or in a transaction) is counted, and the SDK still reads
// the same body.
func TestConditionalCheckFailuresCounted(t *testing.T) {
	cases := []struct {
		body string
		want int
	}{
		{`{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`, 1},
		{`{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","CancellationReasons":[{"Code":"ConditionalCheckFailed"},{"Code":"None"}]}`, 1},
		{`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}`, 0},
	}
	for _, c := range cases {
		_, r := Start(context.Background())
		rc := countConditionalFailures(r, nopCloser{strings.NewReader(c.body)})
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil || b.String() != c.body {
			t.Fatalf("body passed on %q, %v", b.String(), err)
		}
		got := 0
		for _, n := range r.Counts() {
			if n.Name == MetricConditionalCheckFailures {
				got = n.Value
			}
		}
		if got != c.want {
			t.Errorf("%s: counted %d, want %d", c.body, got, c.want)
		}
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
