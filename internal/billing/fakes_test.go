package billing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// memStore is an in-memory Store with the same conditional-write rules as
// the DynamoDB store.
type memStore struct {
	mu        sync.Mutex
	companies map[string]Company
	accounts  map[string]string // account id -> company id
	invoices  map[string]Invoice
	events    map[string]EventRecord
	refs      map[string]PaymentRef
	feeds     map[string][]FeedEntry
	// beforePut, when set, runs before each invoice write (to interleave
	// another writer).
	beforePut func(inv *Invoice)
	puts      atomic.Int64
}

func newMemStore() *memStore {
	return &memStore{companies: map[string]Company{}, accounts: map[string]string{}, invoices: map[string]Invoice{},
		events: map[string]EventRecord{}, refs: map[string]PaymentRef{}, feeds: map[string][]FeedEntry{}}
}

func (m *memStore) GetCompany(_ context.Context, id string) (*Company, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.companies[id]
	if !ok {
		return nil, fmt.Errorf("company: %w", ErrNotFound)
	}
	return &c, nil
}

func (m *memStore) SaveCompany(_ context.Context, c *Company, previous string) (*Company, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.companies[c.ID]
	if (c.Version <= 1 && exists) || (c.Version > 1 && (!exists || old.Version != c.Version-1)) {
		return nil, fmt.Errorf("save: %w", ErrVersionConflict)
	}
	if owner, ok := m.accounts[c.StripeAccountID]; ok && c.StripeAccountID != "" && owner != c.ID {
		return nil, fmt.Errorf("save: %w", ErrAccountInUse)
	}
	if previous != "" && previous != c.StripeAccountID && m.accounts[previous] == c.ID {
		delete(m.accounts, previous)
	}
	if c.StripeAccountID != "" {
		m.accounts[c.StripeAccountID] = c.ID
	}
	saved := *c
	m.companies[c.ID] = saved
	return &saved, nil
}

func (m *memStore) AccountOwner(_ context.Context, accountID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accounts[accountID], nil
}

func (m *memStore) GetInvoice(_ context.Context, companyID, id string) (*Invoice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inv, ok := m.invoices[companyID+"/"+id]
	if !ok {
		return nil, fmt.Errorf("invoice: %w", ErrNotFound)
	}
	return cloneInvoice(&inv), nil
}

func (m *memStore) GetInvoiceAndCompany(ctx context.Context, companyID, id string) (*Invoice, *Company, error) {
	c, _ := m.GetCompany(ctx, companyID)
	inv, err := m.GetInvoice(ctx, companyID, id)
	return inv, c, err
}

