package localstripe

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stripe Terminal as Stripe's test mode plays it, server-driven: the
// clinic's Location and readers (simulated-wpe registers a simulated
// WisePOS E, online), the reader's actions, and the PaymentIntents a reader
// takes, each on the connected account that made it. stripe-mock checks
// every call against Stripe's spec first, but answers a fixture; Answer
// answers from here instead. The outcome of a payment is decided as in
// Stripe's test mode, by the test card presented to the reader
// (PresentPaymentMethod).

// Reader action types and statuses, reader statuses.
const (
	ActionProcessPayment = "process_payment_intent"
	ActionRefundPayment  = "refund_payment"
	ActionInProgress     = "in_progress"
	ActionSucceeded      = "succeeded"
	ActionFailed         = "failed"
	ReaderOnline         = "online"
	ReaderOffline        = "offline"
	// SimulatedReaderCode registers a simulated reader, as in Stripe's
	// test mode.
	SimulatedReaderCode = "simulated-wpe"
)

// Location is a Terminal Location.
type Location struct {
	ID          string            `json:"id"`
	Account     string            `json:"account"`
	DisplayName string            `json:"displayName"`
	Address     map[string]string `json:"address"`
}

// Reader is a Terminal reader as Stripe holds it.
type Reader struct {
	ID         string    `json:"id"`
	Account    string    `json:"account"`
	Label      string    `json:"label"`
	DeviceType string    `json:"deviceType"`
	Location   string    `json:"location"`
	Serial     string    `json:"serial"`
	Status     string    `json:"status"`
	Action     *Action   `json:"action,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Action is what a reader was asked to do and how far it got.
type Action struct {
	Type           string `json:"type"`
	Status         string `json:"status"`
	FailureCode    string `json:"failureCode,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	PaymentIntent  string `json:"paymentIntent"`
	SkipTipping    bool   `json:"skipTipping,omitempty"`
	// A refund_payment's amount, charge, metadata and, once done, refund.
	Amount   int64             `json:"amount,omitempty"`
	Charge   string            `json:"charge,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Refund   string            `json:"refund,omitempty"`
}

// Intent is a PaymentIntent made for a reader (card_present,
// interac_present).
type Intent struct {
	ID                 string            `json:"id"`
	Account            string            `json:"account"`
	Amount             int64             `json:"amount"`
	Currency           string            `json:"currency"`
	Methods            []string          `json:"methods"`
	CaptureMethod      string            `json:"captureMethod"`
	Status             string            `json:"status"`
	AmountCapturable   int64             `json:"amountCapturable"`
	AmountReceived     int64             `json:"amountReceived"`
	Charge             string            `json:"charge,omitempty"`
	Method             string            `json:"method,omitempty"` // card_present, interac_present
	Brand              string            `json:"brand,omitempty"`
	Last4              string            `json:"last4,omitempty"`
	LastError          *IntentError      `json:"lastError,omitempty"`
	CancellationReason string            `json:"cancellationReason,omitempty"`
	CanceledAt         time.Time         `json:"canceledAt,omitzero"`
	Metadata           map[string]string `json:"metadata"`
	CreatedAt          time.Time         `json:"createdAt"`
	Deliveries         []Delivery        `json:"deliveries,omitempty"`
}

// IntentError is a PaymentIntent's last_payment_error.
type IntentError struct {
	Code        string `json:"code"`
	DeclineCode string `json:"declineCode,omitempty"`
	Message     string `json:"message"`
	Charge      string `json:"charge,omitempty"`
	Method      string `json:"method"`
}

// PaymentIntent statuses a reader's PaymentIntent goes through.
const (
	IntentRequiresMethod  = "requires_payment_method"
	IntentRequiresCapture = "requires_capture"
	IntentSucceeded       = "succeeded"
	IntentCanceled        = "canceled"
)

func (i *Intent) copy() *Intent {
	c := *i
	c.Methods, c.Deliveries, c.Metadata = slices.Clone(i.Methods), slices.Clone(i.Deliveries), cloneMap(i.Metadata)
	if i.LastError != nil {
		e := *i.LastError
		c.LastError = &e
	}
	return &c
}

func (r *Reader) copy() *Reader {
	c := *r
	if r.Action != nil {
		a := *r.Action
		c.Action = &a
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Reader returns a copy of a reader, nil when Stripe has none.
func (s *State) Reader(id string) *Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.data.Readers[id]; r != nil {
		return r.copy()
	}
	return nil
}

// Intent returns a copy of a reader's PaymentIntent, nil when unknown.
func (s *State) Intent(id string) *Intent {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.data.Intents[id]; i != nil {
		return i.copy()
	}
	return nil
}

// Readers lists an account's readers, oldest first ("" lists them all).
func (s *State) Readers(account string) []Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Reader{}
	for _, r := range s.data.Readers {
		if account == "" || r.Account == account {
			out = append(out, *r.copy())
		}
	}
	slices.SortFunc(out, func(a, b Reader) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// reply is the local Stripe's answer to a call, and the events the call
// makes Stripe send afterwards.
type reply struct {
	status int
	body   map[string]any
	events [][]byte
}

func ok(body map[string]any, events ...[]byte) reply {
	return reply{status: http.StatusOK, body: body, events: events}
}

// refusal is Stripe's error answer.
func refusal(status int, code, param, msg string) reply {
	e := map[string]any{"type": "invalid_request_error", "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	return reply{status: status, body: map[string]any{"error": e}}
}

func noSuch(kind, id, param string) reply {
	status := http.StatusNotFound
	if param != "" && param != "id" {
		status = http.StatusBadRequest // a parameter names it, not the path
	}
	return refusal(status, "resource_missing", param, "No such "+kind+": '"+id+"'")
}

// Answer answers a call to Stripe, after stripe-mock accepted it, from the
// local Stripe's state: the Terminal calls and a reader's PaymentIntents
// (made, read, captured, canceled), then the reads State.Answer plays;
// ok is false for what it does not play. The events a call makes Stripe
// send (a capture's, a cancel's) go after the answer, as Stripe's do
// (Pending waits for them), or are held with HoldCallEvents.
func (s *Simulator) Answer(method, path string, header http.Header, query, form url.Values) (status int, body []byte, ok bool) {
	r, played := s.terminalCall(method, path, header.Get("Stripe-Account"), query, form)
	if !played {
		return s.State.Answer(method, path, header, query)
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		return http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","message":"local stripe"}}`), true
	}
	s.later(r.events)
	return r.status, b, true
}

