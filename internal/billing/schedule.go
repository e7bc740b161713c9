package billing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The scheduler runs every hour (and on demand in make dev) and only plans:
// it reads the work whose time has come (an index of NextWorkAt, never a
// scan) and puts each item on the work queue (SQS). Workers take the items
// from the queue, each on its own: for an invoice, they send the reminder
// its plan calls for and the outbound e-mails still owed; for a company
// whose reminder policy changed, they put each of its invoices back on the
// queue to be planned again. The queue delivers an item at least once;
// working one twice is harmless, because what it sends goes through the
// invoice's outbox and lease.

// WorkItem is an invoice the scheduler must look at, or (InvoiceID "") a
// company whose invoices it must plan again.
type WorkItem struct {
	CompanyID string
	InvoiceID string
}

// WorkMessage is one item of work on the queue (internal/sqsqueue/message
// is its shape on the wire).
type WorkMessage struct {
	CompanyID string
	// InvoiceID is "" for a company whose invoices must be planned again.
	InvoiceID string
	// Now is the time of the run that planned it: the work due then is
	// done, however late the message is worked.
	Now time.Time
	// Run names the run that planned it (logs; make dev waits for its
	// items).
	Run string
	// Replan: the invoice's company changed its policy; plan it again
	// first.
	Replan bool
	// Position is where a company's planning resumes in its invoices (a
	// worker whose time ran out put the rest back on the queue).
	Position string
	// Since is the policy change a resumed planning is for.
	Since time.Time
}

// WorkQueue takes work to be done by the workers (SQS).
type WorkQueue interface {
	// Enqueue sends the messages, to be received after delay (0: at
	// once); on an error some may have been sent.
	Enqueue(ctx context.Context, msgs []WorkMessage, delay time.Duration) error
}

// PlanReport says what a plan did.
type PlanReport struct {
	// Planned items were read from the index, Queued were sent to the
	// queue (the others failed to and wait in the index for the next run).
	Planned int `json:"planned"`
	Queued  int `json:"queued"`
	Failed  int `json:"failed"`
	// More: work was left for the next run (the run's time was up).
	More bool `json:"more"`
}

// RunReport says what working one or more items did.
type RunReport struct {
	Looked    int `json:"looked"`
	Reminders int `json:"reminders"`
	Sent      int `json:"sent"`
	Skipped   int `json:"skipped"`
	Replanned int `json:"replanned"`
	// Queued are the invoices a company's planning put on the queue.
	Queued int `json:"queued"`
	Failed int `json:"failed"`
}

// planBudget is the time a plan leaves itself before its deadline; what it
// has not read by then waits in the index for the next run.
const planBudget = 5 * time.Second

// errPlanTimeUp stops a plan's reads when its time is up.
var errPlanTimeUp = errors.New("the plan's time is up")

// PlanDue puts the work due at now (of one company when company is not
// "") on the queue, naming the run in each message. A page that fails to
// be sent does not stop the others: its items stay in the index for the
// next run. The plan fails only when it could not read the index.
func (s *Service) PlanDue(ctx context.Context, now time.Time, company, run string) (PlanReport, error) {
	var mu sync.Mutex
	var rep PlanReport
	var errs []error
	err := s.store.DueWork(ctx, now, company, func(items []WorkItem) error {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < planBudget {
			return errPlanTimeUp
		}
		msgs := make([]WorkMessage, len(items))
		for i, it := range items {
			msgs[i] = WorkMessage{CompanyID: it.CompanyID, InvoiceID: it.InvoiceID, Now: now, Run: run}
		}
		sendErr := s.queue.Enqueue(ctx, msgs, 0)
		mu.Lock()
		defer mu.Unlock()
		rep.Planned += len(items)
		if sendErr != nil {
			rep.Failed += len(items)
			errs = append(errs, sendErr)
		} else {
			rep.Queued += len(items)
		}
		return nil
	})
	if errors.Is(err, errPlanTimeUp) {
		rep.More, err = true, nil
	}
	if err != nil {
		return rep, storeError("read due work", err)
	}
	return rep, errors.Join(errs...)
}

// Work does one queued item: what one invoice is owed at the message's
// time, or the planning of a company's invoices. Working the same message
// twice sends nothing twice.
func (s *Service) Work(ctx context.Context, m WorkMessage) (RunReport, error) {
	rep := RunReport{Looked: 1}
	var err error
	switch {
	case m.InvoiceID == "":
		err = s.replanCompany(ctx, m, &rep)
	case m.Replan:
		if err = s.replanInvoice(ctx, m.CompanyID, m.InvoiceID, &rep); err == nil {
			err = s.workOnInvoice(ctx, m, &rep)
		}
	default:
		err = s.workOnInvoice(ctx, m, &rep)
	}
	if err != nil {
		rep.Failed++
		return rep, fmt.Errorf("%s/%s: %w", m.CompanyID, m.InvoiceID, err)
	}
	return rep, nil
}

