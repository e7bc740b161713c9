package stripegateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/clinicpay/payments/internal/billing"
)

// WebhookReader verifies Stripe's signature on a webhook delivery and reads
// the event into the domain's terms.
//
// API version: stripe-go v76 models objects as of API version 2023-10-16
// (stripe.APIVersion). The Connect endpoint must be created with that
// version. Events of any other version are refused (400, reason
// api_version_mismatch), deliberately: objects of another version may not
// read the same, and a misread payment is worse than a late one. Stripe
// keeps retrying a refused delivery for three days, long enough to recreate
// the endpoint with the right version, and the alarm on webhook rejects says
// so.
type WebhookReader struct {
	secrets   SecretSource
	tolerance time.Duration
}

// SecretSource gives the endpoint's signing secret, and reads it again
// after a signature fails to match (the secret may have been rolled).
type SecretSource interface {
	WebhookSecret(ctx context.Context) (string, error)
	RefreshWebhookSecret(ctx context.Context) (string, error)
}

// StaticSecret is a SecretSource for a secret known in advance.
type StaticSecret string

// WebhookSecret implements SecretSource.
func (s StaticSecret) WebhookSecret(context.Context) (string, error) { return string(s), nil }

// RefreshWebhookSecret implements SecretSource.
func (s StaticSecret) RefreshWebhookSecret(context.Context) (string, error) { return string(s), nil }

// NewWebhookReader reads events signed with the endpoint's signing secret,
// allowing Stripe's default five minutes between signing and receipt.
func NewWebhookReader(secrets SecretSource) *WebhookReader {
	return &WebhookReader{secrets: secrets, tolerance: webhook.DefaultTolerance}
}

// Reasons a delivery is refused (logged, and counted by the metrics).
const (
	RejectSignature  = "bad_signature"
	RejectStale      = "stale_timestamp"
	RejectFuture     = "future_timestamp"
	RejectMalformed  = "malformed_event"
	RejectAPIVersion = "api_version_mismatch"
	// RejectTimestamps: a Stripe-Signature with more than one t=. Stripe
	// signs with one; stripe-go verifies with the last, so a second one
	// could carry another time than the one checked for age.
	RejectTimestamps = "ambiguous_timestamp"
)

// rejection carries why a delivery was refused; the HTTP layer logs the
// reason and nothing else of the delivery.
type rejection struct {
	reason string
	err    error
}

func (r *rejection) Error() string { return r.reason + ": " + r.err.Error() }

// Reason is the short cause logged for a refused delivery.
func (r *rejection) Reason() string { return r.reason }
func (r *rejection) Unwrap() error  { return r.err }

func reject(code billing.Code, reason, msg string, cause error) error {
	return &billing.Error{Code: code, Message: msg, Err: &rejection{reason: reason, err: cause}}
}

// Read verifies payload against the Stripe-Signature header and returns the
// event. It reads the body only after the signature checks out.
func (r *WebhookReader) Read(ctx context.Context, payload []byte, signature string) (*billing.WebhookEvent, error) {
	at, n := signedAt(signature)
	if n > 1 {
		return nil, reject(billing.CodeInvalidSignature, RejectTimestamps, "the Stripe-Signature header must have exactly one timestamp (t=)", fmt.Errorf("%d timestamps", n))
	}
	secret, err := r.secrets.WebhookSecret(ctx)
	if err != nil {
		return nil, &billing.Error{Code: billing.CodeUnavailable, Message: "the webhook's signing secret could not be loaded", RetryAfter: time.Second, Err: err}
	}
	err = webhook.ValidatePayloadWithTolerance(payload, signature, secret, r.tolerance)
	if errors.Is(err, webhook.ErrNoValidSignature) {
		// Perhaps the secret was rolled: read it again (rate-limited by
		// the source) and check once more.
		if fresh, rerr := r.secrets.RefreshWebhookSecret(ctx); rerr == nil && fresh != secret {
			err = webhook.ValidatePayloadWithTolerance(payload, signature, fresh, r.tolerance)
		}
	}
	if err != nil {
		if errors.Is(err, webhook.ErrTooOld) {
			return nil, reject(billing.CodeInvalidSignature, RejectStale, "the signature's timestamp is too old", err)
		}
		return nil, reject(billing.CodeInvalidSignature, RejectSignature, "the Stripe-Signature header does not match the body", err)
	}
	// stripe-go refuses a timestamp too far in the past only; one too far
	// in the future is as suspect (a captured signature made to last).
	if n == 1 && at.After(time.Now().Add(r.tolerance)) {
		return nil, reject(billing.CodeInvalidSignature, RejectFuture, "the signature's timestamp is in the future", errors.New(at.String()))
	}
	var ev stripe.Event
	if err := json.Unmarshal(payload, &ev); err != nil || ev.ID == "" || ev.Data == nil {
		return nil, reject(billing.CodeInvalidEvent, RejectMalformed, "the body is not a Stripe event", err)
	}
	if ev.APIVersion != stripe.APIVersion {
		return nil, reject(billing.CodeInvalidEvent, RejectAPIVersion,
			fmt.Sprintf("events must use Stripe API version %s (got %q): create the webhook endpoint with that version", stripe.APIVersion, ev.APIVersion),
			errors.New(ev.APIVersion))
	}
	out := &billing.WebhookEvent{ID: ev.ID, Type: string(ev.Type), AccountID: ev.Account, Created: time.Unix(ev.Created, 0).UTC(), Livemode: ev.Livemode}
	switch out.Type {
	case billing.EventCheckoutCompleted, billing.EventAsyncSucceeded, billing.EventAsyncFailed:
		err = readSession(ev.Data.Raw, out)
	case billing.EventChargeRefunded:
		err = readCharge(ev.Data.Raw, out)
	case billing.EventChargeRefundUpdated:
		err = readRefund(ev.Data.Raw, out)
	case billing.EventDisputeCreated, billing.EventDisputeUpdated, billing.EventDisputeClosed:
		err = readDispute(ev.Data.Raw, out)
	case billing.EventAccountUpdated:
		err = readAccount(ev.Data.Raw, out)
	case eventReaderActionSucceeded, eventReaderActionFailed:
		err = readReaderEvent(ev.Data.Raw, out)
	case eventIntentCapturable, eventIntentSucceeded, eventIntentFailed, eventIntentCanceled:
		err = readIntentEvent(ev.Data.Raw, out)
	}
	if err != nil {
		return nil, reject(billing.CodeInvalidEvent, RejectMalformed, "the event's object is not what its type says", err)
	}
	return out, nil
}

