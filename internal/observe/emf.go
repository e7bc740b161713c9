package observe

import (
	"context"
	"log/slog"
	"time"
)

// Namespace is the CloudWatch namespace of the business metrics.
const Namespace = "ClinicPay"

// WriteMetrics logs the request's business metrics as one CloudWatch
// Embedded Metric Format line: CloudWatch Logs turns the "_aws" block into
// metrics (dimension: the function), no API call needed. Nothing is logged
// when nothing was counted.
func WriteMetrics(ctx context.Context, log *slog.Logger, function string, r *Request) {
	counts := r.Counts()
	if len(counts) == 0 {
		return
	}
	metrics := make([]map[string]string, 0, len(counts))
	attrs := []any{}
	for _, c := range counts {
		metrics = append(metrics, map[string]string{"Name": c.Name, "Unit": "Count"})
		attrs = append(attrs, slog.Int(c.Name, c.Value))
	}
	attrs = append(attrs,
		slog.String("Function", function),
		slog.Any("_aws", map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"Function"}},
				"Metrics":    metrics,
			}},
		}))
	log.InfoContext(ctx, "metrics", attrs...)
}
