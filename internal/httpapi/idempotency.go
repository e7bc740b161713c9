package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
	"github.com/clinicpay/payments/internal/idempotency"
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 255

// idempotent runs a mutating request under its Idempotency-Key, as AWS
// Lambda Powertools' idempotency utility does: the first attempt records the
// key as in progress (until its invocation's deadline), runs, and records
// its answer; a later attempt with the same key and the same request gets
// that answer back without the work being done again. Another request under
// the same key is refused (422); an attempt while the first is running gets
// 409 request_in_progress. An answer worth retrying (5xx, or one with
// Retry-After) frees the key.
func (a *API) idempotent(ctx context.Context, c *call, key string, run func(context.Context) events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	if key == "" || len(key) > MaxIdempotencyKey || !visibleASCII(key) {
		return a.fail(c, billing.Invalid("Idempotency-Key", "Idempotency-Key must be 1 to %d visible ASCII characters", MaxIdempotencyKey))
	}
	now := time.Now()
	rec := &idempotency.Request{
		Scope: c.idempotencyScope(), Key: key, Hash: requestHash(c.req),
		InProgressUntil: now.Add(defaultInProgress), ExpiresAt: now.Add(idempotency.Retention),
	}
	if dl, ok := ctx.Deadline(); ok {
		rec.InProgressUntil = dl.Add(time.Second)
	}
	existing, err := a.idem.StartRequest(ctx, rec, now)
	if err != nil {
		return a.fail(c, err)
	}
	if existing != nil {
		switch {
		case existing.Hash != rec.Hash:
			return a.fail(c, billing.Errorf(billing.CodeIdempotencyKeyReused, "this Idempotency-Key was used for another request"))
		case existing.Status == idempotency.Completed && existing.Response != nil:
			c.logAttrs = append(c.logAttrs, slog.Bool("replayed", true))
			return replay(existing.Response)
		default:
			return a.fail(c, billing.Busy(billing.CodeRequestInProgress, "a request with this Idempotency-Key is still in progress", time.Until(existing.InProgressUntil)))
		}
	}
	c.idempotencyKey = key
	resp := run(ctx)
	// The record is written even if the invocation's time is up: the work
	// is done and a retry must not do it again.
	done := context.WithoutCancel(ctx)
	if resp.StatusCode >= 500 || resp.Headers["Retry-After"] != "" {
		if err := a.idem.ReleaseRequest(done, c.idempotencyScope(), key); err != nil {
			a.log.WarnContext(ctx, "idempotency key not released", "error", err.Error())
		}
		return resp
	}
	rec.Response = &idempotency.StoredResponse{Status: resp.StatusCode, ContentType: resp.Headers["Content-Type"], Body: []byte(resp.Body), Headers: resp.Headers}
	if err := a.idem.CompleteRequest(done, rec); err != nil {
		a.log.WarnContext(ctx, "idempotent answer not recorded", "error", err.Error())
	}
	return resp
}

// defaultInProgress is how long an attempt holds its key when the context
// has no deadline (the local API sets one; Lambda always does).
const defaultInProgress = 30 * time.Second

// requestHash identifies the request: method, path and body, as sent.
func requestHash(req events.APIGatewayV2HTTPRequest) string {
	h := sha256.New()
	h.Write([]byte(req.RequestContext.HTTP.Method + " " + req.RawPath + "\n"))
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(req.Body); err == nil {
			body = b
		}
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// replay is the first answer again: its status, body and headers (a
// replayed PUT has its ETag), marked as a replay.
func replay(r *idempotency.StoredResponse) events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Headers: map[string]string{}, Body: string(r.Body)}
	for k, v := range r.Headers {
		resp.Headers[k] = v
	}
	if r.ContentType != "" {
		resp.Headers["Content-Type"] = r.ContentType
	}
	resp.Headers["Cache-Control"], resp.Headers["Idempotent-Replayed"] = "no-store", "true"
	return resp
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyScope is whose keys a request's key is among: its tenant's, or
// the platform operators' for a platform token that names no tenant ("~"
// is never in a company id).
func (c *call) idempotencyScope() string {
	if c.caller.Tenant == "" {
		return "~platform"
	}
	return c.caller.Tenant
}