func (m *memStore) PutInvoice(_ context.Context, inv *Invoice) error {
	if m.beforePut != nil {
		m.beforePut(inv)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := inv.CompanyID + "/" + inv.ID
	old, exists := m.invoices[key]
	if (inv.Version <= 1 && exists) || (inv.Version > 1 && (!exists || old.Version != inv.Version-1)) {
		return fmt.Errorf("put: %w", ErrVersionConflict)
	}
	m.invoices[key] = *cloneInvoice(inv)
	m.puts.Add(1)
	return nil
}

func (m *memStore) ReleaseLease(_ context.Context, companyID, id, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inv, ok := m.invoices[companyID+"/"+id]
	if !ok || inv.Lease == nil || inv.Lease.Token != token {
		return ErrVersionConflict
	}
	l := *inv.Lease
	l.Until = time.Time{}
	inv.Lease = &l
	inv.Version++
	m.invoices[companyID+"/"+id] = inv
	return nil
}

func (m *memStore) LoadEventState(_ context.Context, k EventKeys) (*EventState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &EventState{}
	if e, ok := m.events[k.EventID]; ok {
		st.Seen = &e
	}
	if inv, ok := m.invoices[k.CompanyID+"/"+k.InvoiceID]; ok && k.InvoiceID != "" {
		st.Invoice = cloneInvoice(&inv)
	}
	if c, ok := m.companies[k.CompanyID]; ok {
		st.Company = &c
	}
	if k.AccountOwner {
		if c, ok := m.companies[m.accounts[k.AccountID]]; ok {
			st.Company = &c
		}
	}
	if r, ok := m.refs[k.AccountID+"|"+k.PaymentIntentID]; ok && k.PaymentIntentID != "" {
		st.Ref = &r
	}
	return st, nil
}

func (m *memStore) CommitEvent(_ context.Context, c *EventCommit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.events[c.Event.ID]; ok {
		return ErrDuplicateEvent
	}
	if inv := c.Invoice; inv != nil {
		old, ok := m.invoices[inv.CompanyID+"/"+inv.ID]
		if !ok || old.Version != inv.Version-1 {
			return ErrVersionConflict
		}
	}
	if r := c.Ref; r != nil {
		old, ok := m.refs[r.AccountID+"|"+r.PaymentIntentID]
		if (ok && old.Version != r.Version-1) || (!ok && r.Version != 1) {
			return ErrVersionConflict
		}
	}
	if co := c.Company; co != nil {
		if old, ok := m.companies[co.ID]; !ok || old.Version != co.Version-1 {
			return ErrVersionConflict
		}
	}
	company := c.Event.CompanyID
	m.events[c.Event.ID] = c.Event
	if inv := c.Invoice; inv != nil {
		m.invoices[inv.CompanyID+"/"+inv.ID] = *cloneInvoice(inv)
	}
	if r := c.Ref; r != nil {
		m.refs[r.AccountID+"|"+r.PaymentIntentID] = *r
	}
	if co := c.Company; co != nil {
		m.companies[co.ID] = *co
	}
	for i := range c.Feed {
		c.Feed[i].Seq = int64(len(m.feeds[company])) + 1
		m.feeds[company] = append(m.feeds[company], c.Feed[i])
	}
	return nil
}

func (m *memStore) ListInvoices(_ context.Context, companyID string, f InvoiceFilter, position string, limit int) (*StoredInvoicePage, error) {
	// Unordered and in one page: the list itself is shown against DynamoDB
	// Local (dynamostore, e2e); the scheduler's replan only needs them all.
	m.mu.Lock()
	defer m.mu.Unlock()
	page := &StoredInvoicePage{}
	for _, inv := range m.invoices {
		if inv.CompanyID == companyID && (f.Status == "" || inv.Status() == f.Status) {
			page.Invoices = append(page.Invoices, InvoiceSummary{ID: inv.ID, BalanceDue: inv.BalanceDue})
		}
	}
	return page, nil
}

// DueWork reads every item (the fake has no index): invoices whose
// NextWorkAt and companies whose RemindersChangedAt is at or before now,
// handed over in pages of three.
func (m *memStore) DueWork(_ context.Context, now time.Time, company string, page func([]WorkItem) error) error {
	m.mu.Lock()
	var out []WorkItem
	for _, c := range m.companies {
		if company != "" && c.ID != company {
			continue
		}
		if t := c.RemindersChangedAt; !t.IsZero() && !t.After(now) {
			out = append(out, WorkItem{CompanyID: c.ID})
		}
	}
	for _, inv := range m.invoices {
		if company != "" && inv.CompanyID != company {
			continue
		}
		if t := inv.NextWorkAt(); !t.IsZero() && !t.After(now) {
			out = append(out, WorkItem{CompanyID: inv.CompanyID, InvoiceID: inv.ID})
		}
	}
	m.mu.Unlock()
	for len(out) > 0 {
		n := min(len(out), 3)
		if err := page(out[:n]); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// memQueue is the work queue in memory; fail makes Enqueue fail.
type memQueue struct {
	mu   sync.Mutex
	msgs []WorkMessage
	fail error
}

func (q *memQueue) Enqueue(_ context.Context, msgs []WorkMessage, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	q.msgs = append(q.msgs, msgs...)
	return nil
}

// take removes and returns the oldest message.
func (q *memQueue) take() (WorkMessage, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return WorkMessage{}, false
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	return m, true
}

// runScheduled is the scheduler's run and the workers', in one: plan the
// work due at now, then work every message (those workers queue too) until
// the queue is empty. It reports the workers' sums and their errors.
func runScheduled(ctx context.Context, svc *Service, q *memQueue, now time.Time) (RunReport, error) {
	if _, err := svc.PlanDue(ctx, now, "", "test"); err != nil {
		return RunReport{}, err
	}
	var sum RunReport
	var errs []error
	for {
		m, ok := q.take()
		if !ok {
			return sum, errors.Join(errs...)
		}
		rep, err := svc.Work(ctx, m)
		sum.Looked += rep.Looked
		sum.Reminders += rep.Reminders
		sum.Sent += rep.Sent
		sum.Skipped += rep.Skipped
		sum.Replanned += rep.Replanned
		sum.Failed += rep.Failed
		if err != nil {
			errs = append(errs, err)
		}
	}
}

func (m *memStore) ListFeed(_ context.Context, companyID string, after int64, limit int) ([]FeedEntry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	feed := m.feeds[companyID]
	if after >= int64(len(feed)) {
		return nil, false, nil
	}
	rest := feed[after:]
	if len(rest) > limit {
		return append([]FeedEntry(nil), rest[:limit]...), true, nil
	}
	return append([]FeedEntry(nil), rest...), false, nil
}

// fakeStripe is a PaymentProvider that remembers links by idempotency key,
// like Stripe, and can fail calls.
type fakeStripe struct {
	mu          sync.Mutex
	links       map[string]Link // by link idempotency key
	active      map[string]bool // by link id
	creates     int
	deactivates int
	failCreate  func(*NewLink) error
	failEnd     func(linkID string) error
	// onCreate runs during CreateLink, onDeactivate during DeactivateLink
	// (to interleave other requests, or a patient paying).
	onCreate     func()
	onDeactivate func(linkID string)
	// refunds is Stripe's truth of each charge's refunds (by charge id);
	// a charge not in it has none yet. failRefunds fails the read.
	refunds     map[string][]Refund
	failRefunds error
	refundReads int
	// messages are the inactive messages set, by link id; failMessage
	// fails the call; messageKeys are the idempotency keys sent.
	messages    map[string]string
	messageKeys []string
	failMessage error
}

func newFakeStripe() *fakeStripe {
	return &fakeStripe{links: map[string]Link{}, active: map[string]bool{}}
}

func (f *fakeStripe) Account(context.Context, string) (*StripeAccount, error) {
	return &StripeAccount{ChargesEnabled: true, Country: "CA", DefaultCurrency: "cad", Warnings: []string{}}, nil
}

func (f *fakeStripe) CreateAccount(_ context.Context, a NewAccount) (string, *StripeAccount, error) {
	return "acct_new_" + a.CompanyID, &StripeAccount{Country: "CA", DefaultCurrency: "cad", Warnings: []string{WarningChargesNotEnabled}}, nil
}

func (f *fakeStripe) OnboardingLink(_ context.Context, accountID string) (*OnboardingLink, error) {
	return &OnboardingLink{URL: "https://connect.stripe.com/setup/s/" + accountID, ExpiresAt: time.Now().Add(5 * time.Minute)}, nil
}

func (f *fakeStripe) CreateLink(_ context.Context, n *NewLink) (Link, error) {
	if f.onCreate != nil {
		f.onCreate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreate != nil {
		if err := f.failCreate(n); err != nil {
			return Link{}, err
		}
	}
	key := n.IdempotencyKey(StepLink)
	if l, ok := f.links[key]; ok {
		return l, nil
	}
	f.creates++
	id := fmt.Sprintf("plink_%d", len(f.links)+1)
	l := n.Made(id, "https://buy.stripe.com/test_"+id, "price_"+id)
	f.links[key] = l
	f.active[id] = true
	return l, nil
}

func (f *fakeStripe) DeactivateLink(_ context.Context, _, linkID, _ string) error {
	if f.onDeactivate != nil {
		f.onDeactivate(linkID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failEnd != nil {
		if err := f.failEnd(linkID); err != nil {
			return err
		}
	}
	f.deactivates++
	f.active[linkID] = false
	return nil
}

func (f *fakeStripe) SetInactiveMessage(_ context.Context, _, linkID, message, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messageKeys = append(f.messageKeys, key)
	if f.failMessage != nil {
		return f.failMessage
	}
	if f.messages == nil {
		f.messages = map[string]string{}
	}
	f.messages[linkID] = message
	return nil
}

func (f *fakeStripe) PaymentMethod(context.Context, string, string) (*PaymentMethod, error) {
	return &PaymentMethod{Type: "card", Brand: "visa", Last4: "4242"}, nil
}

func (f *fakeStripe) Refunds(_ context.Context, _, chargeID, paymentIntentID string) ([]Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refundReads++
	if f.failRefunds != nil {
		return nil, f.failRefunds
	}
	if chargeID == "" {
		chargeID = paymentIntentID
	}
	return slices.Clone(f.refunds[chargeID]), nil
}

// setRefund makes a refund of a charge Stripe's truth, replacing the one
// with its id.
func (f *fakeStripe) setRefund(chargeID string, r Refund) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refunds == nil {
		f.refunds = map[string][]Refund{}
	}
	list := f.refunds[chargeID]
	if i := slices.IndexFunc(list, func(x Refund) bool { return x.ID == r.ID }); i >= 0 {
		list[i] = r
	} else {
		list = append(list, r)
	}
	f.refunds[chargeID] = list
}

func (f *fakeStripe) activeLinks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, on := range f.active {
		if on {
			ids = append(ids, id)
		}
	}
	return ids
}

type fakeMailer struct {
	mu   sync.Mutex
	sent []OutgoingEmail
	fail error
	// delay holds each send (outside the lock), so concurrent senders
	// overlap as they do against SES.
	delay time.Duration
}

func (m *fakeMailer) Send(_ context.Context, e OutgoingEmail) (string, error) {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", m.fail
	}
	m.sent = append(m.sent, e)
	return fmt.Sprintf("msg-%d", len(m.sent)), nil
}

// memReaders is an in-memory ReaderStore with the DynamoDB store's
// conditional writes; dieAfterSave, when set, panics right after a save
// lands (a Lambda that dies there).
type memReaders struct {
	mu           sync.Mutex
	readers      map[string]Reader // by company/id
	dieAfterSave bool
}

func newMemReaders() *memReaders { return &memReaders{readers: map[string]Reader{}} }

func (m *memReaders) GetReader(_ context.Context, companyID, readerID string) (*Reader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.readers[companyID+"/"+readerID]
	if !ok {
		return nil, fmt.Errorf("reader: %w", ErrNotFound)
	}
	return &r, nil
}

func (m *memReaders) ListReaders(_ context.Context, companyID string) ([]Reader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Reader
	for _, r := range m.readers {
		if r.CompanyID == companyID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memReaders) SaveReader(_ context.Context, r *Reader) error {
	m.mu.Lock()
	key := r.CompanyID + "/" + r.ID
	old, exists := m.readers[key]
	if (r.Version <= 1 && exists) || (r.Version > 1 && (!exists || old.Version != r.Version-1)) {
		m.mu.Unlock()
		return fmt.Errorf("save reader: %w", ErrVersionConflict)
	}
	if r.Version <= 1 && countReaders(m.readers, r.CompanyID) >= MaxReaders {
		m.mu.Unlock()
		return fmt.Errorf("save reader: %w", ErrReaderLimit)
	}
	m.readers[key] = *r
	die := m.dieAfterSave
	m.mu.Unlock()
	if die {
		panic(errDied)
	}
	return nil
}

func (m *memReaders) DeleteReader(_ context.Context, companyID, readerID string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.readers[companyID+"/"+readerID]
	if !ok || old.Version != version {
		return ErrVersionConflict
	}
	delete(m.readers, companyID+"/"+readerID)
	return nil
}

// countReaders counts a clinic's readers, as the store's count does.
func countReaders(readers map[string]Reader, companyID string) int {
	n := 0
	for _, r := range readers {
		if r.CompanyID == companyID {
			n++
		}
	}
	return n
}

// errDied is what a fake panics with to stop a request for good right
// after a call returned (a dead Lambda); tests recover it.
var errDied = errors.New("the function died here")

// fakeTerminal plays Stripe Terminal as Stripe's test mode does: readers
// on accounts, PaymentIntents made and reader actions taken once per
// idempotency key (errors included: Stripe keeps a timeout's answer under
// its key), cards presented by test helper, and the events each step
// sends, queued for the test to deliver in any order.
type fakeTerminal struct {
	mu      sync.Mutex
	readers map[string]*TerminalReader // by account/id
	intents map[string]*ReaderPaymentIntent
	account map[string]string   // intent id -> account
	keys    map[string]keyReply // idempotency key -> first answer
	events  []*WebhookEvent
	seq     int
	now     func() time.Time
	// creates, actions and captures count what Stripe did, not what it
	// was asked (replays don't count).
	creates, actions, captures, cancels int
	// failProcess answers process_payment_intent with an error (the
	// action is not taken); dieAfter panics right after the named call
	// did its work (create, process, capture, cancel).
	failProcess error
	dieAfter    string
	// onCapture sees each capture Stripe makes, before it is made.
	onCapture func(*ReaderPaymentIntent)
	// beforeCancelAction runs once, without the lock, as the next
	// cancel_action arrives (a card presented at that moment).
	beforeCancelAction func()
	// before sees each capture and cancel of a PaymentIntent ("capture",
	// "cancel") not answered from its key, under the lock: it may change
	// the PaymentIntent (as Stripe did out of band) or answer an error
	// (a permanent one is kept under the key, as Stripe keeps it).
	before func(call string, pi *ReaderPaymentIntent) error
	// calls counts every capture and cancel asked, replays included.
	calls map[string]int
	// refunded is what the readers refunded of each PaymentIntent
	// (reader_refund_test.go plays refund_payment).
	refunded map[string]int64
}

type keyReply struct {
	id  string
	err error
}

func newFakeTerminal(now func() time.Time) *fakeTerminal {
	return &fakeTerminal{readers: map[string]*TerminalReader{}, intents: map[string]*ReaderPaymentIntent{},
		account: map[string]string{}, keys: map[string]keyReply{}, now: now, calls: map[string]int{}}
}

func (f *fakeTerminal) addReader(account, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers[account+"/"+id] = &TerminalReader{ID: id, Status: ReaderOnline, DeviceType: "simulated_wisepos_e"}
}

func (f *fakeTerminal) died(step string) {
	if f.dieAfter == step {
		f.dieAfter = ""
		panic(errDied)
	}
}

func (f *fakeTerminal) CreateLocation(context.Context, string, string, Address, string) (string, error) {
	return "tml_1", nil
}

func (f *fakeTerminal) RegisterReader(context.Context, string, string, string, string, string) (*TerminalReader, error) {
	return nil, Errorf(CodePaymentProviderError, "not played")
}

func (f *fakeTerminal) Reader(_ context.Context, account, id string) (*TerminalReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.readers[account+"/"+id]
	if !ok {
		return nil, ErrUnknownReader
	}
	return cloneTerminalReader(r), nil
}

func cloneTerminalReader(r *TerminalReader) *TerminalReader {
	c := *r
	if r.Action != nil {
		a := *r.Action
		c.Action = &a
	}
	return &c
}

func (f *fakeTerminal) DeleteReader(context.Context, string, string) error { return nil }

func (f *fakeTerminal) CreateReaderPaymentIntent(_ context.Context, n *NewReaderPayment) (*ReaderPaymentIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.keys[n.IdempotencyKey]; ok {
		return f.intentCopy(r.id), r.err
	}
	f.creates++
	id := fmt.Sprintf("pi_r%d", f.creates)
	f.intents[id] = &ReaderPaymentIntent{ID: id, Status: "requires_payment_method", Amount: n.Amount, Currency: n.Currency, Metadata: n.Metadata}
	f.account[id] = n.AccountID
	f.keys[n.IdempotencyKey] = keyReply{id: id}
	defer f.died("create")
	return f.intentCopy(id), nil
}

func (f *fakeTerminal) intentCopy(id string) *ReaderPaymentIntent {
	pi, ok := f.intents[id]
	if !ok {
		return nil
	}
	c := *pi
	if pi.Method != nil {
		m := *pi.Method
		c.Method = &m
	}
	return &c
}

func (f *fakeTerminal) ProcessPaymentIntent(_ context.Context, account, readerID, pi, key string) (*TerminalReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.keys[key]; ok {
		return f.readers[account+"/"+readerID], r.err
	}
	r, ok := f.readers[account+"/"+readerID]
	switch {
	case !ok:
		return nil, ErrUnknownReader
	case f.failProcess != nil:
		err := f.failProcess
		f.keys[key] = keyReply{err: err}
		return nil, err
	case r.Status == ReaderOffline:
		err := Errorf(CodeReaderOffline, "terminal_reader_offline")
		f.keys[key] = keyReply{err: err}
		return nil, err
	case r.Action != nil && r.Action.Status == "in_progress":
		err := Errorf(CodeReaderBusy, "terminal_reader_busy")
		f.keys[key] = keyReply{err: err}
		return nil, err
	case f.intents[pi] != nil && f.intents[pi].Status != "requires_payment_method":
		// Authorized, captured or canceled: no reader takes it again.
		err := Errorf(CodePaymentProviderError, "payment_intent_unexpected_state")
		f.keys[key] = keyReply{err: err}
		return nil, err
	}
	f.actions++
	r.Action = &ReaderAction{Type: ReaderActionProcessPayment, Status: "in_progress", PaymentIntentID: pi}
	f.keys[key] = keyReply{id: pi}
	defer f.died("process")
	return cloneTerminalReader(r), nil
}

func (f *fakeTerminal) CancelReaderAction(_ context.Context, account, readerID, _ string) (*TerminalReader, error) {
	f.mu.Lock()
	if hook := f.beforeCancelAction; hook != nil {
		f.beforeCancelAction = nil
		f.mu.Unlock()
		hook()
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	r, ok := f.readers[account+"/"+readerID]
	if !ok {
		return nil, ErrUnknownReader
	}
	if r.Action == nil || r.Action.Status != "in_progress" {
		return nil, Errorf(CodePaymentProviderError, "terminal_reader_action_unavailable")
	}
	r.Action = nil
	return cloneTerminalReader(r), nil
}

func (f *fakeTerminal) ReaderPaymentIntent(_ context.Context, account, id string) (*ReaderPaymentIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.account[id] != account {
		return nil, fmt.Errorf("%s: %w", id, ErrUnknownCharge)
	}
	return f.intentCopy(id), nil
}

func (f *fakeTerminal) CapturePaymentIntent(_ context.Context, account, id string, amount int64, key string) (*ReaderPaymentIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["capture"]++
	if r, ok := f.keys[key]; ok {
		return f.intentCopy(r.id), r.err
	}
	pi := f.intents[id]
	if pi == nil || f.account[id] != account {
		return nil, fmt.Errorf("%s: %w", id, ErrUnknownCharge)
	}
	if err := f.refused("capture", pi, key); err != nil {
		return nil, err
	}
	if pi.Status != "requires_capture" || amount > pi.AmountCapturable {
		err := Errorf(CodePaymentProviderError, "payment_intent_unexpected_state")
		f.keys[key] = keyReply{id: id, err: err}
		return nil, err
	}
	if f.onCapture != nil {
		f.onCapture(f.intentCopy(id))
	}
	f.captures++
	pi.Status, pi.AmountReceived, pi.AmountCapturable = "succeeded", amount, 0
	f.keys[key] = keyReply{id: id}
	f.emit(EventIntentSucceeded, account, id)
	defer f.died("capture")
	return f.intentCopy(id), nil
}

func (f *fakeTerminal) CancelPaymentIntent(_ context.Context, account, id, key string) (*ReaderPaymentIntent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["cancel"]++
	if r, ok := f.keys[key]; ok {
		return f.intentCopy(r.id), r.err
	}
	pi := f.intents[id]
	if pi == nil || f.account[id] != account {
		return nil, fmt.Errorf("%s: %w", id, ErrUnknownCharge)
	}
	if err := f.refused("cancel", pi, key); err != nil {
		return nil, err
	}
	if pi.Status == "succeeded" || pi.Status == "canceled" || pi.Status == "processing" {
		err := Errorf(CodePaymentProviderError, "payment_intent_unexpected_state")
		f.keys[key] = keyReply{id: id, err: err}
		return nil, err
	}
	f.cancels++
	pi.Status, pi.AmountCapturable = "canceled", 0
	f.keys[key] = keyReply{id: id}
	f.emit(EventIntentCanceled, account, id)
	for _, r := range f.readers {
		if r.Action != nil && r.Action.PaymentIntentID == id && r.Action.Status == "in_progress" {
			r.Action = nil
		}
	}
	defer f.died("cancel")
	return f.intentCopy(id), nil
}

// refused is what before answers a call, kept under its key unless it is
// an outage.
func (f *fakeTerminal) refused(call string, pi *ReaderPaymentIntent, key string) error {
	if f.before == nil {
		return nil
	}
	err := f.before(call, pi)
	if err != nil && !transient(err) {
		f.keys[key] = keyReply{id: pi.ID, err: err}
	}
	return err
}

// Test cards, as Stripe's test mode reads them.
const (
	cardApproved = "4242424242424242"
	cardDeclined = "4000000000000002"
	cardInterac  = "4506445006931933"
)

// present is Stripe's test helper present_payment_method: the card on the
// reader decides the outcome, and the events it sends are queued.
func (f *fakeTerminal) present(account, readerID, card string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.readers[account+"/"+readerID]
	if r == nil || r.Action == nil || r.Action.Status != "in_progress" {
		return errors.New("the reader has no payment to take")
	}
	pi := f.intents[r.Action.PaymentIntentID]
	switch card {
	case cardDeclined:
		r.Action.Status, r.Action.FailureCode = "failed", "card_declined"
		pi.LastErrorCode = "card_declined"
		f.emitReader(EventReaderActionFailed, account, r)
		f.emit(EventIntentFailed, account, pi.ID)
	case cardInterac:
		r.Action.Status = "succeeded"
		pi.Status, pi.AmountReceived, pi.ChargeID = "succeeded", pi.Amount, "ch_"+pi.ID
		pi.Method = &PaymentMethod{Type: MethodInteracPresent, Brand: "interac", Last4: "1933"}
		f.emitReader(EventReaderActionSucceeded, account, r)
		f.emit(EventIntentSucceeded, account, pi.ID)
	default:
		r.Action.Status = "succeeded"
		pi.Status, pi.AmountCapturable, pi.ChargeID, pi.LastErrorCode = "requires_capture", pi.Amount, "ch_"+pi.ID, ""
		pi.Method = &PaymentMethod{Type: MethodCardPresent, Brand: "visa", Last4: card[len(card)-4:]}
		f.emitReader(EventReaderActionSucceeded, account, r)
		f.emit(EventIntentCapturable, account, pi.ID)
	}
	return nil
}

// emit queues a PaymentIntent's event: as the adapter reads it, without
// the charge's method (an event names the charge only).
func (f *fakeTerminal) emit(typ, account, pi string) {
	f.seq++
	intent := f.intentCopy(pi)
	intent.Method = nil
	f.events = append(f.events, &WebhookEvent{ID: fmt.Sprintf("evt_t%d", f.seq), Type: typ, AccountID: account, Created: f.now(),
		Terminal: &TerminalFacts{Intent: intent}})
}

func (f *fakeTerminal) emitReader(typ, account string, r *TerminalReader) {
	f.seq++
	f.events = append(f.events, &WebhookEvent{ID: fmt.Sprintf("evt_t%d", f.seq), Type: typ, AccountID: account, Created: f.now(),
		Terminal: &TerminalFacts{Reader: cloneTerminalReader(r)}})
}

// takeEvents returns the queued events and empties the queue.
func (f *fakeTerminal) takeEvents() []*WebhookEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	evs := f.events
	f.events = nil
	return evs
}

func (f *fakeTerminal) setStatus(account, readerID, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers[account+"/"+readerID].Status = status
}

// taken is what the readers' PaymentIntents took, as Stripe holds them.
func (f *fakeTerminal) taken() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, pi := range f.intents {
		if pi.Status == "succeeded" {
			n += pi.AmountReceived
		}
	}
	return n
}

// clone copies Stripe's truth as it is now.
func (f *fakeTerminal) clone() *fakeTerminal {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := newFakeTerminal(f.now)
	for k, r := range f.readers {
		c.readers[k] = cloneTerminalReader(r)
	}
	for id := range f.intents {
		c.intents[id] = f.intentCopy(id)
	}
	maps.Copy(c.account, f.account)
	maps.Copy(c.keys, f.keys)
	c.refunded = maps.Clone(f.refunded)
	c.creates, c.actions, c.captures, c.cancels, c.seq = f.creates, f.actions, f.captures, f.cancels, f.seq
	return c
}

// clone copies the store as it is now.
func (m *memStore) clone() *memStore {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newMemStore()
	maps.Copy(c.companies, m.companies)
	maps.Copy(c.accounts, m.accounts)
	for k, inv := range m.invoices {
		c.invoices[k] = *cloneInvoice(&inv)
	}
	maps.Copy(c.events, m.events)
	maps.Copy(c.refs, m.refs)
	for k, f := range m.feeds {
		c.feeds[k] = slices.Clone(f)
	}
	return c
}

func (m *memReaders) clone() *memReaders {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newMemReaders()
	maps.Copy(c.readers, m.readers)
	return c
}

func (f *fakeStripe) clone() *fakeStripe {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := newFakeStripe()
	maps.Copy(c.links, f.links)
	maps.Copy(c.active, f.active)
	return c
}
