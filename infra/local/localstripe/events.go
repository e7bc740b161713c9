package localstripe

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// The objects below are what Stripe sends in events for API version
// 2023-10-16 (stripe.APIVersion, the version the webhook endpoint is made
// with): every field of the real shape, so that the webhook reads them as it
// reads Stripe's. They are plain maps because a test must also be able to
// send what Stripe would not (odd amounts, currencies, accounts).

// SessionFacts are what varies between two Checkout Sessions of a link.
type SessionFacts struct {
	ID            string
	PaymentIntent string
	// PaymentStatus is "paid" (a card) or "unpaid" (a pre-authorized debit
	// still clearing).
	PaymentStatus string
	LinkID        string
	Amount        int64
	Currency      string
	// SourceAmount and SourceCurrency are the link's own amount and
	// currency when Adaptive Pricing showed the patient another
	// (currency_conversion); Amount and Currency are then the patient's.
	SourceAmount   int64
	SourceCurrency string
	Metadata       map[string]string
	// Methods are the payment method types offered (card, acss_debit).
	Methods []string
	Email   string
	Created time.Time
}

// Session is a checkout.session object.
func Session(f SessionFacts) map[string]any {
	if f.Methods == nil {
		f.Methods = []string{"card", "acss_debit"}
	}
	if f.Created.IsZero() {
		f.Created = time.Now().Add(-time.Minute)
	}
	if f.Email == "" {
		f.Email = "patient@example.com"
	}
	methods := make([]any, len(f.Methods))
	for i, m := range f.Methods {
		methods[i] = m
	}
	meta := map[string]any{}
	for k, v := range f.Metadata {
		meta[k] = v
	}
	var conversion any
	if f.SourceCurrency != "" {
		conversion = map[string]any{"amount_subtotal": f.SourceAmount, "amount_total": f.SourceAmount,
			"fx_rate": fxRate(f.SourceAmount, f.Amount), "source_currency": f.SourceCurrency}
	}
	var pi any
	if f.PaymentIntent != "" {
		pi = f.PaymentIntent
	}
	return map[string]any{
		"id": f.ID, "object": "checkout.session", "currency_conversion": conversion,
		"after_expiration": nil, "allow_promotion_codes": false,
		"amount_subtotal": f.Amount, "amount_total": f.Amount,
		"automatic_tax":              map[string]any{"enabled": false, "status": nil},
		"billing_address_collection": "auto", "cancel_url": nil, "client_reference_id": nil,
		"consent": nil, "consent_collection": nil, "created": f.Created.Unix(),
		"currency": f.Currency, "custom_fields": []any{}, "custom_text": map[string]any{"shipping_address": nil, "submit": nil, "terms_of_service_acceptance": nil},
		"customer": nil, "customer_creation": "if_required",
		"customer_details": map[string]any{"address": nil, "email": f.Email, "name": nil, "phone": nil, "tax_exempt": "none", "tax_ids": []any{}},
		"customer_email":   nil, "expires_at": f.Created.Add(24 * time.Hour).Unix(), "invoice": nil,
		"invoice_creation": map[string]any{"enabled": false, "invoice_data": map[string]any{}},
		"livemode":         false, "locale": "auto",
		"metadata": meta,
		"mode":     "payment", "payment_intent": pi, "payment_link": f.LinkID,
		"payment_method_collection": "if_required", "payment_method_configuration_details": nil,
		"payment_method_options": map[string]any{}, "payment_method_types": methods,
		"payment_status": f.PaymentStatus, "phone_number_collection": map[string]any{"enabled": false},
		"recovered_from": nil, "setup_intent": nil, "shipping_address_collection": nil, "shipping_cost": nil,
		"shipping_details": nil, "shipping_options": []any{}, "status": "complete", "submit_type": "pay",
		"subscription": nil, "success_url": "https://buy.stripe.com/success", "total_details": map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
		"ui_mode": "hosted", "url": nil,
	}
}

