package samtemplate_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// TestAlarmsReachSomeone: every topic is under a key of the stack's own
// whose policy lets CloudWatch publish (never alias/aws/sns, whose policy
// can't), someone is subscribed by e-mail, every alarm notifies a topic of
// the stack and holds at most 10 metrics (CloudWatch's limit).
func TestAlarmsReachSomeone(t *testing.T) {
	tpl := load(t)
	keys := resources(tpl, "AWS::KMS::Key")
	topics := resources(tpl, "AWS::SNS::Topic")
	if len(topics) == 0 {
		t.Fatal("no alarm topic")
	}
	for name, topic := range topics {
		key := samtemplate.Get(topic.Properties, "KmsMasterKeyId")
		if key == nil {
			t.Errorf("%s: unencrypted (a topic without a key needs its reason written here)", name)
			continue
		}
		if strings.HasPrefix(key.Value, "alias/aws/") {
			t.Errorf("%s: under the AWS-managed key %s: CloudWatch can't publish to it", name, key.Value)
			continue
		}
		ids := refsIn(key)
		if len(ids) != 1 || keys[ids[0]].Name == "" {
			t.Errorf("%s: KmsMasterKeyId must name a KMS key of this template", name)
			continue
		}
		if !cloudWatchMayUse(samtemplate.Get(keys[ids[0]].Properties, "KeyPolicy")) {
			t.Errorf("%s: key %s's policy does not let cloudwatch.amazonaws.com use it (kms:Decrypt, kms:GenerateDataKey*)", name, ids[0])
		}
		subscribed := false
		for _, sub := range samtemplate.Get(topic.Properties, "Subscription").Content {
			// The paging topic's address, or the ticket topic's (which falls
			// back to it).
			if samtemplate.Get(sub, "Protocol").Value == "email" && slices.Contains(refsIn(samtemplate.Get(sub, "Endpoint")), "AlarmEmail") {
				subscribed = true
			}
		}
		if !subscribed {
			t.Errorf("%s: no e-mail subscription to the AlarmEmail parameter", name)
		}
	}
	for _, alarm := range tpl.Resources("AWS::CloudWatch::Alarm") {
		actions := refsIn(samtemplate.Get(alarm.Properties, "AlarmActions"))
		if len(actions) == 0 || !slices.ContainsFunc(actions, func(a string) bool { return topics[a].Name != "" }) {
			t.Errorf("%s: notifies no topic of the stack", alarm.Name)
		}
		if m := samtemplate.Get(alarm.Properties, "Metrics"); m != nil && len(m.Content) > 10 {
			t.Errorf("%s: %d metrics; CloudWatch allows 10 per alarm", alarm.Name, len(m.Content))
		}
	}
}

func cloudWatchMayUse(policy *yaml.Node) bool {
	for _, st := range samtemplate.Get(policy, "Statement").Content {
		actions := samtemplate.Strings(samtemplate.Get(st, "Action"))
		if samtemplate.Get(st, "Effect").Value == "Allow" &&
			slices.Contains(samtemplate.Strings(samtemplate.Get(st, "Principal", "Service")), "cloudwatch.amazonaws.com") &&
			slices.Contains(actions, "kms:Decrypt") && slices.Contains(actions, "kms:GenerateDataKey*") {
			return true
		}
	}
	return false
}

// alarmMetrics lists, for each metric an alarm watches, "Namespace/Name"
// and the logical ids its dimensions name.
func alarmMetrics(alarm samtemplate.Resource) map[string][]string {
	out := map[string][]string{}
	p := alarm.Properties
	if name := samtemplate.Get(p, "MetricName"); name != nil {
		out[samtemplate.Get(p, "Namespace").Value+"/"+name.Value] = refsIn(samtemplate.Get(p, "Dimensions"))
	}
	if metrics := samtemplate.Get(p, "Metrics"); metrics != nil {
		for _, m := range metrics.Content {
			metric := samtemplate.Get(m, "MetricStat", "Metric")
			if metric != nil {
				out[samtemplate.Get(metric, "Namespace").Value+"/"+samtemplate.Get(metric, "MetricName").Value] = refsIn(samtemplate.Get(metric, "Dimensions"))
			}
		}
	}
	return out
}

