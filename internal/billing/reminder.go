package billing

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reminders: a clinic's policy says how many days before and after an
// invoice's due date the patient is reminded. Each invoice keeps its plan
// (the steps and their times, from the policy and its due date) and which
// steps are done; the store indexes the time of its next work (NextWorkAt),
// so the hourly scheduler finds the invoices to remind without a scan.

// Bounds of a reminder policy (the contract's).
const (
	MaxBeforeDue     = 3   // at most 3 reminders before the due date…
	MaxBeforeDueDays = 30  // …each 1 to 30 days before it
	MaxAfterDue      = 6   // at most 6 after it…
	MaxAfterDueDays  = 120 // …each 1 to 120 days after it
)

// ReminderHour is when a step falls on its day: 14:00 UTC, the morning in
// Quebec (9 or 10 a.m.), not the middle of the night.
const ReminderHour = 14

// ReminderPolicy is a clinic's reminder policy. Empty: no reminders.
type ReminderPolicy struct {
	BeforeDue []int // days before the due date, largest first
	AfterDue  []int // days after it, smallest first
	// IncludePaymentLink: the reminder carries the Pay button (a link is
	// made first when none is active).
	IncludePaymentLink bool
}

// Empty reports whether the policy sends nothing.
func (p ReminderPolicy) Empty() bool { return len(p.BeforeDue) == 0 && len(p.AfterDue) == 0 }

// Equal reports whether two policies send the same reminders.
func (p ReminderPolicy) Equal(q ReminderPolicy) bool {
	return slices.Equal(p.BeforeDue, q.BeforeDue) && slices.Equal(p.AfterDue, q.AfterDue) &&
		p.IncludePaymentLink == q.IncludePaymentLink
}

// ReminderPolicyInput is the reminders object of PUT /billing-companies:
// {"beforeDue":[3],"afterDue":[1,7,14],"includePaymentLink":true}; absent
// lists are empty, includePaymentLink defaults to true.
type ReminderPolicyInput struct {
	BeforeDue          []int
	AfterDue           []int
	IncludePaymentLink *bool
}

func (in *ReminderPolicyInput) validate() error {
	check := func(field string, days []int, most, maxDays int) error {
		if len(days) > most {
			return Invalid("reminders."+field, "reminders.%s holds at most %d values", field, most)
		}
		seen := map[int]bool{}
		for _, d := range days {
			if d < 1 || d > maxDays {
				return Invalid("reminders."+field, "reminders.%s: each value is a number of days from 1 to %d", field, maxDays)
			}
			if seen[d] {
				return Invalid("reminders."+field, "reminders.%s: %d is given twice", field, d)
			}
			seen[d] = true
		}
		return nil
	}
	if err := check("beforeDue", in.BeforeDue, MaxBeforeDue, MaxBeforeDueDays); err != nil {
		return err
	}
	return check("afterDue", in.AfterDue, MaxAfterDue, MaxAfterDueDays)
}

func (in *ReminderPolicyInput) policy() ReminderPolicy {
	p := ReminderPolicy{BeforeDue: slices.Clone(in.BeforeDue), AfterDue: slices.Clone(in.AfterDue), IncludePaymentLink: true}
	if in.IncludePaymentLink != nil {
		p.IncludePaymentLink = *in.IncludePaymentLink
	}
	slices.SortFunc(p.BeforeDue, func(a, b int) int { return b - a })
	slices.Sort(p.AfterDue)
	if p.BeforeDue == nil {
		p.BeforeDue = []int{}
	}
	if p.AfterDue == nil {
		p.AfterDue = []int{}
	}
	return p
}

// ReminderStep is one reminder of an invoice's plan.
type ReminderStep struct {
	// Key names the step: before-3, after-7.
	Key string
	At  time.Time
}

// overdue reports whether the step comes after the due date, and its days
// (0 for a key this package did not write).
func (s ReminderStep) overdue() (bool, int) {
	when, days, _ := strings.Cut(s.Key, "-")
	n, err := strconv.Atoi(days)
	if err != nil {
		return false, 0
	}
	return when == "after", n
}

