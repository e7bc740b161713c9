package cfntemplate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/aws/cfntemplate"
	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// heartbeatProblems: every function a schedule runs has an alarm on its
// invocations that fires when they stop, missing data counted as
// breaching (a disabled rule publishes nothing at all).
func heartbeatProblems(t *testing.T, tr *cfntemplate.Translated) []string {
	var out []string
	for _, rule := range tr.Resources("AWS::Events::Rule") {
		if samtemplate.Get(rule.Properties, "ScheduleExpression") == nil {
			continue
		}
		targets, _ := raw(t, tr, rule, "Properties", "Targets").([]any)
		for _, target := range targets {
			m, _ := target.(map[string]any)
			fn := aliasFunction(t, tr, refOf(m["Arn"]))
			found := false
			for _, a := range tr.Resources("AWS::CloudWatch::Alarm") {
				p := a.Properties
				if v := samtemplate.Get(p, "MetricName"); v == nil || v.Value != "Invocations" || !slices.Contains(alarmDimensionRefs(t, tr, a), fn) {
					continue
				}
				found = samtemplate.Get(p, "TreatMissingData").Value == "breaching" && strings.HasPrefix(samtemplate.Get(p, "ComparisonOperator").Value, "LessThan")
			}
			if !found {
				out = append(out, fmt.Sprintf("%s (run by %s): no heartbeat alarm (Invocations below a threshold, missing data breaching)", fn, rule.Name))
			}
		}
	}
	return out
}

// TestScheduledFunctionsHaveAHeartbeat: see heartbeatProblems; and the
// check catches the heartbeat that treats silence as a quiet day.
func TestScheduledFunctionsHaveAHeartbeat(t *testing.T) {
	t.Parallel()
	for _, p := range heartbeatProblems(t, translated(t, "prod")) {
		t.Error(p)
	}
	src := replaceOnce(t, source(t), "      TreatMissingData: breaching\n", "      TreatMissingData: notBreaching\n")
	if problems := heartbeatProblems(t, translate(t, src, "dev")); len(problems) != 1 {
		t.Fatalf("a heartbeat with missing data not breaching: %v", problems)
	}
}

// TestPagesAndTickets: every alarm notifies one severity, the paging
// topic or the ticket topic; what anyone on the internet can move (a POST
// with a bad webhook signature) never pages.
func TestPagesAndTickets(t *testing.T) {
	t.Parallel()
	tr := translated(t, "prod")
	publicNoise := []string{"WebhookRejects"}
	for _, a := range tr.Resources("AWS::CloudWatch::Alarm") {
		var topics []string
		for _, action := range samtemplate.Get(a.Properties, "AlarmActions").Content {
			var v any
			if err := action.Decode(&v); err != nil {
				t.Fatal(err)
			}
			topics = append(topics, refOf(v))
		}
		if len(topics) != 1 || (topics[0] != "AlarmTopic" && topics[0] != "TicketTopic") {
			t.Errorf("%s: notifies %v, want AlarmTopic or TicketTopic", a.Name, topics)
			continue
		}
		if name := samtemplate.Get(a.Properties, "MetricName"); name != nil && slices.Contains(publicNoise, name.Value) && topics[0] == "AlarmTopic" {
			t.Errorf("%s: %s pages, but anyone can raise it", a.Name, name.Value)
		}
	}
}
