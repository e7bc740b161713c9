package localstripe

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Terminal readers as Stripe's test mode holds them: registered by the
// code simulated-wpe (a simulated WisePOS E; a real reader's code means
// nothing locally), each on the connected account that registered it,
// read and deleted there only. stripe-mock answers every reader with one
// fixture, so these answers replace its own once it has checked the
// request.

// Reader is a Terminal reader on a connected account.
type Reader struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Label     string    `json:"label"`
	Location  string    `json:"location"`
	Status    string    `json:"status"` // online or offline
	CreatedAt time.Time `json:"createdAt"`
	// RequestKey is the registration's Idempotency-Key: Stripe answers a
	// retry with the same reader.
	RequestKey string `json:"requestKey,omitempty"`
}

// SimulatedRegistrationCode registers a simulated reader in test mode.
const SimulatedRegistrationCode = "simulated-wpe"

const readersPath = "/v1/terminal/readers"

// AnswerRequest is the responder of the Stripe proxy: the Terminal readers
// (any method), then the reads Answer plays.
func (s *State) AnswerRequest(method, path string, header http.Header, query, form url.Values) (int, []byte, bool) {
	if path == readersPath || strings.HasPrefix(path, readersPath+"/") {
		return s.answerReaders(method, path, header, form)
	}
	return s.Answer(method, path, header, query)
}

func (s *State) answerReaders(method, path string, header http.Header, form url.Values) (int, []byte, bool) {
	account := header.Get("Stripe-Account")
	id := strings.TrimPrefix(strings.TrimPrefix(path, readersPath), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case method == http.MethodPost && id == "":
		return s.registerLocked(account, header.Get("Idempotency-Key"), form)
	case id == "" || strings.Contains(id, "/"):
		return 0, nil, false // a list, or a reader's action: not played here
	}
	r := s.data.Readers[id]
	if r == nil || r.Account != account {
		return missing("terminal.reader", id)
	}
	switch method {
	case http.MethodGet:
		return answer(readerObject(r))
	case http.MethodDelete:
		delete(s.data.Readers, id)
		if err := s.saveLocked(); err != nil {
			return http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","message":"local stripe"}}`), true
		}
		return answer(map[string]any{"id": id, "object": "terminal.reader", "deleted": true})
	}
	return 0, nil, false
}

// registerLocked registers a reader (the caller holds mu).
func (s *State) registerLocked(account, key string, form url.Values) (int, []byte, bool) {
	for _, r := range s.data.Readers {
		if key != "" && r.Account == account && r.RequestKey == key {
			return answer(readerObject(r))
		}
	}
	if code := form.Get("registration_code"); code != SimulatedRegistrationCode {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "param": "registration_code",
			"message": "The registration code '" + code + "' is invalid or has expired. In test mode, register a simulated reader with simulated-wpe."}})
		return http.StatusBadRequest, b, true
	}
	r := &Reader{ID: NewID("tmr"), Account: account, Label: form.Get("label"),
		Location: form.Get("location"), Status: "online", CreatedAt: time.Now().UTC(), RequestKey: key}
	if s.data.Readers == nil {
		s.data.Readers = map[string]*Reader{}
	}
	s.data.Readers[r.ID] = r
	if err := s.saveLocked(); err != nil {
		return http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","message":"local stripe"}}`), true
	}
	return answer(readerObject(r))
}

// Readers lists the readers registered on account, oldest first.
func (s *State) Readers(account string) []Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Reader
	for _, r := range s.data.Readers {
		if r.Account == account {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// readerObject is a terminal.reader as API 2023-10-16 shows it.
func readerObject(r *Reader) map[string]any {
	label := r.Label
	if label == "" {
		label = SimulatedRegistrationCode
	}
	return map[string]any{
		"id": r.ID, "object": "terminal.reader", "action": nil, "device_sw_version": "", "device_type": "simulated_wisepos_e",
		"ip_address": "0.0.0.0", "label": label, "livemode": false, "location": r.Location, "metadata": map[string]any{},
		"serial_number": strings.TrimPrefix(r.ID, "tmr_"), "status": r.Status,
	}
}