// terminalCall routes a call; played is false for calls it leaves alone.
func (s *Simulator) terminalCall(method, path, account string, query, form url.Values) (r reply, played bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")
	readers := len(parts) >= 2 && parts[0] == "terminal" && parts[1] == "readers"
	intents := len(parts) >= 1 && parts[0] == "payment_intents"
	switch {
	case method == http.MethodPost && path == "/v1/terminal/locations":
		return s.newLocation(account, form), true
	case method == http.MethodPost && path == "/v1/terminal/readers":
		return s.registerReader(account, form), true
	case method == http.MethodGet && path == "/v1/terminal/readers":
		return s.listReaders(account, query), true
	case readers && len(parts) == 3 && (method == http.MethodGet || method == http.MethodDelete):
		return s.readerCall(method, account, parts[2]), true
	case readers && len(parts) == 4 && method == http.MethodPost:
		return s.readerAction(account, parts[2], parts[3], form)
	case intents && len(parts) == 1 && method == http.MethodPost && readerMethods(form):
		return s.newIntent(account, form), true
	case intents && len(parts) >= 2 && s.State.Intent(parts[1]) != nil:
		return s.intentCall(method, account, parts[1:], query, form)
	case len(parts) == 2 && parts[0] == "charges" && method == http.MethodGet:
		return s.readerCharge(account, parts[1])
	}
	return reply{}, false
}

// readerMethods: a PaymentIntent for a reader names card_present or
// interac_present among its payment_method_types.
func readerMethods(form url.Values) bool {
	for _, m := range formList(form, "payment_method_types") {
		if m == "card_present" || m == "interac_present" {
			return true
		}
	}
	return false
}

// formList reads a list as stripe-go encodes it (name[0]=…&name[1]=…)
// or as name[]=….
func formList(form url.Values, name string) []string {
	var out []string
	out = append(out, form[name+"[]"]...)
	for i := 0; ; i++ {
		v, ok := form[name+"["+strconv.Itoa(i)+"]"]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// formMap reads a hash (name[key]=value).
func formMap(form url.Values, name string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if key, ok := strings.CutPrefix(k, name+"["); ok && strings.HasSuffix(key, "]") && len(v) > 0 {
			out[strings.TrimSuffix(key, "]")] = v[0]
		}
	}
	return out
}

func (s *Simulator) newLocation(account string, form url.Values) reply {
	l := &Location{ID: NewID("tml"), Account: account, DisplayName: form.Get("display_name"), Address: formMap(form, "address")}
	_ = s.State.update(func(d *stateFile) error {
		d.Locations[l.ID] = l
		return nil
	})
	return ok(LocationObject(l))
}

// registerReader registers simulated-wpe as Stripe's test mode does: a
// simulated WisePOS E, online, at the location; any other code is refused,
// as a code no reader shows.
func (s *Simulator) registerReader(account string, form url.Values) reply {
	code, loc := form.Get("registration_code"), form.Get("location")
	var r *Reader
	var refused *reply
	_ = s.State.update(func(d *stateFile) error {
		switch l := d.Locations[loc]; {
		case loc != "" && (l == nil || l.Account != account):
			x := noSuch("terminal.location", loc, "location")
			refused = &x
		case code != SimulatedReaderCode:
			x := refusal(http.StatusBadRequest, "", "registration_code",
				"The registration code you provided is invalid or expired. In test mode, register a simulated reader with the code simulated-wpe.")
			refused = &x
		default:
			r = &Reader{ID: NewID("tmr"), Account: account, Label: form.Get("label"), DeviceType: "simulated_wisepos_e", Location: loc,
				Serial: "SIM-" + strings.ToUpper(NewID("x")[2:10]), Status: ReaderOnline, CreatedAt: s.now().UTC()}
			d.Readers[r.ID] = r
			r = r.copy()
		}
		return nil
	})
	if refused != nil {
		return *refused
	}
	return ok(ReaderObject(r))
}

func (s *Simulator) listReaders(account string, query url.Values) reply {
	data := []map[string]any{}
	for _, r := range s.State.Readers(account) {
		if (query.Get("location") == "" || r.Location == query.Get("location")) && (query.Get("status") == "" || r.Status == query.Get("status")) {
			data = append(data, ReaderObject(&r))
		}
	}
	return ok(List("/v1/terminal/readers", data))
}

func (s *Simulator) readerCall(method, account, id string) reply {
	var r *Reader
	_ = s.State.update(func(d *stateFile) error {
		if x := d.Readers[id]; x != nil && x.Account == account {
			r = x.copy()
			if method == http.MethodDelete {
				delete(d.Readers, id)
			}
		}
		return nil
	})
	switch {
	case r == nil:
		return noSuch("terminal.reader", id, "id")
	case method == http.MethodDelete:
		return ok(map[string]any{"id": id, "object": "terminal.reader", "deleted": true})
	}
	return ok(ReaderObject(r))
}
