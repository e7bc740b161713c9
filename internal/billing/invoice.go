package billing

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Amount limits, in minor units (cents). Stripe's own ceiling for a single
// charge is 99 999 999 for two-decimal currencies.
const (
	MaxAmount       = 99_999_999
	MaxInvoiceLines = 100
)

// Invoice is a clinic's invoice to a patient, with the history of the
// payment links made for it and the e-mails sent about it. The whole history
// lives with the invoice so that one conditional write changes it atomically.
type Invoice struct {
	CompanyID  string
	ID         string
	Number     string
	Currency   string
	Total      int64
	BalanceDue int64
	IssuedOn   string // YYYY-MM-DD
	DueOn      string // YYYY-MM-DD, empty when the invoice has no due date
	Patient    Patient
	Lines      []Line

	// Links is every payment link made for the invoice, oldest first; at
	// most one of them is active.
	Links []Link
	// Emails is every e-mail sent for the invoice, oldest first.
	Emails []SentEmail
	// EmailAttempts are the staff e-mails marked before SES was called,
	// under their request's Idempotency-Key, and not yet recorded sent
	// (email_attempt.go).
	EmailAttempts []EmailAttempt
	// Outbox holds the receipts and reminders owed and not yet recorded
	// sent (see Outbound).
	Outbox []Outbound
	// Reminders is the invoice's reminder plan and what was done of it.
	Reminders ReminderState
	// Payments are the payments made through the invoice's links, oldest
	// first, with their refunds and disputes.
	Payments []Payment
	// Overpaid is money received beyond the balance due (a patient who paid
	// through two links): a credit staff must refund. BalanceDue never goes
	// below 0.
	Overpaid int64
	// Ledger is where the money stood at the clinic's last write, from
	// which BalanceDue and Overpaid are computed.
	Ledger MoneyLedger
	// ReaderAttempts are the tries at taking the balance on one of the
	// clinic's readers, oldest first (reader_payment.go).
	ReaderAttempts []ReaderAttempt
	// ReaderRefunds are the refunds of in-person payments asked of a
	// reader, oldest first (reader_refund.go); not money.
	ReaderRefunds []ReaderRefund
	// Lease is held by a request working on the invoice outside the store
	// (see Lease), nil otherwise.
	Lease *Lease
	// LastGeneration is the last link generation handed out; each attempt to
	// make a link takes the next one, so Stripe idempotency keys never repeat
	// with different parameters.
	LastGeneration int

	// Version increases with every write; writes are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Patient is who the invoice is addressed to.
type Patient struct {
	Name     string
	Email    string
	Language Language // empty: the billing company's default language
}

// Line is one billed item. Its description may be a health detail: it goes to
// the patient in the e-mail, never to Stripe, logs or subjects.
type Line struct {
	Description string
	Amount      int64
}

// Invoice statuses.
const (
	StatusOpen              = "open"
	StatusProcessing        = "processing" // a delayed payment method is clearing
	StatusPaid              = "paid"
	StatusPartiallyRefunded = "partially_refunded"
	StatusRefunded          = "refunded"
	StatusDisputed          = "disputed"
	// StatusDisputeLost: lost disputes (with refunds, if any) took back
	// all the invoice's online money.
	StatusDisputeLost = "dispute_lost"
)

// Status is the invoice's payment status as the contract shows it, derived
// from its payments (so it can't disagree with them). Payments under review
// don't count toward the invoice and don't change its status. An invoice
// whose online money was all taken back reads refunded, or dispute_lost
// when a lost dispute (a chargeback) took part of it: never paid.
func (inv *Invoice) Status() string {
	var paid, refunded, taken int64
	processing, lost := false, false
	for i := range inv.Payments {
		p := &inv.Payments[i]
		if p.Review != "" {
			continue
		}
		for _, d := range p.Disputes {
			if d.Open() {
				return StatusDisputed
			}
		}
		switch p.State {
		case PaymentProcessing:
			processing = true
		case PaymentSucceeded:
			paid += p.Amount
			refunded += p.inInvoiceCurrency(p.refunded())
			taken += p.inInvoiceCurrency(p.refunded() + p.lost())
			lost = lost || p.lost() > 0
		}
	}
	switch {
	case processing:
		return StatusProcessing
	case paid > 0 && taken >= paid && lost:
		return StatusDisputeLost
	case paid > 0 && refunded >= paid:
		return StatusRefunded
	case refunded > 0:
		return StatusPartiallyRefunded
	case inv.BalanceDue == 0:
		return StatusPaid
	}
	return StatusOpen
}

// PaidOnline reports an invoice settled, and a payment through a link
// among what settled it.
func (inv *Invoice) PaidOnline() bool {
	return inv.BalanceDue == 0 && slices.ContainsFunc(inv.Payments, func(p Payment) bool { return p.counts() })
}

// processing reports a payment still clearing.
func (inv *Invoice) processing() bool {
	return slices.ContainsFunc(inv.Payments, func(p Payment) bool { return p.Review == "" && p.State == PaymentProcessing })
}

// hasOnlinePayment reports a payment through a link that counts or may yet
// count (succeeded, processing, refunded or disputed since): from then on
// the invoice's amounts are the service's business too.
func (inv *Invoice) hasOnlinePayment() bool {
	return slices.ContainsFunc(inv.Payments, func(p Payment) bool {
		return p.Review == "" && (p.State == PaymentSucceeded || p.State == PaymentProcessing)
	})
}

// NetPaidOnline is what the invoice's payments brought the clinic, net of
// refunds and lost disputes, through this service.
func (inv *Invoice) NetPaidOnline() int64 {
	var n int64
	for i := range inv.Payments {
		n += inv.Payments[i].netPaid()
	}
	return n
}

// MaxBalanceDue is the most the balance may be: what the patient has not
// paid online (never below 0: an overpaid invoice owes nothing).
func (inv *Invoice) MaxBalanceDue() int64 { return max(inv.Total-inv.NetPaidOnline(), 0) }

// payment returns the payment with that PaymentIntent (or Checkout Session)
// id, or nil.
func (inv *Invoice) payment(key string) *Payment {
	for i := range inv.Payments {
		if p := &inv.Payments[i]; p.PaymentIntentID == key || (p.PaymentIntentID == "" && p.SessionID == key) {
			return p
		}
	}
	return nil
}

// paymentOfSession returns the payment made in that Checkout Session, or
// nil.
func (inv *Invoice) paymentOfSession(id string) *Payment {
	for i := range inv.Payments {
		if p := &inv.Payments[i]; p.SessionID == id {
			return p
		}
	}
	return nil
}

// The one rule for the balance: 0 <= BalanceDue <= MaxBalanceDue(), and only
// two things move it: money that reaches the clinic lowers it (here: a
// payment that succeeds, or a refund that failed and so gave the money
// back), and the billing module's PUT sets it. Refunds and lost disputes
// lower what was paid online and show in the feed, but never reopen the
// balance by themselves: whether the patient owes again is the clinic's
// decision.

// MoneyLedger is where the invoice's money stood when the clinic last set
// the balance (a PUT): the balance and the credit it left, and what of the
// payments it had counted then. BalanceDue and Overpaid are computed from
// it and the payments as Stripe's facts now say, in an order fixed by
// those facts (see fromLedger), never in the order events arrived: the
// same events give the same balance and credit in any order.
type MoneyLedger struct {
	Balance, Overpaid int64
	// Counted are the payments that counted then (by session, else
	// PaymentIntent), Refunds their refunds known then (true: failed or
	// canceled already), Lost what lost disputes had taken of each (in the
	// charged currency).
	Counted []string
	Refunds map[string]bool
	Lost    map[string]int64
	// Set: the ledger was started (invoices stored before it have none).
	Set bool
}

func (p *Payment) key() string { return cmp.Or(p.SessionID, p.PaymentIntentID) }

// startLedger makes the invoice's money as it is now the ledger's start.
func (inv *Invoice) startLedger() {
	l := MoneyLedger{Balance: inv.BalanceDue, Overpaid: inv.Overpaid, Refunds: map[string]bool{}, Lost: map[string]int64{}, Set: true}
	for i := range inv.Payments {
		p := &inv.Payments[i]
		if !p.counts() {
			continue
		}
		l.Counted = append(l.Counted, p.key())
		for _, r := range p.Refunds {
			l.Refunds[r.ID] = r.Status.ended()
		}
		if n := p.lost(); n > 0 {
			l.Lost[p.key()] = n
		}
	}
	inv.Ledger = l
}

// fromLedger computes the balance and the credit by playing, from the
// ledger's start, what moved since in an order Stripe's facts fix: each
// payment that counts since (money in: it lowers the balance, and beyond
// it is a credit), then each payment's refunds in the order Stripe made
// them (money out: it uses the credit up, never raising the balance:
// whether the patient owes again is the clinic's decision), a refund that
// failed or was canceled coming back right after it (money in again: a
// refund still to make), then lost disputes (money out).
func (inv *Invoice) fromLedger() {
	l := &inv.Ledger
	bal, credit := l.Balance, l.Overpaid
	in := func(x int64) { credit += max(x-bal, 0); bal = max(bal-x, 0) }
	out := func(x int64) { credit = max(credit-x, 0) }
	for i := range inv.Payments {
		if p := &inv.Payments[i]; p.counts() && !slices.Contains(l.Counted, p.key()) {
			in(p.Amount)
		}
	}
	steps, lost := inv.refundSteps()
	for _, st := range steps {
		if !st.known {
			out(st.amount)
		}
		if st.back {
			in(st.amount)
		}
	}
	out(max(lost, 0))
	inv.BalanceDue, inv.Overpaid = bal, credit
}

// refundStep is one refund as fromLedger plays it: what it is worth in the
// invoice's currency, whether the ledger's start knew it, and whether it
// came back since (failed or canceled).
type refundStep struct {
	at          time.Time
	id          string
	amount      int64
	known, back bool
}

// refundSteps lists the refunds of the payments that count in the order
// Stripe made them (creation, then id), and what lost disputes took since
// the ledger's start, in the invoice's currency.
func (inv *Invoice) refundSteps() ([]refundStep, int64) {
	l := &inv.Ledger
	var steps []refundStep
	var lost int64
	for i := range inv.Payments {
		p := &inv.Payments[i]
		if !p.counts() {
			continue
		}
		// given: what the refunds so far hold back, in the charged
		// currency. One that failed or was canceled gave its part back, so
		// a later refund's worth is not capped by money returned (as
		// netPaid counts them).
		var given int64
		for _, r := range p.Refunds {
			x := p.inInvoiceCurrency(given+r.Amount) - p.inInvoiceCurrency(given)
			if !r.Status.ended() {
				given += r.Amount
			}
			ended, known := l.Refunds[r.ID]
			steps = append(steps, refundStep{at: r.CreatedAt, id: r.ID, amount: x, known: known, back: r.Status.ended() && !ended})
		}
		lost += p.inInvoiceCurrency(p.refunded()+p.lost()) - p.inInvoiceCurrency(p.refunded()+l.Lost[p.key()])
	}
	// sort.Slice, not slices.SortFunc: one shared sort instead of a
	// generic copy for this element type in each bootstrap (a few steps).
	sort.Slice(steps, func(i, j int) bool {
		return cmp.Or(steps[i].at.Compare(steps[j].at), cmp.Compare(steps[i].id, steps[j].id)) < 0
	})
	return steps, lost
}

// language is the language to write to the patient in.
func (inv *Invoice) language(c *Company) Language {
	if inv.Patient.Language.Valid() {
		return inv.Patient.Language
	}
	if c != nil && c.DefaultLanguage.Valid() {
		return c.DefaultLanguage
	}
	return French
}

// InvoiceInput is what PUT /invoices/{invoiceId} asks for (its body, as
// httpapi decodes it).
type InvoiceInput struct {
	Number     string
	Currency   string
	Total      *int64
	BalanceDue *int64
	IssuedOn   string
	DueOn      *string
	Patient    *PatientInput
	Lines      []LineInput
}

// PatientInput is the patient part of InvoiceInput.
type PatientInput struct {
	Name     string
	Email    string
	Language Language
}

// LineInput is one line of InvoiceInput.
type LineInput struct {
	Description string
	Amount      *int64
}

// Validate checks the input against the contract's rules, naming the first
// field at fault, and normalizes the patient's address (an internationalized
// domain becomes punycode).
func (in *InvoiceInput) Validate() error {
	if err := checkText("number", in.Number, 1, 64); err != nil {
		return err
	}
	for _, check := range []func() error{in.checkAmounts, in.checkDates, in.checkPatient, in.checkLines} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (in *InvoiceInput) checkAmounts() error {
	if in.Currency == "" {
		return Invalid("currency", "currency is required")
	}
	if _, ok := currencies[in.Currency]; !ok {
		return Invalid("currency", "currency must be one of %s (lower-case ISO 4217)", supportedCurrencies())
	}
	if in.Total == nil {
		return Invalid("total", "total is required")
	}
	if *in.Total < 1 || *in.Total > MaxAmount {
		return Invalid("total", "total must be between 1 and %d (minor units)", MaxAmount)
	}
	if in.BalanceDue == nil {
		return Invalid("balanceDue", "balanceDue is required")
	}
	if *in.BalanceDue < 0 || *in.BalanceDue > *in.Total {
		return Invalid("balanceDue", "balanceDue must be between 0 and total")
	}
	return nil
}

func (in *InvoiceInput) checkDates() error {
	issued, err := parseDate("issuedOn", in.IssuedOn)
	if err != nil {
		return err
	}
	if in.DueOn != nil {
		due, err := parseDate("dueOn", *in.DueOn)
		if err != nil {
			return err
		}
		if due.Before(issued) {
			return Invalid("dueOn", "dueOn must not be before issuedOn")
		}
	}
	return nil
}

// checkPatient also normalizes the patient's address.
func (in *InvoiceInput) checkPatient() error {
	if in.Patient == nil {
		return Invalid("patient", "patient is required")
	}
	if err := checkText("patient.name", in.Patient.Name, 1, 200); err != nil {
		return err
	}
	email, err := checkEmail("patient.email", in.Patient.Email)
	if err != nil {
		return err
	}
	in.Patient.Email = email
	if in.Patient.Language != "" && !in.Patient.Language.Valid() {
		return Invalid("patient.language", "patient.language must be fr or en")
	}
	return nil
}

// checkLines checks each line, and that they add up to the total (checked
// first).
func (in *InvoiceInput) checkLines() error {
	if len(in.Lines) == 0 {
		return Invalid("lines", "lines must have at least one line")
	}
	if len(in.Lines) > MaxInvoiceLines {
		return Invalid("lines", "lines must have at most %d lines", MaxInvoiceLines)
	}
	var sum int64
	for i, l := range in.Lines {
		field := "lines[" + strconv.Itoa(i) + "]"
		if err := checkText(field+".description", l.Description, 1, 500); err != nil {
			return err
		}
		if l.Amount == nil {
			return Invalid(field+".amount", "%s.amount is required", field)
		}
		if *l.Amount < 1 || *l.Amount > MaxAmount {
			return Invalid(field+".amount", "%s.amount must be between 1 and %d (minor units)", field, MaxAmount)
		}
		sum += *l.Amount
	}
	if sum != *in.Total {
		return Invalid("lines", "the line amounts add up to %d, not to total %d", sum, *in.Total)
	}
	return nil
}

// fields returns the invoice content the input describes. Validate first.
func (in *InvoiceInput) fields() invoiceFields {
	f := invoiceFields{
		Number:     in.Number,
		Currency:   in.Currency,
		Total:      *in.Total,
		BalanceDue: *in.BalanceDue,
		IssuedOn:   in.IssuedOn,
		Patient:    Patient{Name: in.Patient.Name, Email: in.Patient.Email, Language: in.Patient.Language},
	}
	if in.DueOn != nil {
		f.DueOn = *in.DueOn
	}
	for _, l := range in.Lines {
		f.Lines = append(f.Lines, Line{Description: l.Description, Amount: *l.Amount})
	}
	return f
}

// invoiceFields is the part of an invoice the clinic owns (PUT replaces it).
type invoiceFields struct {
	Number     string
	Currency   string
	Total      int64
	BalanceDue int64
	IssuedOn   string
	DueOn      string
	Patient    Patient
	Lines      []Line
}

func (inv *Invoice) fields() invoiceFields {
	return invoiceFields{inv.Number, inv.Currency, inv.Total, inv.BalanceDue, inv.IssuedOn, inv.DueOn, inv.Patient, inv.Lines}
}

func (inv *Invoice) setFields(f invoiceFields) {
	inv.Number, inv.Currency, inv.Total, inv.BalanceDue = f.Number, f.Currency, f.Total, f.BalanceDue
	inv.startLedger() // the clinic set the balance: the ledger starts again from it
	inv.IssuedOn, inv.DueOn, inv.Patient, inv.Lines = f.IssuedOn, f.DueOn, f.Patient, f.Lines
}

func (f invoiceFields) equal(g invoiceFields) bool {
	return f.Number == g.Number && f.Currency == g.Currency && f.Total == g.Total &&
		f.BalanceDue == g.BalanceDue && f.IssuedOn == g.IssuedOn && f.DueOn == g.DueOn &&
		f.Patient == g.Patient && slices.Equal(f.Lines, g.Lines)
}

// GetInvoice returns one of the caller's invoices, and its company (nil
// when the company has no record yet), which says whether links can be
// made.
func (s *Service) GetInvoice(ctx context.Context, caller Caller, invoiceID string) (*Invoice, *Company, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	return s.loadInvoice(ctx, caller.Tenant, invoiceID)
}

// Precondition is a client's If-Match: the invoice versions it has seen
// (from ETags). A client that sends none has no precondition.
type Precondition struct {
	Given    bool
	Versions []int64
}

func (p Precondition) matches(version int64) bool {
	for _, v := range p.Versions {
		if v == version {
			return true
		}
	}
	return false
}

// PutInvoice creates or replaces the clinic's part of an invoice and reports
// whether it was created. A payment link must always ask for the full amount
// due, so when the balance or the currency changes the active link is
// deactivated at Stripe (kept in history as removed, reason amount_changed)
// before the new amounts are stored. Lost updates are prevented the HTTP
// way: with If-Match, a write based on a stale version fails; once an
// online payment exists, a change of the amounts needs one.
func (s *Service) PutInvoice(ctx context.Context, caller Caller, invoiceID string, in *InvoiceInput, pre Precondition) (inv *Invoice, company *Company, created bool, err error) {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, false, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, false, err
	}
	want := in.fields()
	put, err := retrying(ctx, contention, func() (putOutcome, error) {
		return s.putInvoiceOnce(ctx, tenant, invoiceID, want, pre)
	})
	return put.inv, put.company, put.created, err
}

// putOutcome is what one attempt at PutInvoice stored.
type putOutcome struct {
	inv     *Invoice
	company *Company
	created bool
}

// putInvoiceOnce is one attempt at PutInvoice, from the invoice as stored
// now; errRetry when another writer got there first.
func (s *Service) putInvoiceOnce(ctx context.Context, tenant, invoiceID string, want invoiceFields, pre Precondition) (putOutcome, error) {
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, tenant, invoiceID)
	if errors.Is(err, ErrNotFound) {
		if pre.Given {
			return putOutcome{}, preconditionFailed()
		}
		inv, err := s.createInvoice(ctx, tenant, invoiceID, want, company)
		return putOutcome{inv, company, err == nil}, err
	}
	if err != nil {
		return putOutcome{}, storeError("read invoice", err)
	}
	if pre.Given && !pre.matches(inv.Version) {
		return putOutcome{}, preconditionFailed()
	}
	if inv, _, _, err = s.settle(ctx, inv, company); err != nil {
		return putOutcome{}, err
	}
	inv, err = s.updateInvoice(ctx, inv, company, want, pre)
	return putOutcome{inv, company, false}, err
}

