package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestHandInvocationWithABadDetail: an operator's invocation whose detail is
// not {"company": "<id>"} fails with a reason and runs nothing (the service
// is nil: any work would panic).
func TestHandInvocationWithABadDetail(t *testing.T) {
	for _, detail := range []string{`[1]`, `{"company": 5}`, `{"company": "../other"}`, `{"company": "a b"}`, `"x"`} {
		t.Run(detail, func(t *testing.T) {
			var logs bytes.Buffer
			j := New(nil, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			_, err := j.RunScheduled(context.Background(), events.EventBridgeEvent{Detail: json.RawMessage(detail)})
			if !errors.Is(err, errInvalidSchedulerEvent) {
				t.Fatalf("err = %v, want the invalid-event error", err)
			}
			if !strings.Contains(logs.String(), `"outcome":"invalid_event"`) {
				t.Fatalf("log: %s", logs.String())
			}
		})
	}
}