// ReminderState is an invoice's reminders.
type ReminderState struct {
	// Paused by staff: no reminder goes while it is set.
	Paused bool
	// Plan is the steps, in time order, from the clinic's policy and the
	// due date when last planned; steps before the invoice existed are left
	// out.
	Plan []ReminderStep
	// Done are the keys of the steps handled: sent, or passed over (a step
	// due while reminders could not go, or an earlier step when the
	// scheduler found two due at once: only the latest is sent).
	Done []string
}

// planReminders is the plan of an invoice under a policy: nothing without a
// due date; steps before the invoice was created are left out (no
// reminder of an invoice the patient has only just received).
func planReminders(p ReminderPolicy, dueOn string, created time.Time) []ReminderStep {
	due, err := time.Parse(dateLayout, dueOn)
	if dueOn == "" || err != nil {
		return nil
	}
	at := func(days int) time.Time {
		return due.AddDate(0, 0, days).Add(ReminderHour * time.Hour)
	}
	var plan []ReminderStep
	for _, d := range p.BeforeDue {
		plan = append(plan, ReminderStep{Key: fmt.Sprintf("before-%d", d), At: at(-d)})
	}
	for _, d := range p.AfterDue {
		plan = append(plan, ReminderStep{Key: fmt.Sprintf("after-%d", d), At: at(d)})
	}
	plan = slices.DeleteFunc(plan, func(s ReminderStep) bool { return s.At.Before(created) })
	// sort.Slice: no generic sort copied into each bootstrap for a few steps.
	sort.Slice(plan, func(i, j int) bool { return plan[i].At.Before(plan[j].At) })
	return plan
}

// replan sets the invoice's plan from the policy; it reports a change. A
// step done whose time moved to after now (the due date was pushed back) is
// to do again, relative to the new date.
func (inv *Invoice) replan(p ReminderPolicy, now time.Time) bool {
	plan := planReminders(p, inv.DueOn, inv.CreatedAt)
	if slices.EqualFunc(plan, inv.Reminders.Plan, func(a, b ReminderStep) bool { return a.Key == b.Key && a.At.Equal(b.At) }) {
		return false
	}
	before := map[string]time.Time{}
	for _, st := range inv.Reminders.Plan {
		before[st.Key] = st.At
	}
	for _, st := range plan {
		if at, ok := before[st.Key]; ok && !at.Equal(st.At) && st.At.After(now) {
			inv.Reminders.Done = slices.DeleteFunc(inv.Reminders.Done, func(k string) bool { return k == st.Key })
		}
	}
	inv.Reminders.Plan = plan
	return true
}

// dueSteps are the plan's steps not done whose time has come.
func (inv *Invoice) dueSteps(now time.Time) []ReminderStep {
	var due []ReminderStep
	for _, s := range inv.Reminders.Plan {
		if !s.At.After(now) && !slices.Contains(inv.Reminders.Done, s.Key) {
			due = append(due, s)
		}
	}
	return due
}

// nextStep is the plan's first step not done, nil when none is left.
func (inv *Invoice) nextStep() *ReminderStep {
	for i, s := range inv.Reminders.Plan {
		if !slices.Contains(inv.Reminders.Done, s.Key) {
			return &inv.Reminders.Plan[i]
		}
	}
	return nil
}

// reminderBlocker says why no reminder may go now ("" when one may): the
// contract's reasons, kept on the e-mail's record when a step is passed
// over.
func (inv *Invoice) reminderBlocker(c *Company) string {
	switch {
	case c == nil || c.Reminders.Empty():
		return "no_policy"
	case inv.Reminders.Paused:
		return "paused"
	case inv.processing():
		return "payment_processing"
	case inv.BalanceDue <= 0 || inv.PaidOnline():
		return "nothing_due"
	case inv.addressSuppressed():
		return "address_bounced"
	}
	return ""
}

// addressSuppressed reports whether the patient's address bounced for good
// or complained: no reminder goes to it (SES suspends senders whose bounce
// or complaint rates climb).
func (inv *Invoice) addressSuppressed() bool {
	for _, e := range inv.Emails {
		if strings.EqualFold(e.To, inv.Patient.Email) && e.suppresses() {
			return true
		}
	}
	return false
}