func (s *Service) createInvoice(ctx context.Context, tenant, invoiceID string, f invoiceFields, company *Company) (*Invoice, error) {
	now := s.clock()
	inv := &Invoice{CompanyID: tenant, ID: invoiceID, Version: 1, CreatedAt: now, UpdatedAt: now}
	inv.setFields(f)
	if company != nil {
		inv.replan(company.Reminders, now)
	}
	if err := s.store.PutInvoice(ctx, inv); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, errRetry
		}
		return nil, storeError("create invoice", err)
	}
	return inv, nil
}

func (s *Service) updateInvoice(ctx context.Context, inv *Invoice, company *Company, want invoiceFields, pre Precondition) (*Invoice, error) {
	have := inv.fields()
	if have.equal(want) {
		return inv, nil
	}
	if err := inv.checkReaderChange(have, want); err != nil {
		return nil, err
	}
	if err := inv.checkAmountChange(have, want, pre); err != nil {
		return nil, err
	}
	put := &fieldsChange{now: s.clock, company: company, want: want, pre: pre, checked: inv}
	if l := inv.ActiveLink(); l != nil && (l.Amount != want.BalanceDue || l.Currency != want.Currency) {
		// The link is ended at Stripe first, under the lease; a patient may
		// pay it meanwhile.
		change := &LinkChange{End: &LinkEnd{Generation: l.Generation, Status: LinkRemoved, Reason: ReasonAmountChanged}}
		inv, _, err := s.carryOut(ctx, inv, company, change, put)
		return inv, err
	}
	return s.saveChange(ctx, inv, func(next *Invoice) error { put.finish(next); return nil })
}

