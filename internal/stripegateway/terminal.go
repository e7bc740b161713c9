package stripegateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/paymentintent"
	"github.com/stripe/stripe-go/v76/terminal/location"
	"github.com/stripe/stripe-go/v76/terminal/reader"

	"github.com/clinicpay/payments/internal/billing"
)

// Stripe Terminal, server-driven: the clinic's Location, its readers, the
// actions sent to them and the PaymentIntents they take, all on the
// clinic's connected account (Stripe-Account on every call), every POST
// with the domain's idempotency key.

var _ billing.Terminal = (*Gateway)(nil)

// onAccount makes a call on the connected account with the platform's key
// (read again once if Stripe refuses it), a POST with the domain's
// idempotency key ("" for a read).
func onAccount[T any](ctx context.Context, g *Gateway, p stripe.ParamsContainer, accountID, idempotencyKey string, call func(key string) (T, error)) (T, error) {
	params := p.GetParams()
	params.Context = ctx
	params.SetStripeAccount(accountID)
	if idempotencyKey != "" {
		params.SetIdempotencyKey(idempotencyKey)
	}
	var out T
	err := g.withKey(ctx, func(k string) (err error) {
		out, err = call(k)
		return err
	})
	return out, err
}

// CreateLocation implements billing.Terminal.
func (g *Gateway) CreateLocation(ctx context.Context, accountID, displayName string, a billing.Address, idempotencyKey string) (string, error) {
	p := &stripe.TerminalLocationParams{
		DisplayName: stripe.String(displayName),
		Address: &stripe.AddressParams{Line1: stripe.String(a.Line1), City: stripe.String(a.City), State: stripe.String(a.State),
			PostalCode: stripe.String(a.PostalCode), Country: stripe.String(a.Country)},
	}
	if a.Line2 != "" {
		p.Address.Line2 = stripe.String(a.Line2)
	}
	l, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.TerminalLocation, error) {
		return (&location.Client{B: g.backend, Key: k}).New(p)
	})
	if err != nil {
		return "", terminalError("create terminal location", err, nil)
	}
	if l.ID == "" {
		return "", untrue("a location without an id", errors.New("create terminal location"))
	}
	return l.ID, nil
}

// RegisterReader implements billing.Terminal: a code Stripe refuses
// (unknown, expired, another country's reader) is
// CodeReaderRegistrationFailed with Stripe's reason.
func (g *Gateway) RegisterReader(ctx context.Context, accountID, locationID, registrationCode, label, idempotencyKey string) (*billing.TerminalReader, error) {
	p := &stripe.TerminalReaderParams{Location: stripe.String(locationID), RegistrationCode: stripe.String(registrationCode), Label: stripe.String(label)}
	r, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).New(p)
	})
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeInvalidRequest && se.Code != stripe.ErrorCodeAccountInvalid &&
		(se.HTTPStatusCode == http.StatusBadRequest || se.HTTPStatusCode == http.StatusNotFound) {
		return nil, &billing.Error{Code: billing.CodeReaderRegistrationFailed, Message: "Stripe refused the registration code: " + se.Msg,
			ProviderRequestID: se.RequestID, Err: fmt.Errorf("stripe register reader: %w", err)}
	}
	return terminalReader("register reader", r, err)
}

// Reader implements billing.Terminal.
func (g *Gateway) Reader(ctx context.Context, accountID, readerID string) (*billing.TerminalReader, error) {
	p := &stripe.TerminalReaderParams{}
	r, err := onAccount(ctx, g, p, accountID, "", func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).Get(readerID, p)
	})
	return terminalReader("read reader", r, err)
}

// DeleteReader implements billing.Terminal: a reader Stripe no longer has
// is deleted already.
func (g *Gateway) DeleteReader(ctx context.Context, accountID, readerID string) error {
	p := &stripe.TerminalReaderParams{}
	_, err := onAccount(ctx, g, p, accountID, "", func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).Del(readerID, p)
	})
	if err == nil {
		return nil
	}
	if err = terminalError("delete reader", err, billing.ErrUnknownReader); errors.Is(err, billing.ErrUnknownReader) {
		return nil
	}
	return err
}

// ProcessPaymentIntent implements billing.Terminal: tipping skipped, a
// medical bill takes no tip.
func (g *Gateway) ProcessPaymentIntent(ctx context.Context, accountID, readerID, paymentIntentID, idempotencyKey string) (*billing.TerminalReader, error) {
	p := &stripe.TerminalReaderProcessPaymentIntentParams{
		PaymentIntent: stripe.String(paymentIntentID),
		ProcessConfig: &stripe.TerminalReaderProcessPaymentIntentProcessConfigParams{SkipTipping: stripe.Bool(true)},
	}
	r, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).ProcessPaymentIntent(readerID, p)
	})
	return terminalReader("process payment intent", r, err)
}

// CancelReaderAction implements billing.Terminal. Once the card was
// presented the reader's action can't be canceled: CodeReaderBusy.
func (g *Gateway) CancelReaderAction(ctx context.Context, accountID, readerID, idempotencyKey string) (*billing.TerminalReader, error) {
	p := &stripe.TerminalReaderCancelActionParams{}
	r, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).CancelAction(readerID, p)
	})
	return terminalReader("cancel reader action", r, err)
}