// Charge is a charge object as API 2023-10-16 sends it in events
// (charge.refunded): refunded is amount_refunded, the refunds that did not
// fail; the refunds themselves are not in it (since 2022-11-15 the list is
// only expandable, never in an event), so a reader must ask for them.
func Charge(id, paymentIntent, currency string, amount, refunded int64) map[string]any {
	return map[string]any{
		"id": id, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": refunded,
		"balance_transaction": NewID("txn"), "captured": true, "created": time.Now().Add(-time.Hour).Unix(),
		"currency": currency, "customer": nil, "description": nil, "disputed": false, "livemode": false,
		"metadata": map[string]any{}, "outcome": map[string]any{"network_status": "approved_by_network", "type": "authorized"},
		"paid": true, "payment_intent": paymentIntent, "payment_method": NewID("pm"),
		"refunded": refunded >= amount, "status": "succeeded",
	}
}

// fxRate is a currency_conversion's fx_rate: customer currency units per
// source unit, as a decimal string (display only).
func fxRate(source, presented int64) string {
	if source <= 0 {
		return "1"
	}
	return strconv.FormatFloat(float64(presented)/float64(source), 'f', 6, 64)
}

// List is a list object of Stripe's API (GET /v1/refunds).
func List(url string, data []map[string]any) map[string]any {
	items := make([]any, len(data))
	for i, d := range data {
		items[i] = d
	}
	return map[string]any{"object": "list", "data": items, "has_more": false, "url": url}
}

// Refund is a refund object (charge.refund.updated, and listed on a charge).
func Refund(id, chargeID, paymentIntent, currency string, amount int64, status string, created time.Time) map[string]any {
	return map[string]any{
		"id": id, "object": "refund", "amount": amount, "balance_transaction": NewID("txn"), "charge": chargeID,
		"created": created.Unix(), "currency": currency, "metadata": map[string]any{}, "payment_intent": paymentIntent,
		"reason": "requested_by_customer", "receipt_number": nil, "source_transfer_reversal": nil, "status": status,
		"transfer_reversal": nil,
	}
}

// Dispute is a dispute object (charge.dispute.* events).
func Dispute(id, chargeID, paymentIntent, currency string, amount int64, status string) map[string]any {
	return map[string]any{
		"id": id, "object": "dispute", "amount": amount, "balance_transactions": []any{}, "charge": chargeID,
		"created": time.Now().Add(-time.Hour).Unix(), "currency": currency, "evidence": map[string]any{},
		"evidence_details":     map[string]any{"due_by": time.Now().Add(7 * 24 * time.Hour).Unix(), "has_evidence": false, "past_due": false, "submission_count": 0},
		"is_charge_refundable": false, "livemode": false, "metadata": map[string]any{},
		"payment_intent": paymentIntent, "reason": "fraudulent", "status": status,
	}
}

// FailedPaymentIntent is a payment_intent object after a declined card
// (payment_intent.payment_failed): the session stays open, the patient may
// try again.
func FailedPaymentIntent(id, currency string, amount int64, metadata map[string]string) map[string]any {
	meta := map[string]any{}
	for k, v := range metadata {
		meta[k] = v
	}
	return map[string]any{
		"id": id, "object": "payment_intent", "amount": amount, "amount_received": 0, "currency": currency,
		"capture_method": "automatic", "created": time.Now().Unix(), "livemode": false, "metadata": meta,
		"last_payment_error": map[string]any{"code": "card_declined", "decline_code": "generic_decline", "type": "card_error",
			"message": "Your card was declined."},
		"payment_method_types": []any{"card"}, "status": "requires_payment_method",
	}
}

// Event wraps an object in an event of a connected account, as Stripe
// delivers it to a Connect webhook endpoint.
func Event(id, eventType, account string, object map[string]any, created time.Time) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "account": account, "api_version": stripe.APIVersion,
		"created": created.Unix(), "data": map[string]any{"object": object},
		"livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "type": eventType,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of strings, numbers and maps always marshal
	}
	return b
}

// Sign is the Stripe-Signature header of payload signed with secret at at.
func Sign(payload []byte, secret string, at time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(webhook.ComputeSignature(at, payload, secret)))
}

// NewID is a fresh Stripe-shaped id: prefix_ and 24 random characters.
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// held reads an event's id and type to keep it back.
func held(payload []byte) *HeldEvent {
	var ev struct{ ID, Type string }
	_ = json.Unmarshal(payload, &ev)
	return &HeldEvent{ID: ev.ID, Type: ev.Type, Payload: payload}
}