// fieldsChange is a PUT's change of the invoice's fields, checked against
// the invoice as read; when it waits for the active link's end (under
// the lease) it is the lease's work.
type fieldsChange struct {
	noWork
	now     func() time.Time
	company *Company
	want    invoiceFields
	pre     Precondition
	checked *Invoice
}

// recheck: money that moved since the change was checked is checked again
// (and with If-Match refused: the caller decided on what it no longer is).
func (c *fieldsChange) recheck(cur *Invoice) error {
	if !moneyMoved(c.checked, cur) {
		return nil
	}
	if c.pre.Given {
		return preconditionFailed()
	}
	return cur.checkAmountChange(cur.fields(), c.want, c.pre)
}

func (c *fieldsChange) finish(inv *Invoice) {
	inv.setFields(c.want)
	if c.company != nil {
		inv.replan(c.company.Reminders, c.now()) // the due date may have moved
	}
}

// checkAmountChange applies the balance rule to a PUT: the balance never
// exceeds what the patient has not paid online, and once a payment went
// through a link (even if refunded or disputed since) the total and the
// currency are fixed and the balance moves only with a precondition, so a
// billing module replaying a stale write can't undo what the feed told it.
func (inv *Invoice) checkAmountChange(have, want invoiceFields, pre Precondition) error {
	if have.Currency == want.Currency && have.Total == want.Total && have.BalanceDue == want.BalanceDue {
		return nil
	}
	if inv.hasOnlinePayment() {
		if !pre.Given {
			return Errorf(CodePreconditionRequired, "this invoice has an online payment: send If-Match with its ETag to change total, currency or balanceDue")
		}
		if have.Currency != want.Currency || have.Total != want.Total {
			return Errorf(CodeInvoicePaid, "this invoice has an online payment: its total and currency can't change (other fields can)")
		}
		if inv.processing() {
			return Errorf(CodePaymentProcessing, "a payment for this invoice is being processed: its balance can't change now")
		}
	}
	if most := max(want.Total-inv.NetPaidOnline(), 0); want.BalanceDue > most {
		return &Error{Code: CodeBalanceExceedsUnpaid, Field: "balanceDue",
			Message: fmt.Sprintf("balanceDue can be at most %d: total %d less %d paid online (net of refunds and lost disputes)", most, want.Total, inv.NetPaidOnline())}
	}
	return nil
}

