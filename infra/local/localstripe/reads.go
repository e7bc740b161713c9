package localstripe

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Answer answers, from the local Stripe's state, the reads the service
// makes that stateless stripe-mock can only answer with fixtures: a
// charge's refunds (GET /v1/refunds?charge=… or ?payment_intent=…), a
// charge (GET /v1/charges/{id}, refunds expanded when asked) and a
// PaymentIntent (GET /v1/payment_intents/{id}, latest_charge expanded when
// asked), each on the connected account the Stripe-Account header names,
// as Stripe holds it now. ok is false for what it does not play (left to
// stripe-mock); a charge or PaymentIntent it does not hold on that account
// is Stripe's 404 resource_missing for refunds, left to stripe-mock
// otherwise.
func (s *State) Answer(method, path string, header http.Header, query url.Values) (status int, body []byte, ok bool) {
	if method != http.MethodGet {
		return 0, nil, false
	}
	account := header.Get("Stripe-Account")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case path == "/v1/refunds":
		charge, pi := query.Get("charge"), query.Get("payment_intent")
		p := s.find(account, func(p *Payment) bool {
			return (charge != "" && p.Charge == charge) || (charge == "" && pi != "" && p.PaymentIntent == pi)
		})
		if p == nil {
			return missing("charge", charge+pi)
		}
		return answer(List("/v1/refunds", refundObjects(p)))
	case strings.HasPrefix(path, "/v1/charges/"):
		id := strings.TrimPrefix(path, "/v1/charges/")
		if p := s.find(account, func(p *Payment) bool { return p.Charge == id }); p != nil {
			return answer(chargeObject(p, expanded(query, "refunds")))
		}
	case strings.HasPrefix(path, "/v1/payment_intents/"):
		id := strings.TrimPrefix(path, "/v1/payment_intents/")
		if p := s.find(account, func(p *Payment) bool { return p.PaymentIntent == id }); p != nil {
			return answer(paymentIntentObject(p, expanded(query, "latest_charge")))
		}
	}
	return 0, nil, false
}

// expanded reports a field asked expanded: expand[]=f, or expand[0]=f as
// stripe-go encodes it.
func expanded(query url.Values, field string) bool {
	for k, vs := range query {
		if (k == "expand" || strings.HasPrefix(k, "expand[")) && slices.Contains(vs, field) {
			return true
		}
	}
	return false
}

// find is the payment on account that match says (the caller holds mu).
func (s *State) find(account string, match func(*Payment) bool) *Payment {
	for _, p := range s.data.Payments {
		if p.Account == account && match(p) {
			return p
		}
	}
	return nil
}

// refundObjects lists a payment's refunds as Stripe does: newest first.
func refundObjects(p *Payment) []map[string]any {
	_, currency := p.Charged()
	out := make([]map[string]any, 0, len(p.Refunds))
	for i := len(p.Refunds) - 1; i >= 0; i-- {
		r := p.Refunds[i]
		out = append(out, Refund(r.ID, p.Charge, p.PaymentIntent, currency, r.Amount, r.Status, r.CreatedAt))
	}
	return out
}

func chargeObject(p *Payment, expandRefunds bool) map[string]any {
	amount, currency := p.Charged()
	c := Charge(p.Charge, p.PaymentIntent, currency, amount, p.Refunded())
	c["created"] = p.CreatedAt.Unix()
	c["paid"], c["status"] = p.Status == Succeeded, map[string]string{Succeeded: "succeeded", Processing: "pending", Failed: "failed"}[p.Status]
	c["payment_method_details"] = methodDetails(p.Method)
	if expandRefunds {
		c["refunds"] = List("/v1/charges/"+p.Charge+"/refunds", refundObjects(p))
	}
	return c
}

func methodDetails(method string) map[string]any {
	if method == PreAuthorizedDebit {
		return map[string]any{"type": "acss_debit", "acss_debit": map[string]any{"bank_name": "TD Canada Trust", "last4": "6789", "institution_number": "004", "transit_number": "12345"}}
	}
	return map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": time.Now().Year() + 3, "funding": "credit", "country": "CA"}}
}

func paymentIntentObject(p *Payment, expandCharge bool) map[string]any {
	amount, currency := p.Charged()
	status := map[string]string{Succeeded: "succeeded", Processing: "processing", Failed: "requires_payment_method"}[p.Status]
	meta := map[string]any{}
	for k, v := range p.Metadata {
		meta[k] = v
	}
	var latest any = p.Charge
	if expandCharge {
		latest = chargeObject(p, false)
	}
	received := int64(0)
	if p.Status == Succeeded {
		received = amount
	}
	return map[string]any{
		"id": p.PaymentIntent, "object": "payment_intent", "amount": amount, "amount_received": received, "currency": currency,
		"capture_method": "automatic", "created": p.CreatedAt.Unix(), "latest_charge": latest, "livemode": false, "metadata": meta,
		"payment_method_types": []any{p.Method}, "status": status,
	}
}

func answer(obj map[string]any) (int, []byte, bool) {
	b, err := json.Marshal(obj)
	if err != nil {
		return http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","message":"local stripe"}}`), true
	}
	return http.StatusOK, b, true
}

// missing is Stripe's answer for an object it does not have.
func missing(kind, id string) (int, []byte, bool) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
		"message": "No such " + kind + ": '" + id + "'", "param": kind}})
	return http.StatusNotFound, b, true
}

// PutPayment makes a payment Stripe's truth (a test's own, made without
// the local checkout): it replaces the one with its PaymentIntent, keeping
// its refunds when p has none.
func (s *State) PutPayment(p Payment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.data.Payments[p.PaymentIntent]; old != nil && p.Refunds == nil {
		p.Refunds = old.Refunds
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now().UTC()
	}
	c := p.copy()
	s.data.Payments[p.PaymentIntent] = c
	_ = s.saveLocked()
}

// PutRefund makes a refund of a payment Stripe's truth, replacing the one
// with its id; false when the payment is unknown.
func (s *State) PutRefund(paymentIntent string, r Refunded) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.data.Payments[paymentIntent]
	if p == nil {
		return false
	}
	if i := slices.IndexFunc(p.Refunds, func(x Refunded) bool { return x.ID == r.ID }); i >= 0 {
		p.Refunds[i] = r
	} else {
		p.Refunds = append(p.Refunds, r)
	}
	_ = s.saveLocked()
	return true
}
