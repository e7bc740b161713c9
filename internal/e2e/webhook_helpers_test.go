package e2e

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/clinicpay/payments/infra/localservers"
	"github.com/clinicpay/payments/internal/harness/faultproxy"
)

// linked is an invoice with an active payment link, as a patient would pay it.
type linked struct {
	tn         *tenant
	invoiceID  string
	linkID     string
	generation string
	amount     int64
}

// linkedInvoice stores an invoice of amount due in full and adds a link.
func linkedInvoice(t tb, tn *tenant, amount int64) linked {
	t.Helper()
	id := "inv-" + randomHex(5)
	call(t, "PUT", "/invoices/"+id, tn.Staff, invoiceBody("F-"+id, amount, amount, "fr")).want(t, 201)
	link := call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
	return linked{tn: tn, invoiceID: id, linkID: link.str("id"), generation: linkGeneration(t, link.str("id")), amount: amount}
}

// linkGeneration reads the generation the link carries in its metadata, from
// what Stripe (stripe-mock) was sent when the link was made.
func linkGeneration(t tb, linkID string) string {
	t.Helper()
	for _, r := range env.stripe.Requests(func(r *faultproxy.Request) bool {
		return r.Method == "POST" && r.Path == "/v1/payment_links"
	}) {
		var obj struct{ ID string }
		if json.Unmarshal(r.Response, &obj) == nil && obj.ID == linkID {
			return r.Form.Get("metadata[link_generation]")
		}
	}
	t.Fatalf("no creation of link %s seen at Stripe", linkID)
	return ""
}

// sessionObject is a Checkout Session as Stripe sends it in events for API
// version 2023-10-16, for a session of link l.
func (l linked) session(sessionID, paymentIntent, paymentStatus string) map[string]any {
	return map[string]any{
		"id": sessionID, "object": "checkout.session",
		"after_expiration": nil, "allow_promotion_codes": false,
		"amount_subtotal": l.amount, "amount_total": l.amount,
		"automatic_tax":              map[string]any{"enabled": false, "status": nil},
		"billing_address_collection": "auto", "cancel_url": nil, "client_reference_id": nil,
		"consent": nil, "consent_collection": nil, "created": time.Now().Add(-time.Minute).Unix(),
		"currency": "cad", "custom_fields": []any{}, "custom_text": map[string]any{"shipping_address": nil, "submit": nil, "terms_of_service_acceptance": nil},
		"customer": nil, "customer_creation": "if_required",
		"customer_details": map[string]any{"address": nil, "email": "patient@example.com", "name": "Patient", "phone": nil, "tax_exempt": "none", "tax_ids": []any{}},
		"customer_email":   nil, "expires_at": time.Now().Add(23 * time.Hour).Unix(), "invoice": nil,
		"invoice_creation": map[string]any{"enabled": false, "invoice_data": map[string]any{}},
		"livemode":         false, "locale": "auto",
		"metadata": map[string]any{"billing_company_id": l.tn.ID, "invoice_id": l.invoiceID, "link_generation": l.generation},
		"mode":     "payment", "payment_intent": paymentIntent, "payment_link": l.linkID,
		"payment_method_collection": "if_required", "payment_method_configuration_details": nil,
		"payment_method_options": map[string]any{}, "payment_method_types": []any{"card", "acss_debit"},
		"payment_status": paymentStatus, "phone_number_collection": map[string]any{"enabled": false},
		"recovered_from": nil, "setup_intent": nil, "shipping_address_collection": nil, "shipping_cost": nil,
		"shipping_details": nil, "shipping_options": []any{}, "status": "complete", "submit_type": "pay",
		"subscription": nil, "success_url": "https://buy.stripe.com/success", "total_details": map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
		"ui_mode": "hosted", "url": nil,
	}
}