// moneyMoved reports whether anything a balance check depends on changed
// between two versions of an invoice: its balance, its payments and what
// they brought.
func moneyMoved(a, b *Invoice) bool {
	return a.BalanceDue != b.BalanceDue || a.Overpaid != b.Overpaid || len(a.Payments) != len(b.Payments) ||
		a.NetPaidOnline() != b.NetPaidOnline() || a.processing() != b.processing() || a.hasOnlinePayment() != b.hasOnlinePayment()
}

func preconditionFailed() *Error {
	return Errorf(CodePreconditionFailed, "the invoice changed since the version in If-Match: read it again (GET) and retry with its ETag")
}

func checkInvoiceID(id string) error {
	if !ValidID(id) {
		return Invalid("invoiceId", "invoiceId must be 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

// InvoiceSummary is an invoice as a list shows it: its amounts, its status
// and whether a link is active, without its lines or history.
type InvoiceSummary struct {
	ID            string
	Number        string
	Currency      string
	Total         int64
	BalanceDue    int64
	NetPaidOnline int64
	Status        string
	HasActiveLink bool
	Patient       Patient
	IssuedOn      string
	DueOn         string
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// InvoiceFilter narrows a list of invoices; zero values don't filter.
type InvoiceFilter struct {
	Status        string
	HasActiveLink *bool
	// Query, when set, searches by invoice number and patient name (see
	// SearchTerms); the page then follows the search index's order.
	Query string
}

// InvoicePage is one page of a tenant's invoices, newest first.
type InvoicePage struct {
	Invoices []InvoiceSummary
	// Next is where the next page starts (the cursor to give back).
	Next string
	// More reports invoices past Next.
	More bool
}

// Invoice list page sizes.
const (
	DefaultInvoicePage = 25
	MaxInvoicePage     = 100
)

var invoiceStatuses = []string{StatusOpen, StatusProcessing, StatusPaid, StatusPartiallyRefunded, StatusRefunded, StatusDisputed, StatusDisputeLost}

// ListInvoices returns the tenant's invoices, newest first, from the
// cursor on (the start when it is empty). A page holds at most limit
// invoices; with filters it may hold fewer while More is true (the store
// reads a bounded number of invoices per page).
func (s *Service) ListInvoices(ctx context.Context, caller Caller, f InvoiceFilter, cursor string, limit int) (*InvoicePage, error) {
	tenant := caller.Tenant
	if limit == 0 {
		limit = DefaultInvoicePage
	}
	if limit < 1 || limit > MaxInvoicePage {
		return nil, Invalid("limit", "limit must be between 1 and %d", MaxInvoicePage)
	}
	if f.Status != "" && !slices.Contains(invoiceStatuses, f.Status) {
		return nil, Invalid("status", "status must be one of %s", strings.Join(invoiceStatuses, ", "))
	}
	if f.Query != "" {
		if _, err := SearchTerms(f.Query); err != nil {
			return nil, err
		}
	}
	after, err := decodeInvoiceCursor(cursor)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.ListInvoices(ctx, tenant, f, after, limit)
	if err != nil {
		return nil, storeError("list invoices", err)
	}
	page := &InvoicePage{Invoices: stored.Invoices, Next: cursor, More: stored.More}
	if stored.Position != "" {
		page.Next = encodeInvoiceCursor(stored.Position)
	}
	return page, nil
}

// StoredInvoicePage is what the store returns for a page: the invoices, and
// the position (opaque to the domain) the next page starts after.
type StoredInvoicePage struct {
	Invoices []InvoiceSummary
	Position string
	More     bool
}

func encodeInvoiceCursor(position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("inv.v1." + position))
}

func decodeInvoiceCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	position, ok := strings.CutPrefix(string(raw), "inv.v1.")
	if err != nil || !ok || position == "" || !utf8.ValidString(position) || len(position) > 200 {
		return "", Invalid("after", "after must be a cursor returned by this API")
	}
	return position, nil
}
