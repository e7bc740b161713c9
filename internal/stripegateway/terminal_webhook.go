package stripegateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/stripe/stripe-go/v76"

	"github.com/clinicpay/payments/internal/billing"
)

// The Terminal events this reader knows, and what each says of its object:
// a terminal.reader whose action just ended, or a PaymentIntent in the
// status the event names.
const (
	eventReaderActionSucceeded = "terminal.reader.action_succeeded"
	eventReaderActionFailed    = "terminal.reader.action_failed"
	eventIntentCapturable      = "payment_intent.amount_capturable_updated"
	eventIntentSucceeded       = "payment_intent.succeeded"
	eventIntentFailed          = "payment_intent.payment_failed"
	eventIntentCanceled        = "payment_intent.canceled"
)

// actionStatusOf is the status a reader's action has in each reader event.
var actionStatusOf = map[string]stripe.TerminalReaderActionStatus{
	eventReaderActionSucceeded: stripe.TerminalReaderActionStatusSucceeded,
	eventReaderActionFailed:    stripe.TerminalReaderActionStatusFailed,
}

// intentStatusOf is the status a PaymentIntent has in each event about it
// (a decline leaves it waiting for another method).
var intentStatusOf = map[string]stripe.PaymentIntentStatus{
	eventIntentCapturable: stripe.PaymentIntentStatusRequiresCapture,
	eventIntentSucceeded:  stripe.PaymentIntentStatusSucceeded,
	eventIntentFailed:     stripe.PaymentIntentStatusRequiresPaymentMethod,
	eventIntentCanceled:   stripe.PaymentIntentStatusCanceled,
}

// readReaderEvent reads terminal.reader.action_succeeded and _failed: the
// reader as API 2023-10-16 sends it, its action's type, status, failure
// code and PaymentIntent (an id, never expanded in an event). The reader
// carries no metadata of ours: the PaymentIntent leads to the invoice.
func readReaderEvent(raw json.RawMessage, out *billing.WebhookEvent) error {
	var r stripe.TerminalReader
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	if r.Object != "terminal.reader" {
		return fmt.Errorf("a %q object", r.Object)
	}
	reader, why := readerFacts(&r)
	if why != "" {
		return errors.New("a reader " + why)
	}
	a := reader.Action
	switch {
	case a == nil:
		return errors.New("a reader event without the action")
	case a.Status != string(actionStatusOf[out.Type]):
		return fmt.Errorf("%s with an action %s", out.Type, a.Status)
	case a.PaymentIntentID == "" && (a.Type == billing.ReaderActionProcessPayment || a.Type == billing.ReaderActionRefundPayment):
		return fmt.Errorf("a %s without its PaymentIntent", a.Type)
	case a.Type == billing.ReaderActionRefundPayment && a.RefundAmount <= 0:
		return fmt.Errorf("a refund of %d", a.RefundAmount)
	}
	out.Terminal = &billing.TerminalFacts{Reader: reader}
	return nil
}

// readIntentEvent reads payment_intent.* as API 2023-10-16 sends them:
// amounts (bounded as every Stripe amount), currency, status (the one the
// event's type says), metadata (the company and invoice), latest_charge
// (an id only: the method is read from the charge when needed) and
// last_payment_error's code.
func readIntentEvent(raw json.RawMessage, out *billing.WebhookEvent) error {
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(raw, &pi); err != nil {
		return err
	}
	if pi.Object != "payment_intent" {
		return fmt.Errorf("a %q object", pi.Object)
	}
	intent, why := intentFacts(&pi)
	switch {
	case why != "":
		return errors.New("a payment intent " + why)
	case pi.Status != intentStatusOf[out.Type]:
		return fmt.Errorf("%s with a payment intent %s", out.Type, pi.Status)
	case pi.AmountReceived > pi.Amount:
		return fmt.Errorf("%d received of %d", pi.AmountReceived, pi.Amount)
	case pi.Status == stripe.PaymentIntentStatusSucceeded && pi.AmountReceived <= 0:
		return errors.New("a payment intent succeeded with nothing received")
	case pi.Status == stripe.PaymentIntentStatusRequiresCapture && pi.AmountCapturable <= 0:
		return errors.New("a payment intent to capture with nothing capturable")
	}
	out.CompanyID = pi.Metadata[billing.MetaCompanyID]
	out.InvoiceID = pi.Metadata[billing.MetaInvoiceID]
	if g, err := strconv.Atoi(pi.Metadata[billing.MetaGeneration]); err == nil {
		out.Generation = g // a link's PaymentIntent carries the link's metadata
	}
	out.Terminal = &billing.TerminalFacts{Intent: intent}
	return nil
}