// chargeObject is a Charge as charge.refunded sends it.
func chargeObject(chargeID, paymentIntent string, amount, refunded int64) map[string]any {
	return map[string]any{
		"id": chargeID, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": refunded,
		"balance_transaction": "txn_" + randomHex(8), "captured": true, "created": time.Now().Add(-time.Hour).Unix(),
		"currency": "cad", "customer": nil, "description": nil, "disputed": false, "livemode": false,
		"metadata": map[string]any{}, "outcome": map[string]any{"network_status": "approved_by_network", "type": "authorized"},
		"paid": true, "payment_intent": paymentIntent, "payment_method": "pm_" + randomHex(8),
		"refunded": refunded >= amount, "status": "succeeded",
		"refunds": map[string]any{"object": "list", "data": []any{}, "has_more": false, "total_count": 0, "url": "/v1/charges/" + chargeID + "/refunds"},
	}
}

// disputeObject is a Dispute as charge.dispute.* events send it.
func disputeObject(disputeID, chargeID, paymentIntent string, amount int64, status string) map[string]any {
	return map[string]any{
		"id": disputeID, "object": "dispute", "amount": amount, "balance_transactions": []any{}, "charge": chargeID,
		"created": time.Now().Add(-time.Hour).Unix(), "currency": "cad", "evidence": map[string]any{},
		"evidence_details":     map[string]any{"due_by": time.Now().Add(7 * 24 * time.Hour).Unix(), "has_evidence": false, "past_due": false, "submission_count": 0},
		"is_charge_refundable": false, "livemode": false, "metadata": map[string]any{},
		"payment_intent": paymentIntent, "reason": "fraudulent", "status": status,
	}
}

// stripeEvent wraps an object in a Connect event, as Stripe sends it.
func stripeEvent(id, eventType, account string, object map[string]any) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "account": account, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": object},
		"livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "type": eventType,
	}
	b, _ := json.Marshal(ev)
	return b
}

// sign makes the Stripe-Signature header for payload.
func sign(payload []byte, secret string, at time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(webhook.ComputeSignature(at, payload, secret)))
}

// deliver posts a signed delivery to the webhook.
func deliver(t tb, payload []byte) *response {
	t.Helper()
	return deliverSigned(t, payload, sign(payload, localservers.WebhookSecret, time.Now()))
}

func deliverSigned(t tb, payload []byte, signature string) *response {
	t.Helper()
	hdr := []string{}
	if signature != "" {
		hdr = append(hdr, "Stripe-Signature", signature)
	}
	return call(t, "POST", "/webhooks/stripe", "", payload, hdr...)
}

// pay delivers a checkout.session.completed (paid) for the link and returns
// the PaymentIntent id.
func (l linked) pay(t tb) string {
	t.Helper()
	pi := "pi_" + randomHex(10)
	r := deliver(t, stripeEvent("evt_"+randomHex(10), "checkout.session.completed", l.tn.Account, l.session("cs_test_"+randomHex(10), pi, "paid"))).want(t, http.StatusOK)
	if r.str("outcome") != "applied" {
		t.Fatalf("payment not applied: %s", r.Raw)
	}
	return pi
}

func (l linked) view(t tb) *response {
	t.Helper()
	return call(t, "GET", "/invoices/"+l.invoiceID, l.tn.Staff, nil).want(t, 200)
}

// feed reads the whole feed of a tenant.
func feed(t tb, tn *tenant) []map[string]any {
	t.Helper()
	var all []map[string]any
	after := ""
	for {
		r := call(t, "GET", "/payments?limit=100&after="+after, tn.Staff, nil).want(t, 200)
		all = append(all, r.list("payments")...)
		after = r.str("nextCursor")
		if r.JSON["hasMore"] != true {
			return all
		}
	}
}

func feedFor(t tb, tn *tenant, invoiceID string) []map[string]any {
	var out []map[string]any
	for _, e := range feed(t, tn) {
		if e["invoiceId"] == invoiceID {
			out = append(out, e)
		}
	}
	return out
}

func kinds(entries []map[string]any) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e["kind"].(string))
	}
	return out
}
