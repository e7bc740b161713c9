package observe

import (
	"regexp"
	"time"
)

// emailAddress matches what upstream error texts may quote (SES names the
// address it refused; the MIME builder the address it could not use): a
// local part of any of the characters RFC 5322 allows unquoted, a domain.
var emailAddress = regexp.MustCompile("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}")

// Redact takes the e-mail addresses out of an error's text before it is
// logged: a patient's address is personal information, and logs keep none
// (docs/deploy.md: Observability).
func Redact(s string) string { return emailAddress.ReplaceAllString(s, "[email]") }

// Millis is a duration as the log lines carry it: milliseconds, to the
// microsecond.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
