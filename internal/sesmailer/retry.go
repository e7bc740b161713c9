package sesmailer

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// RetryableSend tells the SDK's retryer which failed SendRawEmail attempts
// it must not make again. SES has no idempotency key: an attempt that may
// have reached it (no answer, as when the attempt's timeout cut a slow
// call or the connection closed after the request was written, or an
// answer that said it was taken) sent the e-mail perhaps, and a second one
// would send it twice. Such a failure goes back to the outbox, which waits
// for SES's events about the attempt before sending again. An attempt SES
// answered with an error, or that never connected, sent nothing: the
// standard checks decide (UnknownTernary).
func RetryableSend(err error) aws.Ternary {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return aws.UnknownTernary
	}
	// The SDK wraps every failure in a response error, status 0 when no
	// answer came.
	var answered interface{ HTTPStatusCode() int }
	if errors.As(err, &answered) && answered.HTTPStatusCode() >= 300 {
		return aws.UnknownTernary
	}
	return aws.FalseTernary
}