// workOnInvoice sends what the invoice is owed (workOn settles a reader
// attempt gone quiet first).
func (s *Service) workOnInvoice(ctx context.Context, m WorkMessage, rep *RunReport) error {
	return s.workOn(ctx, WorkItem{m.CompanyID, m.InvoiceID}, m.Now, rep)
}

// workOn sends what one invoice is owed at now: its due reminder (the
// latest of the steps whose time has come; earlier ones are passed over),
// then its outbox, then its paid links' messages.
func (s *Service) workOn(ctx context.Context, it WorkItem, now time.Time, rep *RunReport) error {
	settled := false
	_, err := retrying(ctx, contention, func() (*Invoice, error) {
		return s.workOnce(ctx, it, now, rep, &settled)
	})
	return err
}

// workOnce is one attempt at workOn, from the invoice as stored now;
// errRetry when another writer got there first.
//
// A reader attempt gone quiet is settled from Stripe first, once per
// workOn (reader_settle.go), and the invoice read again as settled: only
// such invoices are read twice.
func (s *Service) workOnce(ctx context.Context, it WorkItem, now time.Time, rep *RunReport, settled *bool) (*Invoice, error) {
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, it.CompanyID, it.InvoiceID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeError("read invoice", err)
	}
	if at := inv.readerCheckAt(); !*settled && !at.IsZero() && !at.After(now) {
		*settled = true
		if err := s.settleReader(ctx, it, now); err != nil {
			return nil, err
		}
		return nil, errRetry
	}
	if at := inv.refundCheckAt(); !*settled && !at.IsZero() && !at.After(now) {
		*settled = true
		if err := s.settleRefunds(ctx, it, now); err != nil {
			return nil, err
		}
		return nil, errRetry
	}
	if inv.Lease != nil {
		// A request died half-way through a link change: finish it
		// (its link may be in a patient's e-mail); a live lease is a
		// request at work, looked at again at the next run.
		settled, _, _, err := s.settle(ctx, inv, company)
		switch {
		case errors.Is(err, errRetry):
			return nil, err
		case ErrorCode(err) == CodeConflict:
			return nil, nil
		case err != nil:
			return nil, err
		}
		inv = settled
	}
	inv, err = s.saveChange(ctx, inv, func(next *Invoice) error {
		changed := next.planReminders(company, now, rep)
		if changed || next.NextWorkAt() != inv.NextWorkAt() {
			// Also when nothing changed but the index is stale (a policy
			// emptied, an invoice paid): rewriting it moves it.
			return nil
		}
		return errNoChange
	})
	if err != nil {
		return nil, err
	}
	before := len(inv.Emails)
	stored, err := s.deliverOutbox(ctx, inv, company, now)
	if stored != nil {
		stored = s.noticePaidLinks(ctx, stored, company, now)
		s.countSent(ctx, stored.Emails[min(before, len(stored.Emails)):], rep)
	}
	return stored, err
}

// planReminders plans the invoice's reminders with the company's policy
// and owes the latest step whose time has come (earlier ones are passed
// over), and reports whether that changed anything.
func (inv *Invoice) planReminders(company *Company, now time.Time, rep *RunReport) bool {
	changed := company != nil && inv.replan(company.Reminders, now)
	due := inv.dueSteps(now)
	if len(due) == 0 {
		return changed
	}
	for _, st := range due {
		inv.Reminders.Done = append(inv.Reminders.Done, st.Key)
	}
	if inv.reminderBlocker(company) == "" {
		last := due[len(due)-1]
		inv.Outbox = append(inv.Outbox, Outbound{Key: "reminder-" + last.Key, Kind: EmailReminder, CreatedAt: now})
		rep.Reminders++
		rep.Skipped += len(due) - 1
	} else {
		rep.Skipped += len(due)
	}
	return true
}

// countSent counts the e-mails a run sent.
func (s *Service) countSent(ctx context.Context, sent []SentEmail, rep *RunReport) {
	for _, e := range sent {
		if e.MessageID != "" {
			rep.Sent++
			if e.Kind == EmailReminder {
				s.metrics.Count(ctx, MetricRemindersSent, 1)
			}
		}
	}
}

