package observe

import (
	"strings"
	"testing"
	"time"
)

func TestRedactKeepsAddressesOutOfLogs(t *testing.T) {
	for _, msg := range []string{
		"ses send raw email: MessageRejected: Email address is not verified. The following identities failed the check in region CA-CENTRAL-1: marie.tremblay+1@example.qc.ca, a@b.co",
		`build message: invalid address "jean.o'neil@clinique-exemple.ca"`,
	} {
		got := Redact(msg)
		if strings.ContainsAny(got, "@") || strings.Contains(got, "marie") || strings.Contains(got, "jean") || !strings.Contains(got, "[email]") {
			t.Errorf("Redact(%q) = %q", msg, got)
		}
	}
}

func TestMillis(t *testing.T) {
	if got := Millis(1234567 * time.Nanosecond); got != 1.234 {
		t.Fatalf("Millis = %v", got)
	}
}
