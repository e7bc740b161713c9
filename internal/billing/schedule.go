package billing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The scheduler runs every hour (and on demand in make dev): it asks the
// store for the work whose time has come (an index of NextWorkAt, never a
// scan) and, for each invoice, sends the reminder its plan calls for and
// the outbound e-mails still owed; for a company whose reminder policy
// changed, it plans the company's open invoices again.

// WorkItem is an invoice the scheduler must look at, or (InvoiceID "") a
// company whose invoices it must plan again.
type WorkItem struct {
	CompanyID string
	InvoiceID string
}

// RunReport says what a run did.
type RunReport struct {
	Looked    int `json:"looked"`
	Reminders int `json:"reminders"`
	Sent      int `json:"sent"`
	Skipped   int `json:"skipped"`
	Replanned int `json:"replanned"`
	Failed    int `json:"failed"`
	// More: work was left for the next run (the run's time was up).
	More bool `json:"more"`
}

// runBudget is the time a run leaves itself before its deadline to finish
// the invoice at hand.
const runBudget = 20 * time.Second

// maxWorkPerRun bounds one run; the rest waits for the next.
const maxWorkPerRun = 500

// RunScheduled does the work due at now, of every company or (company not
// "") of one only (make dev and the tests move one clinic's time without
// touching the others'). A company planned again in the run has its
// invoices' due work done in the same run (a second pass).
func (s *Service) RunScheduled(ctx context.Context, now time.Time, company string) (RunReport, error) {
	var rep RunReport
	var errs []error
	done := map[WorkItem]bool{}
	for pass := 0; pass < 2; pass++ {
		items, err := s.store.DueWork(ctx, now, maxWorkPerRun, company)
		if err != nil {
			return rep, storeError("read due work", err)
		}
		rep.More = len(items) == maxWorkPerRun
		replanned := false
		for _, it := range items {
			if done[it] {
				continue
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < runBudget {
				rep.More = true
				return rep, errors.Join(errs...)
			}
			done[it] = true
			rep.Looked++
			var err error
			if it.InvoiceID == "" {
				err, replanned = s.replanCompany(ctx, it.CompanyID, &rep), true
			} else {
				err = s.workOn(ctx, it, now, &rep)
			}
			if err != nil {
				rep.Failed++
				errs = append(errs, fmt.Errorf("%s/%s: %w", it.CompanyID, it.InvoiceID, err))
			}
		}
		if !replanned {
			break
		}
	}
	// One invoice's failure does not stop the others; the run reports them
	// all (their work stays indexed for the next run).
	return rep, errors.Join(errs...)
}

// workOn sends what one invoice is owed at now: its due reminder (the
// latest of the steps whose time has come; earlier ones are passed over),
// then its outbox, then its paid links' messages.
func (s *Service) workOn(ctx context.Context, it WorkItem, now time.Time, rep *RunReport) error {
	for range contention.Attempts(ctx) {
		inv, company, err := s.store.GetInvoiceAndCompany(ctx, it.CompanyID, it.InvoiceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return storeError("read invoice", err)
		}
		if inv.Lease != nil {
			// A request died half-way through a link change: finish it
			// (its link may be in a patient's e-mail); a live lease is a
			// request at work, looked at again at the next run.
			settled, _, _, err := s.settle(ctx, inv, company)
			switch {
			case errors.Is(err, errRetry):
				continue
			case ErrorCode(err) == CodeConflict:
				return nil
			case err != nil:
				return err
			}
			inv = settled
		}
		next := cloneInvoice(inv)
		changed := company != nil && next.replan(company.Reminders, now)
		if due := next.dueSteps(now); len(due) > 0 {
			changed = true
			for _, st := range due {
				next.Reminders.Done = append(next.Reminders.Done, st.Key)
			}
			if next.reminderBlocker(company) == "" {
				last := due[len(due)-1]
				next.Outbox = append(next.Outbox, Outbound{Key: "reminder-" + last.Key, Kind: EmailReminder, CreatedAt: now})
				rep.Reminders++
				rep.Skipped += len(due) - 1
			} else {
				rep.Skipped += len(due)
			}
		}
		if changed || next.NextWorkAt() != inv.NextWorkAt() {
			// Also when nothing changed but the index is stale (a policy
			// emptied, an invoice paid): rewriting it moves it.
			next.Version++
			next.UpdatedAt = s.clock()
			if err := s.store.PutInvoice(ctx, next); errors.Is(err, ErrVersionConflict) {
				continue
			} else if err != nil {
				return storeError("plan reminders", err)
			}
			inv = next
		}
		before := len(inv.Emails)
		stored, err := s.deliverOutbox(ctx, inv, company, now)
		if stored != nil {
			stored = s.noticePaidLinks(ctx, stored, company, now)
			for _, e := range stored.Emails[min(before, len(stored.Emails)):] {
				if e.MessageID != "" {
					rep.Sent++
					if e.Kind == EmailReminder {
						s.metrics.Count(ctx, MetricRemindersSent, 1)
					}
				}
			}
		}
		return err
	}
	return conflictError()
}

// replanCompany plans a company's open invoices again after its policy
// changed, then clears the mark.
func (s *Service) replanCompany(ctx context.Context, companyID string, rep *RunReport) error {
	c, err := s.store.GetCompany(ctx, companyID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeError("read company", err)
	}
	marked := c.RemindersChangedAt
	if marked.IsZero() {
		return nil
	}
	position := ""
	for {
		page, err := s.store.ListInvoices(ctx, companyID, InvoiceFilter{}, position, 100)
		if err != nil {
			return storeError("list invoices", err)
		}
		for _, sum := range page.Invoices {
			// Every invoice that may be reminded one day (one processing
			// now may be due again if its debit fails), not only the open.
			if sum.BalanceDue <= 0 {
				continue
			}
			if err := s.replanInvoice(ctx, companyID, sum.ID, c.Reminders, rep); err != nil {
				return err
			}
		}
		if !page.More {
			break
		}
		position = page.Position
	}
	for range contention.Attempts(ctx) {
		cur, err := s.store.GetCompany(ctx, companyID)
		if err != nil {
			return storeError("read company", err)
		}
		if !cur.RemindersChangedAt.Equal(marked) {
			return nil // changed again meanwhile: the next run plans again
		}
		next := *cur
		next.RemindersChangedAt, next.Version = time.Time{}, cur.Version+1
		if _, err := s.store.SaveCompany(ctx, &next, cur.StripeAccountID); errors.Is(err, ErrVersionConflict) {
			continue
		} else if err != nil {
			return storeError("save company", err)
		}
		return nil
	}
	return conflictError()
}

func (s *Service) replanInvoice(ctx context.Context, companyID, invoiceID string, p ReminderPolicy, rep *RunReport) error {
	for range contention.Attempts(ctx) {
		inv, err := s.store.GetInvoice(ctx, companyID, invoiceID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return storeError("read invoice", err)
		}
		next := cloneInvoice(inv)
		if !next.replan(p, s.clock()) {
			return nil
		}
		next.Version++
		next.UpdatedAt = s.clock()
		if err := s.store.PutInvoice(ctx, next); errors.Is(err, ErrVersionConflict) {
			continue
		} else if err != nil {
			return storeError("plan reminders", err)
		}
		rep.Replanned++
		return nil
	}
	return conflictError()
}

// RemindersInput is the body of PUT /invoices/{invoiceId}/reminders.
type RemindersInput struct {
	Paused *bool `json:"paused"`
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
func (s *Service) SetReminders(ctx context.Context, tenant, invoiceID string, in *RemindersInput) (*Invoice, *Company, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	for range contention.Attempts(ctx) {
		inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
		if err != nil {
			return nil, nil, err
		}
		if inv.Reminders.Paused == *in.Paused {
			return inv, company, nil
		}
		next := cloneInvoice(inv)
		next.Reminders.Paused = *in.Paused
		now := s.clock()
		if !next.Reminders.Paused {
			for _, st := range next.dueSteps(now) {
				next.Reminders.Done = append(next.Reminders.Done, st.Key)
			}
		}
		next.Version++
		next.UpdatedAt = now
		if err := s.store.PutInvoice(ctx, next); errors.Is(err, ErrVersionConflict) {
			continue
		} else if err != nil {
			return nil, nil, storeError("save invoice", err)
		}
		return next, company, nil
	}
	return nil, nil, conflictError()
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