// replanCompany puts a company's invoices on the queue to be planned again
// after its policy changed, a page at a time, then clears the mark. A
// worker whose time runs out puts the rest back on the queue (Position),
// with the mark it started from (Since): only that mark is cleared, so a
// policy changed again meanwhile is planned again in full.
func (s *Service) replanCompany(ctx context.Context, m WorkMessage, rep *RunReport) error {
	c, err := s.store.GetCompany(ctx, m.CompanyID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeError("read company", err)
	}
	marked := c.RemindersChangedAt
	if !m.Since.IsZero() {
		marked = m.Since
	}
	if marked.IsZero() || !c.RemindersChangedAt.Equal(marked) {
		return nil // planned already, or changed again: that mark plans it all
	}
	position := m.Position
	for {
		page, err := s.store.ListInvoices(ctx, m.CompanyID, InvoiceFilter{}, position, 100)
		if err != nil {
			return storeError("list invoices", err)
		}
		var msgs []WorkMessage
		for _, sum := range page.Invoices {
			// Every invoice that may be reminded one day (one processing
			// now may be due again if its debit fails), not only the open.
			if sum.BalanceDue > 0 {
				msgs = append(msgs, WorkMessage{CompanyID: m.CompanyID, InvoiceID: sum.ID, Now: m.Now, Run: m.Run, Replan: true})
			}
		}
		if !page.More {
			if err := s.enqueue(ctx, msgs, rep); err != nil {
				return err
			}
			break
		}
		position = page.Position
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < planBudget {
			rest := WorkMessage{CompanyID: m.CompanyID, Now: m.Now, Run: m.Run, Position: position, Since: marked}
			return s.enqueue(ctx, append(msgs, rest), rep)
		}
		if err := s.enqueue(ctx, msgs, rep); err != nil {
			return err
		}
	}
	return s.clearReplanMark(ctx, m.CompanyID, marked)
}

// enqueue sends a company's invoices to the queue.
func (s *Service) enqueue(ctx context.Context, msgs []WorkMessage, rep *RunReport) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.queue.Enqueue(ctx, msgs, 0); err != nil {
		return &Error{Code: CodeUnavailable, Message: "the work queue is unavailable", Err: fmt.Errorf("enqueue: %w", err)}
	}
	rep.Queued += len(msgs)
	return nil
}

// clearReplanMark clears the company's policy-change mark if it is still
// marked.
func (s *Service) clearReplanMark(ctx context.Context, companyID string, marked time.Time) error {
	_, err := s.changeCompany(ctx, companyID, func(cur *Company) (*Company, error) {
		if cur == nil || !cur.RemindersChangedAt.Equal(marked) {
			return nil, errNoChange // changed again meanwhile: the next run plans again
		}
		next := *cur
		next.RemindersChangedAt = time.Time{}
		return &next, nil
	})
	return err
}

// replanInvoice plans an invoice's reminders again with its company's
// policy.
func (s *Service) replanInvoice(ctx context.Context, companyID, invoiceID string, rep *RunReport) error {
	inv, company, err := s.store.GetInvoiceAndCompany(ctx, companyID, invoiceID)
	if errors.Is(err, ErrNotFound) || company == nil {
		return nil
	}
	if err != nil {
		return storeError("read invoice", err)
	}
	replanned := false
	_, err = s.changeInvoice(ctx, contention, inv, func(next *Invoice) error {
		if replanned = next.replan(company.Reminders, s.clock()); !replanned {
			return errNoChange
		}
		return nil
	})
	if err == nil && replanned {
		rep.Replanned++
	}
	return err
}

// RemindersInput is what PUT /invoices/{invoiceId}/reminders asks for.
type RemindersInput struct {
	Paused *bool
}

// Validate checks the input against the contract's rules.
func (in *RemindersInput) Validate() error {
	if in.Paused == nil {
		return Invalid("paused", "paused is required (true or false)")
	}
	return nil
}

// SetReminders pauses or resumes an invoice's reminders. Resuming does not
// send what was missed while paused: the steps whose time passed are passed
// over, the next ones go.
func (s *Service) SetReminders(ctx context.Context, caller Caller, invoiceID string, in *RemindersInput) (*Invoice, *Company, error) {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return nil, nil, err
	}
	inv, err = s.changeInvoice(ctx, contention, inv, func(next *Invoice) error {
		if next.Reminders.Paused == *in.Paused {
			return errNoChange
		}
		next.Reminders.Paused = *in.Paused
		if !next.Reminders.Paused {
			for _, st := range next.dueSteps(s.clock()) {
				next.Reminders.Done = append(next.Reminders.Done, st.Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return inv, company, nil
}

// NextReminder is the invoice's next reminder step that will go, nil when
// none will (none left, or reminders can't go now).
func (inv *Invoice) NextReminder(c *Company) *ReminderStep {
	if inv.reminderBlocker(c) != "" {
		return nil
	}
	if st := inv.nextStep(); st != nil {
		cp := *st
		return &cp
	}
	return nil
}

// RemindersBlocked says why no reminder goes now ("" when they may).
func (inv *Invoice) RemindersBlocked(c *Company) string { return inv.reminderBlocker(c) }
