package stripegateway

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// Terminal objects as API 2023-10-16 sends them in events (Stripe's API
// reference for that version): a reader with its action, the
// PaymentIntent id not expanded; a PaymentIntent whose latest_charge is an
// id.
const (
	readerObject = `{"id":"tmr_1","object":"terminal.reader","action":%s,"device_sw_version":"2.18.1.0","device_type":"simulated_wisepos_e",
		"ip_address":"0.0.0.0","label":"Accueil","livemode":false,"location":"tml_1","metadata":{},"serial_number":"SIM-1","status":"online"}`
	processAction = `{"failure_code":%s,"failure_message":%s,"process_payment_intent":{"payment_intent":"pi_1","process_config":{"skip_tipping":true}},
		"status":"%s","type":"process_payment_intent"}`
	refundAction = `{"failure_code":null,"failure_message":null,"refund_payment":{"amount":%d,"charge":"ch_1","metadata":{"refund_attempt":"rfa_1"},"payment_intent":"pi_1",
		"reason":null,"refund":"re_1","refund_application_fee":null,"reverse_transfer":null},"status":"succeeded","type":"refund_payment"}`
	intentObject = `{"id":"pi_1","object":"payment_intent","amount":%d,"amount_capturable":%d,"amount_details":{"tip":{}},"amount_received":%d,
		"application":null,"application_fee_amount":null,"automatic_payment_methods":null,"canceled_at":null,"cancellation_reason":null,
		"capture_method":"manual","client_secret":"pi_1_secret_x","confirmation_method":"automatic","created":1700000000,"currency":"%s",
		"customer":null,"description":null,"invoice":null,"last_payment_error":%s,"latest_charge":%s,"livemode":false,
		"metadata":{"billing_company_id":"c1","invoice_id":"i1","attempt":"1"},"next_action":null,"on_behalf_of":null,"payment_method":null,
		"payment_method_configuration_details":null,"payment_method_options":{"card_present":{"request_extended_authorization":false,
		"request_incremental_authorization_support":false},"interac_present":{}},"payment_method_types":["card_present","interac_present"],
		"processing":null,"receipt_email":null,"review":null,"setup_future_usage":null,"shipping":null,"source":null,
		"statement_descriptor":null,"statement_descriptor_suffix":null,"status":"%s","transfer_data":null,"transfer_group":null}`
	declined = `{"charge":"ch_1","code":"card_declined","decline_code":"insufficient_funds","doc_url":"https://stripe.com/docs/error-codes/card-declined",
		"message":"Your card has insufficient funds.","payment_method":{"id":"pm_1","object":"payment_method","type":"card_present"},"type":"card_error"}`
)

func terminalEvent(eventType, object string) string {
	return fmt.Sprintf(`{"id":"evt_1","object":"event","account":"acct_1Clinic","api_version":"2023-10-16","created":1700000100,
		"data":{"object":%s},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"%s"}`, object, eventType)
}

func intent(amount, capturable, received int64, currency, lastError, charge, status string) string {
	return fmt.Sprintf(intentObject, amount, capturable, received, currency, lastError, charge, status)
}

