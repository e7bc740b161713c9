// Package localstripe is the part of Stripe that stripe-mock does not play,
// for make dev: the hosted payment page of each payment link (a local
// checkout where a tester pays by card or pre-authorized debit, or is
// declined), and the events Stripe then sends, signed with the local webhook
// secret and delivered to the real webhook route. It also refunds and
// disputes a payment the same way.
//
// stripe-mock keeps no state, so the local Stripe learns the links from the
// service's own calls, seen at the Stripe proxy in front of stripe-mock: the
// Price's amount and currency, the link's metadata, texts and account, its
// deactivation. It keeps them, and the payments made, in a JSON file, so a
// link in an e-mail still opens after make dev restarts.
package localstripe

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Link is a payment link as Stripe holds it.
type Link struct {
	ID                  string            `json:"id"`
	Account             string            `json:"account"`
	URL                 string            `json:"url"`
	Amount              int64             `json:"amount"`
	Currency            string            `json:"currency"`
	ProductName         string            `json:"productName"`
	InactiveMessage     string            `json:"inactiveMessage"`
	ConfirmationMessage string            `json:"confirmationMessage"`
	Metadata            map[string]string `json:"metadata"`
	Active              bool              `json:"active"`
	// CompletedSessions counts the sessions paid or clearing; the service
	// sets restrictions.completed_sessions.limit = 1, so Stripe
	// deactivates the link at the first.
	CompletedSessions int       `json:"completedSessions"`
	SessionLimit      int       `json:"sessionLimit"`
	CreatedAt         time.Time `json:"createdAt"`
}

// Usable reports whether the link still takes a payment.
func (l *Link) Usable() bool {
	return l.Active && (l.SessionLimit == 0 || l.CompletedSessions < l.SessionLimit)
}

// Payment is one payment made on a link's page.
type Payment struct {
	PaymentIntent string `json:"paymentIntent"`
	Charge        string `json:"charge"`
	Session       string `json:"session"`
	LinkID        string `json:"linkId"`
	Account       string `json:"account"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	// PresentmentAmount and PresentmentCurrency are what the patient was
	// charged under Adaptive Pricing (the session's currency_conversion
	// says the link's Amount and Currency); empty when the same.
	PresentmentAmount   int64             `json:"presentmentAmount,omitempty"`
	PresentmentCurrency string            `json:"presentmentCurrency,omitempty"`
	Metadata            map[string]string `json:"metadata"`
	// Method is card or acss_debit (Canadian pre-authorized debit).
	Method string `json:"method"`
	// Status is processing, succeeded or failed.
	Status    string     `json:"status"`
	Refunds   []Refunded `json:"refunds,omitempty"`
	Dispute   *Disputed  `json:"dispute,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	// Deliveries are the events sent about it and the webhook's answers.
	Deliveries []Delivery `json:"deliveries,omitempty"`
}

// Refunded is one refund of a payment, in the charge's currency, with its
// status as Stripe holds it (pending, succeeded, failed, canceled).
type Refunded struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
	RefundCanceled  = "canceled"
)

// counts reports a refund that takes money back (Stripe's amount_refunded
// counts it): one that did not fail and was not canceled.
func (r Refunded) counts() bool { return r.Status != RefundFailed && r.Status != RefundCanceled }

// Charged is what the charge is: the presentment amount and currency
// under Adaptive Pricing, the link's otherwise.
func (p *Payment) Charged() (int64, string) {
	if p.PresentmentCurrency != "" {
		return p.PresentmentAmount, p.PresentmentCurrency
	}
	return p.Amount, p.Currency
}

// Disputed is a payment's dispute.
type Disputed struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Refunded is the charge's amount_refunded: its refunds that did not fail
// and were not canceled, in the charge's currency.
func (p *Payment) Refunded() int64 {
	var n int64
	for _, r := range p.Refunds {
		if r.counts() {
			n += r.Amount
		}
	}
	return n
}

type price struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Product  string `json:"product"`
}

// State is what the local Stripe remembers. It is safe for concurrent use.
type State struct {
	mu   sync.Mutex
	path string // "" keeps it in memory only
	data stateFile
}

type stateFile struct {
	Prices   map[string]price    `json:"prices"`
	Links    map[string]*Link    `json:"links"`
	Payments map[string]*Payment `json:"payments"`
	// Held are events kept instead of delivered (a test chooses when, and
	// in which order, Stripe delivers them).
	Held map[string]*HeldEvent `json:"held,omitempty"`
	// Stripe Terminal: the clinics' Locations, readers and the
	// PaymentIntents their readers take.
	Locations map[string]*Location `json:"locations,omitempty"`
	Readers   map[string]*Reader   `json:"readers,omitempty"`
	Intents   map[string]*Intent   `json:"intents,omitempty"`
}

