package devconsole

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/clinicpay/payments/infra/local/localstripe"
)

// The local Stripe's readers (Stripe Terminal, as Stripe's test mode plays
// it): what happens at a reader, brought about from the console or make
// pay.

// presentPaymentMethod: POST /_local/terminal/readers/{readerId}/present_payment_method
// with Stripe's test helper's form (type=card_present|interac_present,
// card_present[number], interac_present[number]); the test card decides.
// It answers the reader as Stripe's helper does, with the events delivered
// ("deliveries"). A form post is a browser's simple request, but one from
// another site carries its Origin and is refused (sameOrigin), as is one
// naming another host (ownHost).
func (h *handlers) presentPaymentMethod(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" && r.ContentLength != 0 {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send Stripe's test helper's form (application/x-www-form-urlencoded)")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<14))
	form, perr := url.ParseQuery(string(body))
	if err != nil || perr != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	pm := localstripe.Presented{Type: form.Get("type")}
	if pm.Type != "" && pm.Type != "card_present" && pm.Type != "interac_present" {
		writeError(w, http.StatusBadRequest, "invalid_request", "type must be card_present or interac_present")
		return
	}
	pm.Number = form.Get("card_present[number]")
	if pm.Type == "interac_present" {
		pm.Number = form.Get("interac_present[number]")
	}
	o, err := h.cfg.Stripe.PresentPaymentMethod(r.Context(), r.PathValue("readerId"), pm)
	h.atReader(w, o, err)
}

// customerCancel: POST /_local/terminal/readers/{readerId}/cancel, the
// patient pressing Cancel on the reader.
func (h *handlers) customerCancel(w http.ResponseWriter, r *http.Request) {
	o, err := h.cfg.Stripe.CustomerCancel(r.Context(), r.PathValue("readerId"))
	h.atReader(w, o, err)
}

// readerStatus: POST /_local/terminal/readers/{readerId}/status
// {"status":"offline"|"online"}.
func (h *handlers) readerStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string `json:"status"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	rd, err := h.cfg.Stripe.SetReaderStatus(r.PathValue("readerId"), in.Status)
	if err != nil {
		h.readerError(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, localstripe.ReaderObject(rd))
}

// readers: GET /_local/terminal/readers, every reader the local Stripe
// holds, with its account and action.
func (h *handlers) readers(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, rd := range h.cfg.Stripe.State.Readers("") {
		o := localstripe.ReaderObject(&rd)
		o["account"] = rd.Account
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"readers": out})
}

// atReader answers what happened at a reader: the reader as Stripe's
// helper answers it, with the events delivered.
func (h *handlers) atReader(w http.ResponseWriter, o *localstripe.ReaderOutcome, err error) {
	var ds []localstripe.Delivery
	if o != nil {
		ds = o.Deliveries
		h.logDeliveries(ds)
	}
	if err != nil {
		h.readerError(w, ds, err)
		return
	}
	body := localstripe.ReaderObject(o.Reader)
	body["deliveries"] = ds
	writeJSON(w, http.StatusOK, body)
}

func (h *handlers) readerError(w http.ResponseWriter, ds []localstripe.Delivery, err error) {
	if ds == nil {
		ds = []localstripe.Delivery{}
	}
	status, code := http.StatusInternalServerError, "internal_error"
	switch {
	case errors.Is(err, localstripe.ErrNoReader):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, localstripe.ErrReaderIdle):
		status, code = http.StatusConflict, "invalid_state"
	case errors.Is(err, localstripe.ErrReaderOffline):
		status, code = http.StatusConflict, "terminal_reader_offline"
	case errors.Is(err, localstripe.ErrBadCard), errors.Is(err, localstripe.ErrReaderStatus), errors.Is(err, localstripe.ErrBadAmount):
		status, code = http.StatusBadRequest, "invalid_request"
	case errors.Is(err, localstripe.ErrWebhookUnreachable):
		status, code = http.StatusBadGateway, "webhook_unreachable"
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}, "deliveries": ds})
}