// TestTerminalEventsRead: the Terminal events are read into
// WebhookEvent.Terminal with the event's account, time and mode; the
// PaymentIntent's metadata names the company and the invoice.
func TestTerminalEventsRead(t *testing.T) {
	r := NewWebhookReader(StaticSecret("whsec_test"))
	approved := fmt.Sprintf(readerObject, fmt.Sprintf(processAction, "null", "null", "succeeded"))
	failed := fmt.Sprintf(readerObject, fmt.Sprintf(processAction, `"card_declined"`, `"Your card was declined."`, "failed"))
	tests := []struct {
		name, typ, object string
		reader            *billing.ReaderAction
		intent            *billing.ReaderPaymentIntent
	}{
		{"card approved on the reader", eventReaderActionSucceeded, approved,
			&billing.ReaderAction{Type: "process_payment_intent", Status: "succeeded", PaymentIntentID: "pi_1"}, nil},
		{"card declined on the reader", eventReaderActionFailed, failed,
			&billing.ReaderAction{Type: "process_payment_intent", Status: "failed", FailureCode: "card_declined", PaymentIntentID: "pi_1"}, nil},
		{"refund done on the reader", eventReaderActionSucceeded, fmt.Sprintf(readerObject, fmt.Sprintf(refundAction, 2500)),
			&billing.ReaderAction{Type: "refund_payment", Status: "succeeded", PaymentIntentID: "pi_1", RefundAmount: 2500, RefundID: "re_1",
				Metadata: map[string]string{billing.MetaRefundAttempt: "rfa_1"}}, nil},
		{"authorized", eventIntentCapturable, intent(12500, 12500, 0, "cad", "null", `"ch_1"`, "requires_capture"), nil,
			&billing.ReaderPaymentIntent{ID: "pi_1", Status: "requires_capture", Amount: 12500, AmountCapturable: 12500, Currency: "cad", ChargeID: "ch_1"}},
		{"captured", eventIntentSucceeded, intent(12500, 0, 12500, "cad", "null", `"ch_1"`, "succeeded"), nil,
			&billing.ReaderPaymentIntent{ID: "pi_1", Status: "succeeded", Amount: 12500, AmountReceived: 12500, Currency: "cad", ChargeID: "ch_1"}},
		{"declined for funds", eventIntentFailed, intent(12500, 0, 0, "cad", declined, `"ch_1"`, "requires_payment_method"), nil,
			&billing.ReaderPaymentIntent{ID: "pi_1", Status: "requires_payment_method", Amount: 12500, Currency: "cad", ChargeID: "ch_1", LastErrorCode: "insufficient_funds"}},
		{"canceled", eventIntentCanceled, intent(12500, 0, 0, "cad", "null", "null", "canceled"), nil,
			&billing.ReaderPaymentIntent{ID: "pi_1", Status: "canceled", Amount: 12500, Currency: "cad"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(terminalEvent(tc.typ, tc.object))
			ev, err := r.Read(context.Background(), payload, signed(payload, "whsec_test", time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tc.typ || ev.AccountID != "acct_1Clinic" || ev.Created.Unix() != 1700000100 || ev.Livemode || ev.Terminal == nil {
				t.Fatalf("%+v", ev)
			}
			if tc.reader != nil {
				rd := ev.Terminal.Reader
				if rd == nil || rd.ID != "tmr_1" || rd.Status != "online" || rd.LocationID != "tml_1" || rd.DeviceType != "simulated_wisepos_e" ||
					rd.Action == nil || !reflect.DeepEqual(rd.Action, tc.reader) || ev.Terminal.Intent != nil {
					t.Fatalf("reader %+v", ev.Terminal)
				}
				return
			}
			got := ev.Terminal.Intent
			if got == nil || ev.CompanyID != "c1" || ev.InvoiceID != "i1" || got.Metadata["attempt"] != "1" || got.Method != nil {
				t.Fatalf("intent %+v of %+v", got, ev)
			}
			got.Metadata = nil
			if fmt.Sprint(*got) != fmt.Sprint(*tc.intent) {
				t.Fatalf("%+v, want %+v", *got, *tc.intent)
			}
		})
	}
}

// TestTerminalEventsOfOddShapesRefused: a signed Terminal event whose
// object can't be what its type says is refused, never half read.
func TestTerminalEventsOfOddShapesRefused(t *testing.T) {
	r := NewWebhookReader(StaticSecret("whsec_test"))
	approved := fmt.Sprintf(readerObject, fmt.Sprintf(processAction, "null", "null", "succeeded"))
	tests := []struct{ name, typ, object string }{
		{"a reader event without its action", eventReaderActionSucceeded, fmt.Sprintf(readerObject, "null")},
		{"success of a failed action", eventReaderActionSucceeded, fmt.Sprintf(readerObject, fmt.Sprintf(processAction, `"card_declined"`, "null", "failed"))},
		{"failure of an action in progress", eventReaderActionFailed, fmt.Sprintf(readerObject, fmt.Sprintf(processAction, "null", "null", "in_progress"))},
		{"a payment action without its PaymentIntent", eventReaderActionSucceeded, strings.Replace(approved, `"payment_intent":"pi_1"`, `"payment_intent":null`, 1)},
		{"a reader without an id", eventReaderActionSucceeded, strings.Replace(approved, `"id":"tmr_1"`, `"id":""`, 1)},
		{"a PaymentIntent sent as a reader event", eventReaderActionSucceeded, intent(100, 0, 100, "cad", "null", "null", "succeeded")},
		{"a reader sent as a PaymentIntent event", eventIntentSucceeded, approved},
		{"a refund of nothing", eventReaderActionSucceeded, fmt.Sprintf(readerObject, fmt.Sprintf(refundAction, 0))},
		{"a refund beyond Stripe's amounts", eventReaderActionSucceeded, fmt.Sprintf(readerObject, fmt.Sprintf(refundAction, billing.MaxStripeAmount+1))},
		{"an amount beyond Stripe's", eventIntentSucceeded, intent(billing.MaxStripeAmount+1, 0, billing.MaxStripeAmount+1, "idr", "null", `"ch_1"`, "succeeded")},
		{"a negative amount", eventIntentCanceled, intent(-1, 0, 0, "cad", "null", "null", "canceled")},
		{"more received than the amount", eventIntentSucceeded, intent(100, 0, 200, "cad", "null", `"ch_1"`, "succeeded")},
		{"more capturable than the amount", eventIntentCapturable, intent(100, 200, 0, "cad", "null", `"ch_1"`, "requires_capture")},
		{"succeeded with nothing received", eventIntentSucceeded, intent(100, 0, 0, "cad", "null", `"ch_1"`, "succeeded")},
		{"capturable with nothing to capture", eventIntentCapturable, intent(100, 0, 0, "cad", "null", `"ch_1"`, "requires_capture")},
		{"succeeded, says the type, canceled, says the object", eventIntentSucceeded, intent(100, 0, 0, "cad", "null", "null", "canceled")},
		{"a currency that is none", eventIntentSucceeded, intent(100, 0, 100, "CAD$", "null", `"ch_1"`, "succeeded")},
		{"an amount that is text", eventIntentSucceeded, strings.Replace(intent(100, 0, 100, "cad", "null", `"ch_1"`, "succeeded"), `"amount":100`, `"amount":"100"`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(terminalEvent(tc.typ, tc.object))
			_, err := r.Read(context.Background(), payload, signed(payload, "whsec_test", time.Now()))
			var rj *rejection
			if billing.ErrorCode(err) != billing.CodeInvalidEvent || !errors.As(err, &rj) || rj.reason != RejectMalformed {
				t.Fatalf("%v", err)
			}
		})
	}
}
