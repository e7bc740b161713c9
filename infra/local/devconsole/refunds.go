package devconsole

import (
	"errors"
	"net/http"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// refund: POST /_local/stripe/payments/{pi}/refund {"amount":N,"hold":true}
// (and "status": pending or succeeded, succeeded by default). With hold,
// charge.refunded is kept for /_local/stripe/events/deliver.
func (h *handlers) refund(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Amount int64  `json:"amount"`
		Status string `json:"status"`
		Hold   bool   `json:"hold"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	o, err := h.cfg.Stripe.Refund(r.Context(), r.PathValue("pi"), in.Amount, in.Status, in.Hold)
	h.outcome(w, o, err)
}

// refundStatus: POST /_local/stripe/refunds/{id}/status
// {"status":"pending"|"succeeded"|"failed"|"canceled","hold":true}.
func (h *handlers) refundStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string `json:"status"`
		Hold   bool   `json:"hold"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	o, err := h.cfg.Stripe.RefundStatus(r.Context(), r.PathValue("id"), in.Status, in.Hold)
	h.outcome(w, o, err)
}

// deliverHeld: POST /_local/stripe/events/deliver {"events":["evt_…",…]}
// delivers held events in that order.
func (h *handlers) deliverHeld(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Events []string `json:"events"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if len(in.Events) == 0 || len(in.Events) > 100 {
		writeError(w, http.StatusBadRequest, "invalid_request", "events must name 1 to 100 held events")
		return
	}
	ds, err := h.cfg.Stripe.DeliverHeld(r.Context(), in.Events)
	if err == nil {
		h.logDeliveries(ds)
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
		return
	}
	h.simulated(w, nil, ds, err)
}

// outcome answers a refund action: {"payment","refund":{"id","amount",
// "status"},"deliveries":[…],"held":[{"id","type"}]}, or the tester's
// mistake as simulated says it.
func (h *handlers) outcome(w http.ResponseWriter, o *localstripe.Outcome, err error) {
	if err != nil || o == nil {
		var ds []localstripe.Delivery
		if o != nil {
			ds = o.Deliveries
		}
		if err == nil {
			err = errors.New("no outcome")
		}
		h.simulated(w, nil, ds, err)
		return
	}
	h.logDeliveries(o.Deliveries)
	var refund any
	if o.Refund != nil {
		refund = map[string]any{"id": o.Refund.ID, "amount": o.Refund.Amount, "status": o.Refund.Status}
	}
	writeJSON(w, http.StatusOK, map[string]any{"payment": o.Payment, "refund": refund, "deliveries": o.Deliveries, "held": o.Held})
}

func (h *handlers) logDeliveries(ds []localstripe.Delivery) {
	if h.cfg.Log == nil {
		return
	}
	for _, d := range ds {
		h.cfg.Log.Info("local stripe event delivered", "event", d.EventID, "type", d.Type, "status", d.Status, "outcome", d.Outcome, "reason", d.Reason)
	}
}