// TestEveryFunctionHasItsAlarmSet: each function has its own alarms, each
// naming only it: its route's 5xx (the 5xx it answered and its failed
// invocations), its throttles, its duration near the timeout. A new
// function needs its own set; no alarm grows with the number of functions.
func TestEveryFunctionHasItsAlarmSet(t *testing.T) {
	tpl := load(t)
	functions := resources(tpl, "AWS::Serverless::Function")
	alarms := tpl.Resources("AWS::CloudWatch::Alarm")
	for name, fn := range functions {
		timeout, _ := strconv.Atoi(tpl.FunctionProperty(fn, "Timeout").Value)
		var serverErrors, throttles, duration bool
		for _, alarm := range alarms {
			metrics := alarmMetrics(alarm)
			names := false
			for _, ids := range metrics {
				if slices.Contains(ids, name) {
					names = true
				}
			}
			if !names {
				continue
			}
			for metric, ids := range metrics {
				for _, id := range ids {
					if functions[id].Name != "" && id != name {
						t.Errorf("%s watches %s (%s) and %s: one alarm set per function", alarm.Name, name, metric, id)
					}
				}
			}
			_, answered := metrics["ClinicPay/ServerErrors"]
			_, failed := metrics["AWS/Lambda/Errors"]
			serverErrors = serverErrors || (answered && failed)
			_, throttled := metrics["AWS/Lambda/Throttles"]
			throttles = throttles || throttled
			if _, ok := metrics["AWS/Lambda/Duration"]; ok {
				threshold, _ := strconv.ParseFloat(samtemplate.Get(alarm.Properties, "Threshold").Value, 64)
				limit := float64(timeout) * 1000
				if threshold < 0.75*limit || threshold >= limit {
					t.Errorf("%s: duration threshold %.0f ms is not near %s's timeout (%d s)", alarm.Name, threshold, name, timeout)
				}
				duration = true
			}
		}
		if !serverErrors || !throttles || !duration {
			t.Errorf("%s: alarm set incomplete: 5xx (ServerErrors and Errors) %v, throttles %v, duration %v", name, serverErrors, throttles, duration)
		}
	}
}

// TestLogLevelsKeepMetrics: only levels at which the metrics lines are
// kept (internal/observe writes them at the level in force; slog has no
// FATAL).
func TestLogLevelsKeepMetrics(t *testing.T) {
	allowed := samtemplate.Strings(samtemplate.Get(load(t).Root(), "Parameters", "LogLevel", "AllowedValues"))
	for _, l := range allowed {
		if !slices.Contains([]string{"DEBUG", "INFO", "WARN", "ERROR"}, l) {
			t.Errorf("LogLevel allows %s", l)
		}
	}
}

// TestEveryFailureMetricHasAnAlarm: each metric the code counts when
// something failed or was refused (its constant's name ends so: Failures,
// Failed, Rejects, Errors, EventsRejected, NeedingReview) has an alarm in
// the stack. The constants are read from the Go sources, so a new failure
// metric without its alarm fails here.
func TestEveryFailureMetricHasAnAlarm(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	constant := regexp.MustCompile(`\bMetric\w+\s*=\s*"(\w+)"`)
	failure := regexp.MustCompile(`(Failures|Failed|Rejects|Errors|EventsRejected|NeedingReview)$`)
	counted := map[string]string{}
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range constant.FindAllStringSubmatch(string(src), -1) {
			if failure.MatchString(m[1]) {
				counted[m[1]] = path
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(counted) < 10 {
		t.Fatalf("found %d failure metrics in internal/: the pattern no longer matches how they are declared", len(counted))
	}
	alarmed := map[string]bool{}
	for _, alarm := range load(t).Resources("AWS::CloudWatch::Alarm") {
		for metric := range alarmMetrics(alarm) {
			alarmed[metric] = true
		}
	}
	for name, path := range counted {
		if !alarmed["ClinicPay/"+name] {
			t.Errorf("%s (%s) has no alarm", name, path)
		}
	}
}