// HeldEvent is a signed-to-be event kept back.
type HeldEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payload []byte `json:"payload"`
}

// Open reads the state kept at path (a missing file is an empty state);
// path "" keeps it in memory.
func Open(path string) (*State, error) {
	s := &State{path: path}
	s.data.init()
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, err
	}
	s.data.init()
	return s, nil
}

// init makes the maps a state file left out.
func (d *stateFile) init() {
	if d.Prices == nil {
		d.Prices = map[string]price{}
	}
	if d.Links == nil {
		d.Links = map[string]*Link{}
	}
	if d.Payments == nil {
		d.Payments = map[string]*Payment{}
	}
	if d.Held == nil {
		d.Held = map[string]*HeldEvent{}
	}
	if d.Locations == nil {
		d.Locations = map[string]*Location{}
	}
	if d.Readers == nil {
		d.Readers = map[string]*Reader{}
	}
	if d.Intents == nil {
		d.Intents = map[string]*Intent{}
	}
}

// saveLocked writes the state (the caller holds mu): to a temporary file
// renamed over the old one, so a crash never leaves half a file.
func (s *State) saveLocked() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// Observe learns the prices and links the service makes, and their
// deactivation, from a call to Stripe and its answer (make dev calls it from
// the Stripe proxy's reply hook, before the service gets the answer).
func (s *State) Observe(method, path string, header http.Header, form url.Values, status int, body []byte) {
	if method != http.MethodPost || status != http.StatusOK || form == nil {
		return
	}
	var obj struct {
		ID     string `json:"id"`
		Object string `json:"object"`
		URL    string `json:"url"`
	}
	if json.Unmarshal(body, &obj) != nil || obj.ID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := form
	switch {
	case path == "/v1/prices" && obj.Object == "price":
		amount, _ := strconv.ParseInt(f.Get("unit_amount"), 10, 64)
		s.data.Prices[obj.ID] = price{Amount: amount, Currency: f.Get("currency"), Product: f.Get("product_data[name]")}
	case path == "/v1/payment_links" && obj.Object == "payment_link":
		p := s.data.Prices[f.Get("line_items[0][price]")]
		limit, _ := strconv.Atoi(f.Get("restrictions[completed_sessions][limit]"))
		meta := formMetadata(f)
		if meta == nil {
			meta = map[string]string{}
		}
		s.data.Links[obj.ID] = &Link{
			ID: obj.ID, Account: header.Get("Stripe-Account"), URL: obj.URL, Amount: p.Amount, Currency: p.Currency,
			ProductName: p.Product, InactiveMessage: f.Get("inactive_message"),
			ConfirmationMessage: f.Get("after_completion[hosted_confirmation][custom_message]"),
			Metadata:            meta, Active: f.Get("active") != "false", SessionLimit: limit, CreatedAt: time.Now().UTC(),
		}
	case strings.HasPrefix(path, "/v1/payment_links/") && (f.Has("active") || f.Has("inactive_message")):
		l := s.data.Links[strings.TrimPrefix(path, "/v1/payment_links/")]
		if l == nil {
			return
		}
		if f.Has("active") {
			l.Active = f.Get("active") == "true"
		}
		if f.Has("inactive_message") {
			// The service's "paid, thank you" once the link was paid.
			l.InactiveMessage = f.Get("inactive_message")
		}
	default:
		return
	}
	_ = s.saveLocked() // the next change writes it again; dev keeps going
}

// Link returns a copy of a link, nil when Stripe never made it.
func (s *State) Link(id string) *Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.data.Links[id]
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

// Payment returns a copy of a payment, nil when unknown.
func (s *State) Payment(paymentIntent string) *Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.data.Payments[paymentIntent]
	if p == nil {
		return nil
	}
	return p.copy()
}

func (p *Payment) copy() *Payment {
	c := *p
	c.Refunds, c.Deliveries = slices.Clone(p.Refunds), slices.Clone(p.Deliveries)
	if p.Dispute != nil {
		d := *p.Dispute
		c.Dispute = &d
	}
	return &c
}

// ActiveLink is the usable link of an invoice, nil when none.
func (s *State) ActiveLink(company, invoice string) *Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *Link
	for _, l := range s.data.Links {
		if l.Metadata["billing_company_id"] == company && l.Metadata["invoice_id"] == invoice && l.Usable() &&
			(best == nil || l.CreatedAt.After(best.CreatedAt)) {
			best = l
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

// Payments lists an invoice's payments, newest first.
func (s *State) Payments(company, invoice string) []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Payment
	for _, p := range s.data.Payments {
		if p.Metadata["billing_company_id"] == company && p.Metadata["invoice_id"] == invoice {
			out = append(out, *p.copy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// update changes a payment or a link under the lock and saves the state.
func (s *State) update(fn func(d *stateFile) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(&s.data); err != nil {
		return err
	}
	return s.saveLocked()
}
