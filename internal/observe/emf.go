package observe

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Namespace is the CloudWatch namespace of the business metrics.
const Namespace = "ClinicPay"

// MetricServerErrors is the one metric also kept per function: a route's
// 5xx answers (each function serves one route).
const MetricServerErrors = "ServerErrors"

// metricsLevel is the level the metrics lines are written at: the lowest
// level Lambda's log filter keeps. With JSON logs Lambda drops every line
// whose "level" is under the function's ApplicationLogLevel (which it
// passes to the code as AWS_LAMBDA_LOG_LEVEL), and reads a line without a
// valid level as INFO: an INFO metrics line vanishes under WARN, and the
// alarms on it go blind. So the line carries the configured level (INFO at
// least), and is handed to the log handler directly, past the logger's own
// level check.
var metricsLevel = MetricsLevel(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))

// MetricsLevel is the level metrics lines need to pass Lambda's filter at
// an application log level (AWS_LAMBDA_LOG_LEVEL). template.yaml allows
// DEBUG, INFO, WARN and ERROR; FATAL has no slog level and is not allowed.
func MetricsLevel(applicationLogLevel string) slog.Level {
	switch strings.ToUpper(applicationLogLevel) {
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// WriteMetrics logs the request's business metrics as one CloudWatch
// Embedded Metric Format line: CloudWatch Logs turns the "_aws" block into
// metrics, no API call needed. Every metric has the dimension Service (the
// stack), so an alarm on one failure across all functions watches one
// metric however many functions there are; ServerErrors is also kept by
// Function, for the per-route alarms. The line is written whatever the log
// level (metricsLevel). Nothing is written when nothing was counted.
func WriteMetrics(ctx context.Context, log *slog.Logger, service, function string, r *Request) {
	counts := r.Counts()
	if len(counts) == 0 {
		return
	}
	metrics := make([]map[string]string, 0, len(counts))
	rec := slog.NewRecord(time.Now(), metricsLevel, "metrics", 0)
	perFunction := false
	for _, c := range counts {
		metrics = append(metrics, map[string]string{"Name": c.Name, "Unit": "Count"})
		rec.AddAttrs(slog.Int(c.Name, c.Value))
		perFunction = perFunction || c.Name == MetricServerErrors
	}
	directives := []any{map[string]any{"Namespace": Namespace, "Dimensions": [][]string{{"Service"}}, "Metrics": metrics}}
	if perFunction {
		directives = append(directives, map[string]any{
			"Namespace": Namespace, "Dimensions": [][]string{{"Service", "Function"}},
			"Metrics": []map[string]string{{"Name": MetricServerErrors, "Unit": "Count"}},
		})
	}
	rec.AddAttrs(
		slog.String("Service", service),
		slog.String("Function", function),
		slog.Any("_aws", map[string]any{"Timestamp": time.Now().UnixMilli(), "CloudWatchMetrics": directives}),
	)
	// Past the logger's level check: Handle writes whatever the level.
	_ = log.Handler().Handle(ctx, rec)
}