// RefundOnReader implements billing.Terminal.
// The metadata is the action's (its events carry it back), ids only.
func (g *Gateway) RefundOnReader(ctx context.Context, n *billing.NewReaderRefund) (*billing.TerminalReader, error) {
	p := &stripe.TerminalReaderRefundPaymentParams{PaymentIntent: stripe.String(n.PaymentIntentID), Amount: stripe.Int64(n.Amount)}
	for k, v := range n.Metadata {
		p.AddMetadata(k, v)
	}
	r, err := onAccount(ctx, g, p, n.AccountID, n.IdempotencyKey, func(k string) (*stripe.TerminalReader, error) {
		return (&reader.Client{B: g.backend, Key: k}).RefundPayment(n.ReaderID, p)
	})
	return terminalReader("refund payment on reader", r, err)
}

// CreateReaderPaymentIntent implements billing.Terminal: card_present (and
// interac_present), captured by the service, never automatically.
func (g *Gateway) CreateReaderPaymentIntent(ctx context.Context, n *billing.NewReaderPayment) (*billing.ReaderPaymentIntent, error) {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(n.Amount),
		Currency:           stripe.String(n.Currency),
		PaymentMethodTypes: stripe.StringSlice(n.Methods),
		CaptureMethod:      stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
	}
	for k, v := range n.Metadata {
		p.AddMetadata(k, v)
	}
	pi, err := onAccount(ctx, g, p, n.AccountID, n.IdempotencyKey, func(k string) (*stripe.PaymentIntent, error) {
		return (&paymentintent.Client{B: g.backend, Key: k}).New(p)
	})
	return readerIntent("create payment intent", pi, err)
}

// ReaderPaymentIntent implements billing.Terminal: the PaymentIntent with
// its latest charge expanded, for the method read on the card.
func (g *Gateway) ReaderPaymentIntent(ctx context.Context, accountID, paymentIntentID string) (*billing.ReaderPaymentIntent, error) {
	p := &stripe.PaymentIntentParams{}
	p.AddExpand("latest_charge")
	pi, err := onAccount(ctx, g, p, accountID, "", func(k string) (*stripe.PaymentIntent, error) {
		return (&paymentintent.Client{B: g.backend, Key: k}).Get(paymentIntentID, p)
	})
	return readerIntent("read payment intent", pi, err)
}

// CapturePaymentIntent implements billing.Terminal: amount_to_capture is
// exactly the amount the domain checked against the invoice.
func (g *Gateway) CapturePaymentIntent(ctx context.Context, accountID, paymentIntentID string, amount int64, idempotencyKey string) (*billing.ReaderPaymentIntent, error) {
	p := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amount)}
	p.AddExpand("latest_charge")
	pi, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.PaymentIntent, error) {
		return (&paymentintent.Client{B: g.backend, Key: k}).Capture(paymentIntentID, p)
	})
	return readerIntent("capture payment intent", pi, err)
}

// CancelPaymentIntent implements billing.Terminal.
func (g *Gateway) CancelPaymentIntent(ctx context.Context, accountID, paymentIntentID, idempotencyKey string) (*billing.ReaderPaymentIntent, error) {
	p := &stripe.PaymentIntentCancelParams{}
	p.AddExpand("latest_charge")
	pi, err := onAccount(ctx, g, p, accountID, idempotencyKey, func(k string) (*stripe.PaymentIntent, error) {
		return (&paymentintent.Client{B: g.backend, Key: k}).Cancel(paymentIntentID, p)
	})
	return readerIntent("cancel payment intent", pi, err)
}

// terminalReader reads Stripe's answer about a reader, or classifies its
// refusal.
func terminalReader(op string, r *stripe.TerminalReader, err error) (*billing.TerminalReader, error) {
	if err != nil {
		return nil, terminalError(op, err, billing.ErrUnknownReader)
	}
	out, why := readerFacts(r)
	if why != "" {
		return nil, untrue("a reader "+why, errors.New(op))
	}
	return out, nil
}

// readerIntent reads Stripe's answer about a PaymentIntent, or classifies
// its refusal.
func readerIntent(op string, pi *stripe.PaymentIntent, err error) (*billing.ReaderPaymentIntent, error) {
	if err != nil {
		return nil, terminalError(op, err, billing.ErrUnknownCharge)
	}
	out, why := intentFacts(pi)
	if why != "" {
		return nil, untrue("a payment intent "+why, errors.New(op))
	}
	return out, nil
}

// untrue is Stripe answering what can't be so: nothing is acted on.
func untrue(what string, cause error) error {
	return &billing.Error{Code: billing.CodePaymentProviderError, Message: "Stripe answered " + what + ", which can't be true", Err: cause}
}