func readSession(raw json.RawMessage, out *billing.WebhookEvent) error {
	var s stripe.CheckoutSession
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if s.ID == "" {
		return errors.New("no session id")
	}
	out.CompanyID = s.Metadata[billing.MetaCompanyID]
	out.InvoiceID = s.Metadata[billing.MetaInvoiceID]
	if g, err := strconv.Atoi(s.Metadata[billing.MetaGeneration]); err == nil {
		out.Generation = g // absent or not a number: 0, no link of ours
	}
	f := &out.Facts
	f.SessionID, f.Amount, f.Currency = s.ID, s.AmountTotal, string(s.Currency)
	if cc := s.CurrencyConversion; cc != nil {
		// Adaptive Pricing: the patient paid in their own currency; what
		// counts toward the invoice is the source amount and currency.
		f.SourceAmount, f.SourceCurrency = cc.AmountTotal, string(cc.SourceCurrency)
	}
	if s.PaymentIntent != nil {
		f.PaymentIntentID = s.PaymentIntent.ID
	}
	if s.PaymentLink != nil {
		f.LinkID = s.PaymentLink.ID
	}
	switch {
	case out.Type == billing.EventAsyncFailed:
		f.State = billing.PaymentFailed
	case s.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid:
		f.State = billing.PaymentSucceeded
	case s.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid && out.Type == billing.EventCheckoutCompleted:
		f.State = billing.PaymentProcessing // a delayed method (pre-authorized debit) is clearing
	}
	return nil
}

func readCharge(raw json.RawMessage, out *billing.WebhookEvent) error {
	var c stripe.Charge
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	if c.ID == "" {
		return errors.New("no charge id")
	}
	f := &out.Facts
	f.ChargeID, f.Amount, f.Currency = c.ID, c.Amount, string(c.Currency)
	if c.PaymentIntent != nil {
		f.PaymentIntentID = c.PaymentIntent.ID
	}
	if c.Paid || c.Status == stripe.ChargeStatusSucceeded {
		f.State = billing.PaymentSucceeded // a refunded charge was paid first
	}
	refunded := c.AmountRefunded
	f.ChargeRefunded = &refunded
	return nil
}

func readRefund(raw json.RawMessage, out *billing.WebhookEvent) error {
	var r stripe.Refund
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if r.ID == "" {
		return errors.New("no refund id")
	}
	f := &out.Facts
	f.Currency = string(r.Currency)
	if r.Charge != nil {
		f.ChargeID = r.Charge.ID
	}
	if r.PaymentIntent != nil {
		f.PaymentIntentID = r.PaymentIntent.ID
	}
	f.Refund = &billing.Refund{ID: r.ID, Amount: r.Amount, Status: billing.RefundStatus(r.Status), CreatedAt: time.Unix(r.Created, 0).UTC()}
	return nil
}

func readAccount(raw json.RawMessage, out *billing.WebhookEvent) error {
	var a stripe.Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	if a.ID == "" {
		return errors.New("no account id")
	}
	if out.AccountID != "" && a.ID != out.AccountID {
		return fmt.Errorf("account.updated about %s sent for %s", a.ID, out.AccountID)
	}
	out.Account = accountStatus(&a)
	return nil
}

// signedAt reads the timestamp (t=) of a Stripe-Signature header and how
// many t= parts it has (spaces around a part count it too, so no spelling
// of a second one gets past). A t= that is not a number leaves the time
// zero: stripe-go refuses such a header anyway.
func signedAt(header string) (time.Time, int) {
	var at time.Time
	n := 0
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			n++
			if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
				at = time.Unix(sec, 0)
			}
		}
	}
	return at, n
}

func readDispute(raw json.RawMessage, out *billing.WebhookEvent) error {
	var d stripe.Dispute
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	if d.ID == "" {
		return errors.New("no dispute id")
	}
	f := &out.Facts
	f.Currency = string(d.Currency)
	if d.PaymentIntent != nil {
		f.PaymentIntentID = d.PaymentIntent.ID
	}
	if d.Charge != nil {
		f.ChargeID = d.Charge.ID
	}
	f.State = billing.PaymentSucceeded // only a paid charge can be disputed
	f.Dispute = &billing.Dispute{ID: d.ID, Amount: d.Amount, Status: string(d.Status)}
	return nil
}
