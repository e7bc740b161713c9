package localstripe

import "time"

// Stripe Terminal's objects as API 2023-10-16 answers them and sends them
// in events: a reader (no last_seen_at yet at that version) with its
// action, whose PaymentIntent is an id; a PaymentIntent whose latest_charge
// is an id unless expanded; a card_present or interac_present charge whose
// payment_method_details carry the brand and last four digits.

// ReaderObject is a terminal.reader object.
func ReaderObject(r *Reader) map[string]any {
	var action any
	if r.Action != nil {
		action = actionObject(r.Action)
	}
	return map[string]any{
		"id": r.ID, "object": "terminal.reader", "action": action, "device_sw_version": "2.18.1.0", "device_type": r.DeviceType,
		"ip_address": "0.0.0.0", "label": r.Label, "livemode": false, "location": nullable(r.Location), "metadata": map[string]any{},
		"serial_number": r.Serial, "status": r.Status,
	}
}

func actionObject(a *Action) map[string]any {
	o := map[string]any{"type": a.Type, "status": a.Status, "failure_code": nullable(a.FailureCode), "failure_message": nullable(a.FailureMessage)}
	switch a.Type {
	case ActionProcessPayment:
		o["process_payment_intent"] = map[string]any{"payment_intent": a.PaymentIntent, "process_config": map[string]any{"skip_tipping": a.SkipTipping}}
	case ActionRefundPayment:
		meta := map[string]any{}
		for k, v := range a.Metadata {
			meta[k] = v
		}
		o["refund_payment"] = map[string]any{"amount": a.Amount, "charge": a.Charge, "metadata": meta, "payment_intent": a.PaymentIntent,
			"reason": nil, "refund": nullable(a.Refund), "refund_application_fee": nil, "reverse_transfer": nil}
	}
	return o
}

// LocationObject is a terminal.location object.
func LocationObject(l *Location) map[string]any {
	addr := map[string]any{"line2": nil}
	for k, v := range l.Address {
		addr[k] = v
	}
	return map[string]any{"id": l.ID, "object": "terminal.location", "address": addr, "display_name": l.DisplayName,
		"livemode": false, "metadata": map[string]any{}}
}

// IntentObject is a reader's payment_intent object; its latest_charge is
// the charge's id, or charge itself when given (expanded).
func IntentObject(i *Intent, charge map[string]any) map[string]any {
	var latest, lastError, canceledAt any
	if i.Charge != "" {
		latest = i.Charge
		if charge != nil {
			latest = charge
		}
	}
	if e := i.LastError; e != nil {
		lastError = map[string]any{"charge": nullable(e.Charge), "code": e.Code, "decline_code": nullable(e.DeclineCode),
			"doc_url": "https://stripe.com/docs/error-codes/" + e.Code, "message": e.Message, "type": "card_error",
			"payment_method": map[string]any{"id": NewID("pm"), "object": "payment_method", "type": e.Method}}
	}
	if !i.CanceledAt.IsZero() {
		canceledAt = i.CanceledAt.Unix()
	}
	options := map[string]any{}
	for _, m := range i.Methods {
		options[m] = map[string]any{}
		if m == "card_present" {
			options[m] = map[string]any{"request_extended_authorization": false, "request_incremental_authorization_support": false}
		}
	}
	return map[string]any{
		"id": i.ID, "object": "payment_intent", "amount": i.Amount, "amount_capturable": i.AmountCapturable,
		"amount_details": map[string]any{"tip": map[string]any{}}, "amount_received": i.AmountReceived, "application": nil,
		"application_fee_amount": nil, "automatic_payment_methods": nil, "canceled_at": canceledAt,
		"cancellation_reason": nullable(i.CancellationReason), "capture_method": i.CaptureMethod,
		"client_secret": i.ID + "_secret_local", "confirmation_method": "automatic", "created": i.CreatedAt.Unix(),
		"currency": i.Currency, "customer": nil, "description": nil, "invoice": nil, "last_payment_error": lastError,
		"latest_charge": latest, "livemode": false, "metadata": stringMap(i.Metadata), "next_action": nil, "on_behalf_of": nil,
		"payment_method": nil, "payment_method_configuration_details": nil, "payment_method_options": options,
		"payment_method_types": i.Methods, "processing": nil, "receipt_email": nil, "review": nil, "setup_future_usage": nil,
		"shipping": nil, "source": nil, "statement_descriptor": nil, "statement_descriptor_suffix": nil, "status": i.Status,
		"transfer_data": nil, "transfer_group": nil,
	}
}

// IntentCharge is the charge of a reader's PaymentIntent: authorized (a
// card waiting for capture), captured, or failed (a decline), with
// refunded its amount_refunded.
func IntentCharge(i *Intent, refunded int64) map[string]any {
	captured := i.AmountReceived > 0
	status, paid, outcome := "succeeded", true, map[string]any{"network_status": "approved_by_network", "type": "authorized"}
	if i.LastError != nil && i.LastError.Charge == i.Charge {
		status, paid = "failed", false
		outcome = map[string]any{"network_status": "declined_by_network", "reason": nullable(i.LastError.DeclineCode), "type": "issuer_declined"}
	}
	details := map[string]any{"brand": i.Brand, "last4": i.Last4, "exp_month": 12, "exp_year": time.Now().Year() + 3,
		"read_method": "contactless_emv", "network": i.Brand, "country": "CA", "funding": "credit"}
	if i.Method == "interac_present" {
		details = map[string]any{"brand": "interac", "last4": i.Last4, "exp_month": 12, "exp_year": time.Now().Year() + 3,
			"read_method": "contact_emv", "network": "interac", "country": "CA", "funding": "debit"}
	}
	return map[string]any{
		"id": i.Charge, "object": "charge", "amount": i.Amount, "amount_captured": i.AmountReceived, "amount_refunded": refunded,
		"captured": captured, "created": i.CreatedAt.Unix(), "currency": i.Currency, "livemode": false, "metadata": stringMap(i.Metadata),
		"outcome": outcome, "paid": paid, "payment_intent": i.ID, "payment_method_details": map[string]any{"type": i.Method, i.Method: details},
		"refunded": captured && refunded >= i.AmountReceived, "status": status,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