// readerFacts is what a reader object says, as the domain reads it, or why
// it can't be a reader ("" when it can).
func readerFacts(r *stripe.TerminalReader) (*billing.TerminalReader, string) {
	if r == nil || r.ID == "" {
		return nil, "without an id"
	}
	out := &billing.TerminalReader{ID: r.ID, Label: r.Label, DeviceType: string(r.DeviceType), Status: r.Status}
	if r.Location != nil {
		out.LocationID = r.Location.ID
	}
	a := r.Action
	if a == nil {
		return out, ""
	}
	out.Action = &billing.ReaderAction{Type: string(a.Type), Status: string(a.Status), FailureCode: a.FailureCode}
	switch {
	case a.ProcessPaymentIntent != nil && a.ProcessPaymentIntent.PaymentIntent != nil:
		out.Action.PaymentIntentID = a.ProcessPaymentIntent.PaymentIntent.ID
	case a.RefundPayment != nil:
		rp := a.RefundPayment
		if rp.PaymentIntent != nil {
			out.Action.PaymentIntentID = rp.PaymentIntent.ID
		}
		if rp.Amount < 0 || rp.Amount > billing.MaxStripeAmount {
			return nil, fmt.Sprintf("refunding %d", rp.Amount)
		}
		out.Action.RefundAmount, out.Action.Metadata = rp.Amount, rp.Metadata
		if rp.Refund != nil {
			out.Action.RefundID = rp.Refund.ID
		}
	}
	return out, ""
}

// intentFacts is what a PaymentIntent object says, as the domain reads it,
// or why it can't be one ("" when it can). Amounts are bounded as every
// amount Stripe gives is.
func intentFacts(pi *stripe.PaymentIntent) (*billing.ReaderPaymentIntent, string) {
	if pi == nil || pi.ID == "" {
		return nil, "without an id"
	}
	for _, a := range []int64{pi.Amount, pi.AmountCapturable, pi.AmountReceived} {
		if a < 0 || a > billing.MaxStripeAmount {
			return nil, fmt.Sprintf("with an amount of %d", a)
		}
	}
	if pi.AmountCapturable > pi.Amount || !currencyCode(string(pi.Currency)) {
		return nil, fmt.Sprintf("of %d %q capturing %d", pi.Amount, pi.Currency, pi.AmountCapturable)
	}
	out := &billing.ReaderPaymentIntent{ID: pi.ID, Status: string(pi.Status), Amount: pi.Amount, AmountCapturable: pi.AmountCapturable,
		AmountReceived: pi.AmountReceived, Currency: string(pi.Currency), Metadata: pi.Metadata}
	if e := pi.LastPaymentError; e != nil {
		out.LastErrorCode = string(e.Code)
		if e.DeclineCode != "" {
			out.LastErrorCode = string(e.DeclineCode) // insufficient_funds says more than card_declined
		}
	}
	if r := string(pi.CancellationReason); r != "" && isCode(r) {
		out.CancellationReason = r
	}
	if c := pi.LatestCharge; c != nil {
		out.ChargeID = c.ID
		out.Method = chargeMethod(c)
	}
	return out, ""
}

// currencyCode: three lower-case letters, as Stripe writes a currency.
func currencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Stripe's Terminal error codes.
const (
	errReaderBusy    = stripe.ErrorCodeTerminalReaderBusy
	errReaderOffline = stripe.ErrorCodeTerminalReaderOffline
	errReaderTimeout = stripe.ErrorCodeTerminalReaderTimeout
)

// terminalError classifies a refusal of a Terminal call: the reader's own
// (busy, offline, timed out), an object Stripe does not have on the
// account (unknown: ErrUnknownReader or ErrUnknownCharge; a call naming
// both a reader and a PaymentIntent says which by Stripe's param), else as
// any Stripe call.
func terminalError(op string, err error, unknown error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return providerError(op, err)
	}
	wrapped := fmt.Errorf("stripe %s: %w", op, err)
	e := &billing.Error{ProviderRequestID: se.RequestID, Err: wrapped}
	switch {
	case se.Code == errReaderBusy:
		e.Code, e.Message = billing.CodeReaderBusy, "the reader is busy with another action; wait for it to finish or cancel it"
	case se.Code == errReaderOffline:
		e.Code, e.Message = billing.CodeReaderOffline, "the reader is offline: check that it is on and connected to the internet"
	case se.Code == errReaderTimeout:
		e.Code, e.Message, e.RetryAfter = billing.CodePaymentProviderUnavailable, "the reader did not answer Stripe in time; retry in a moment", 2*time.Second
	case se.Code == stripe.ErrorCodeResourceMissing && unknown != nil:
		if se.Param == "payment_intent" {
			unknown = billing.ErrUnknownCharge
		}
		e.Code, e.Message = billing.CodePaymentProviderError, "Stripe has no such object on the clinic's account: "+se.Msg
		e.Err = fmt.Errorf("stripe %s: %w: %w", op, unknown, err)
	default:
		return providerError(op, err)
	}
	if e.ProviderRequestID != "" {
		e.Message += " (Stripe request " + e.ProviderRequestID + ")"
	}
	return e
}

// isCode: a short snake_case word, as Stripe writes an enum's value
// (kept and shown as a reason, so nothing else is taken).
func isCode(s string) bool {
	if len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
