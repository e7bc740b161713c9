package billing

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"
)

// Paying an invoice at the front desk, on one of the clinic's Stripe
// Terminal readers (server-driven). The attempt lives on the invoice, so
// one conditional write decides it with the invoice's money; its Stripe
// steps (PaymentIntent, reader action, capture, cancel) carry idempotency
// keys derived from the attempt's number, so a request that died half-way
// is finished by the next one with the same Stripe objects, as a link's
// change is (lease.go).

// ReaderAttempt statuses.
const (
	// ReaderStarting: claimed; the reader and Stripe are being asked (a
	// lease on the attempt until Until).
	ReaderStarting = "starting"
	// ReaderWaiting: the reader shows the amount and waits for a card.
	ReaderWaiting = "waiting_for_card"
	// ReaderDeclined: the card was declined or the patient canceled at the
	// reader; a new POST sends the same PaymentIntent again.
	ReaderDeclined = "declined"
	// ReaderCapturing: authorized while the invoice owed exactly its
	// amount; the service captures it.
	ReaderCapturing = "capturing"
	ReaderSucceeded = "succeeded"
	ReaderCanceled  = "canceled"
	// ReaderFailed: the payment never reached the reader (busy, offline,
	// refused by Stripe).
	ReaderFailed = "failed"
)

// Reasons recorded on an attempt or a link.
const (
	// ReasonInPersonPayment: the link was ended because the invoice is
	// being paid on a reader.
	ReasonInPersonPayment = "in_person_payment"
	// ReasonAlreadyPaid: a card was authorized after the balance was paid
	// another way; the authorization was canceled, never captured.
	ReasonAlreadyPaid = "already_paid"
	// ReasonCanceledByStaff: staff canceled the attempt.
	ReasonCanceledByStaff = "canceled_by_staff"
	// ReasonTimedOut: the reader waited for a card longer than
	// ReaderWaitLimit; the scheduler canceled the attempt.
	ReasonTimedOut = "timed_out"
	// ReasonLinkActive: a card was authorized on an attempt declined
	// earlier, while a payment link made since could be paid; the
	// authorization was canceled.
	ReasonLinkActive = "payment_link_active"
)

// Payment channels.
const (
	ChannelOnlineLink = "online_link"
	ChannelInPerson   = "in_person"
)

// Owed Stripe calls an attempt's decision left to make.
const (
	owedCapture = "capture"
	owedCancel  = "cancel"
)

// MaxReaderAttempts keeps one invoice's history (stored with it) small.
const MaxReaderAttempts = 50

// ReaderAttempt is one try at taking the invoice's balance on a reader.
type ReaderAttempt struct {
	ID string
	// Number orders the invoice's attempts; it is part of the attempt's
	// Stripe idempotency keys and of the PaymentIntent's metadata.
	Number          int
	ReaderID        string
	AccountID       string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string
	Reason          string
	// Tries counts the process_payment_intent calls recorded: each try
	// has its own key (Stripe keeps a timeout's answer under its key).
	Tries      int
	RequestKey string
	// Until is the end of the lease of a starting attempt: past it, the
	// request that claimed it died and the next one finishes it.
	Until time.Time
	// Owed is the Stripe call decided and not yet seen done (capture,
	// cancel).
	Owed string
	// SentAt is when the reader was last asked for the card (the
	// attempt recorded waiting_for_card); zero before.
	SentAt time.Time
	// Method is how the patient paid (card_present or interac_present,
	// the brand, the last four digits).
	Method    *PaymentMethod
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InProgress reports an attempt that holds the invoice: until it ends, no
// link is made and the amounts don't change.
func (a *ReaderAttempt) InProgress() bool {
	return a != nil && (a.Status == ReaderStarting || a.Status == ReaderWaiting || a.Status == ReaderCapturing)
}

// ended reports an attempt whose reader is free again.
func (a *ReaderAttempt) ended() bool {
	return a.Status != ReaderStarting && a.Status != ReaderWaiting
}

// ReaderPayment returns the invoice's last reader attempt, or nil.
func (inv *Invoice) ReaderPayment() *ReaderAttempt {
	if len(inv.ReaderAttempts) == 0 {
		return nil
	}
	return &inv.ReaderAttempts[len(inv.ReaderAttempts)-1]
}

func (inv *Invoice) attempt(id string) *ReaderAttempt {
	for i := range inv.ReaderAttempts {
		if inv.ReaderAttempts[i].ID == id {
			return &inv.ReaderAttempts[i]
		}
	}
	return nil
}

// attemptOfIntent returns the last attempt that sent that PaymentIntent.
func (inv *Invoice) attemptOfIntent(pi string) *ReaderAttempt {
	for i := len(inv.ReaderAttempts) - 1; i >= 0; i-- {
		if pi != "" && inv.ReaderAttempts[i].PaymentIntentID == pi {
			return &inv.ReaderAttempts[i]
		}
	}
	return nil
}

func (inv *Invoice) attemptBy(requestKey string) *ReaderAttempt {
	for i := range inv.ReaderAttempts {
		if requestKey != "" && inv.ReaderAttempts[i].RequestKey == requestKey {
			return &inv.ReaderAttempts[i]
		}
	}
	return nil
}

// readerKey is the Stripe idempotency key of one step of an attempt.
func readerKey(inv *Invoice, number int, step string) string {
	return idempotencyKey(inv.CompanyID, inv.ID, number, "reader-"+step)
}

// MetaAttempt is the PaymentIntent metadata key naming its attempt.
const MetaAttempt = "attempt"

// newAttempt fixes what a new attempt asks of Stripe. The PaymentIntent
// of a declined (or never sent) earlier attempt for the same amount is
// sent again rather than a second one made.
func (inv *Invoice) newAttempt(c *Company, r *Reader, id, requestKey string, now, until time.Time) ReaderAttempt {
	a := ReaderAttempt{ID: id, Number: len(inv.ReaderAttempts) + 1, ReaderID: r.ID, AccountID: c.StripeAccountID,
		Amount: inv.BalanceDue, Currency: inv.Currency, Status: ReaderStarting, RequestKey: requestKey, Until: until,
		CreatedAt: now, UpdatedAt: now}
	if last := inv.ReaderPayment(); last.reusable() && last.Amount == a.Amount && last.Currency == a.Currency && last.AccountID == a.AccountID {
		a.PaymentIntentID = last.PaymentIntentID
	}
	return a
}

// reusable reports an attempt whose PaymentIntent still waits for a card:
// declined, or failed before it reached the reader. One whose capture or
// cancel Stripe refused holds an authorization (or a canceled
// PaymentIntent) that no reader can take again.
func (a *ReaderAttempt) reusable() bool {
	switch {
	case a == nil || a.PaymentIntentID == "":
		return false
	case a.Status == ReaderFailed:
		return a.Reason != ReasonCaptureRefused && a.Reason != ReasonCancelRefused
	}
	return a.Status == ReaderDeclined
}

// readerBlocker says why the invoice can't be paid on a reader now.
func readerBlocker(inv *Invoice, c *Company) error {
	if a := inv.ReaderPayment(); a.InProgress() {
		return Errorf(CodeReaderPaymentInProgress, "this invoice is already being paid on a reader")
	}
	if e := LinkBlocker(inv, c); e != nil && e.Code != CodeLimitReached {
		return e
	}
	if len(inv.ReaderAttempts) >= MaxReaderAttempts {
		return Errorf(CodeLimitReached, "this invoice already had %d reader payments; contact support", MaxReaderAttempts)
	}
	return nil
}

// StartReaderPayment sends the invoice's whole balance to one of the
// clinic's readers and returns the attempt, waiting for the card. The
// active link is ended first (removed, in_person_payment), so the patient
// can't pay twice. requestKey is the request's Idempotency-Key.
func (s *Service) StartReaderPayment(ctx context.Context, caller Caller, invoiceID, readerID, requestKey string) (*ReaderAttempt, error) {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, err
	}
	if !ValidID(readerID) {
		return nil, Invalid("readerId", "readerId must be a reader's id (tmr_…)")
	}
	return retrying(ctx, contention, func() (*ReaderAttempt, error) {
		return s.startReaderPayment(ctx, tenant, invoiceID, readerID, requestKey)
	})
}

func (s *Service) startReaderPayment(ctx context.Context, tenant, invoiceID, readerID, requestKey string) (*ReaderAttempt, error) {
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return nil, err
	}
	if inv, _, _, err = s.settle(ctx, inv, company); err != nil {
		return nil, err
	}
	if a := inv.attemptBy(requestKey); a != nil && a.Status != ReaderStarting {
		return a, nil // a retry of a request whose attempt was recorded
	}
	if a := inv.ReaderPayment(); a != nil && a.Status == ReaderStarting {
		return s.finishStale(ctx, inv, a, readerID)
	}
	if err := readerBlocker(inv, company); err != nil {
		return nil, err
	}
	reader, err := s.reader(ctx, tenant, readerID)
	if err != nil {
		return nil, err
	}
	if inv.refundHolds(readerID) {
		return nil, readerBusy() // refunding one of this invoice's payments
	}
	if reader.InvoiceID != "" && reader.InvoiceID != inv.ID {
		if taken, err := s.readerTaken(ctx, reader); err != nil || taken {
			return nil, firstError(err, readerBusy())
		}
	}
	now := s.clock()
	a := inv.newAttempt(company, reader, "rpa_"+s.newToken(), requestKey, now, now.Add(leaseFor(ctx)))
	if inv, err = s.claimAttempt(ctx, inv, company, a); err != nil {
		return nil, err
	}
	return s.driveAttempt(ctx, inv, a.ID)
}

// finishStale finishes an attempt whose request died (or gave up on a
// Stripe outage) with the same keys; a live one is another request at
// work. The finished attempt is this request's answer when it is for the
// same reader.
func (s *Service) finishStale(ctx context.Context, inv *Invoice, a *ReaderAttempt, readerID string) (*ReaderAttempt, error) {
	if wait := a.Until.Sub(s.clock()); wait > 0 {
		return nil, Busy(CodeConflict, "a reader payment for this invoice is starting", wait)
	}
	id, sameReader := a.ID, a.ReaderID == readerID
	claimed, err := s.updateAttempt(ctx, inv, id, func(x *ReaderAttempt) error {
		if x.Status != ReaderStarting || x.Until.After(s.clock()) {
			return errRetry // finished or taken over meanwhile
		}
		x.Until = s.clock().Add(leaseFor(ctx))
		return nil
	})
	if err != nil {
		return nil, err
	}
	done, err := s.driveAttempt(ctx, claimed, id)
	if err != nil || sameReader {
		return done, err
	}
	return nil, Errorf(CodeReaderPaymentInProgress, "this invoice is already being paid on another reader")
}

// claimAttempt writes the new attempt to the invoice, ending the active
// link at Stripe first (under the link's lease, in the write that records
// its end).
func (s *Service) claimAttempt(ctx context.Context, inv *Invoice, company *Company, a ReaderAttempt) (*Invoice, error) {
	if l := inv.ActiveLink(); l != nil {
		change := &LinkChange{End: &LinkEnd{Generation: l.Generation, Status: LinkRemoved, Reason: ReasonInPersonPayment}}
		stored, _, err := s.carryOut(ctx, inv, company, change, &attemptClaim{attempt: a, company: company})
		return stored, err
	}
	next, err := s.saveChange(ctx, inv, func(next *Invoice) error {
		next.ReaderAttempts = append(next.ReaderAttempts, a)
		return nil
	})
	if err != nil && !lostRace(err) {
		return nil, storeError("start reader payment", err)
	}
	return next, err
}

// attemptClaim is the lease's work of a reader payment that ends the
// active link first: the attempt is added in the write that records the
// link's end, if the invoice still owes what the attempt takes.
type attemptClaim struct {
	noWork
	attempt ReaderAttempt
	company *Company
}

func (w *attemptClaim) recheck(cur *Invoice) error {
	if err := readerBlocker(cur, w.company); err != nil {
		return err
	}
	if cur.refundHolds(w.attempt.ReaderID) {
		return readerBusy()
	}
	if cur.BalanceDue != w.attempt.Amount || cur.Currency != w.attempt.Currency {
		return errRetry // paid meanwhile: decide again
	}
	return nil
}

func (w *attemptClaim) finish(next *Invoice) {
	next.ReaderAttempts = append(next.ReaderAttempts, w.attempt)
}

// driveAttempt carries out a claimed attempt's steps: the reader is marked
// busy, the PaymentIntent made (or the earlier one reused) and sent to the
// reader, then the attempt recorded waiting for the card.
func (s *Service) driveAttempt(ctx context.Context, inv *Invoice, id string) (*ReaderAttempt, error) {
	a := *inv.attempt(id)
	if err := s.holdReader(ctx, inv, a.ReaderID); err != nil {
		if ErrorCode(err) == CodeReaderBusy || ErrorCode(err) == CodeNotFound {
			return nil, s.failAttempt(ctx, inv, &a, err)
		}
		return nil, errors.Join(err, s.releaseAttempt(ctx, inv, &a))
	}
	if a.PaymentIntentID == "" {
		pi, err := s.terminal.CreateReaderPaymentIntent(ctx, &NewReaderPayment{
			AccountID: a.AccountID, Amount: a.Amount, Currency: a.Currency, Methods: readerMethods(a.Currency),
			Metadata:       map[string]string{MetaCompanyID: inv.CompanyID, MetaInvoiceID: inv.ID, MetaAttempt: strconv.Itoa(a.Number)},
			IdempotencyKey: readerKey(inv, a.Number, "intent"),
		})
		if err != nil {
			return nil, s.failAttempt(ctx, inv, &a, err)
		}
		a.PaymentIntentID = pi.ID
	}
	_, err := s.terminal.ProcessPaymentIntent(ctx, a.AccountID, a.ReaderID, a.PaymentIntentID, readerKey(inv, a.Number, "process-"+strconv.Itoa(a.Tries+1)))
	if ErrorCode(err) == CodeReaderBusy && s.readerTakes(ctx, &a) {
		err = nil // an earlier try reached the reader after all
	}
	a.Tries++
	if err != nil {
		return nil, s.failAttempt(ctx, inv, &a, err)
	}
	stored, err := s.updateAttempt(ctx, inv, id, func(x *ReaderAttempt) error {
		if x.Status == ReaderStarting {
			x.Status, x.Until, x.SentAt = ReaderWaiting, time.Time{}, s.clock()
		}
		x.PaymentIntentID, x.Tries = a.PaymentIntentID, a.Tries
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored.attempt(id), nil
}

// readerTakes reports the reader busy with this very attempt's
// PaymentIntent (a try whose answer was lost reached it).
func (s *Service) readerTakes(ctx context.Context, a *ReaderAttempt) bool {
	r, err := s.terminal.Reader(ctx, a.AccountID, a.ReaderID)
	return err == nil && r.Action != nil && r.Action.Type == ReaderActionProcessPayment &&
		r.Action.PaymentIntentID == a.PaymentIntentID && r.Action.Status == "in_progress"
}

func readerMethods(currency string) []string {
	if currency == "cad" {
		return []string{MethodCardPresent, MethodInteracPresent}
	}
	return []string{MethodCardPresent}
}

// failAttempt records a step's failure. On an outage (a reader's timeout)
// the attempt stays starting, its lease let run out, so a retry finishes
// it with the same PaymentIntent; a refusal ends it and frees the reader.
//
// The write outlives the request's context: a reader's timeout may have
// used it up, and an attempt left leased would answer "starting" until
// the lease ran out.
func (s *Service) failAttempt(ctx context.Context, inv *Invoice, a *ReaderAttempt, cause error) error {
	retryable := readerRetryable(cause)
	stored, err := s.updateAttempt(context.WithoutCancel(ctx), inv, a.ID, func(x *ReaderAttempt) error {
		x.PaymentIntentID, x.Tries, x.Until = a.PaymentIntentID, a.Tries, time.Time{}
		if !retryable {
			x.Status, x.Reason = ReaderFailed, string(ErrorCode(cause))
		}
		return nil
	})
	if retryable {
		hintRetry(cause)
	} else if err == nil {
		err = s.freeReader(ctx, stored, a.ReaderID)
	}
	return errors.Join(cause, err)
}

// hintRetry gives a provider outage the usual Retry-After when Stripe
// named none.
func hintRetry(cause error) {
	var e *Error
	if errors.As(cause, &e) && e.RetryAfter == 0 && e.Code == CodePaymentProviderUnavailable {
		e.RetryAfter = TypicalHold
	}
}

// readerRetryable reports a failure after which the same step may
// succeed (an outage, a reader's timeout), unlike a refusal.
func readerRetryable(err error) bool {
	switch ErrorCode(err) {
	case CodeReaderBusy, CodeReaderOffline, CodeNotFound:
		return false
	}
	return transient(err)
}

// releaseAttempt lets a starting attempt's lease run out now, for the next
// request to finish it.
func (s *Service) releaseAttempt(ctx context.Context, inv *Invoice, a *ReaderAttempt) error {
	_, err := s.updateAttempt(context.WithoutCancel(ctx), inv, a.ID, func(x *ReaderAttempt) error {
		x.Until = time.Time{}
		return nil
	})
	return err
}

// updateAttempt changes an attempt by a conditional write (changeItem).
func (s *Service) updateAttempt(ctx context.Context, inv *Invoice, id string, change func(*ReaderAttempt) error) (*Invoice, error) {
	return changeItem(ctx, s, inv, func(next *Invoice) *ReaderAttempt { return next.attempt(id) },
		func(a *ReaderAttempt, now time.Time) error {
			if err := change(a); err != nil {
				return err
			}
			a.UpdatedAt = now
			return nil
		})
}

func readerBusy() *Error {
	return Errorf(CodeReaderBusy, "this reader is taking another payment")
}

// reader reads one of the tenant's readers: another clinic's is not found.
func (s *Service) reader(ctx context.Context, tenant, readerID string) (*Reader, error) {
	r, err := s.readers.GetReader(ctx, tenant, readerID)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound("reader")
	}
	if err != nil {
		return nil, storeError("read reader", err)
	}
	return r, nil
}

// readerTaken reports whether the invoice a reader is marked for still
// has an attempt in progress on it (a mark an attempt's end could not
// clear does not hold the reader).
func (s *Service) readerTaken(ctx context.Context, r *Reader) (bool, error) {
	inv, err := s.store.GetInvoice(ctx, r.CompanyID, r.InvoiceID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, storeError("read invoice", err)
	}
	a := inv.ReaderPayment()
	return (a.InProgress() && a.ReaderID == r.ID) || inv.refundHolds(r.ID), nil
}

// holdReader marks the reader busy with the invoice (a payment or a
// refund on it).
func (s *Service) holdReader(ctx context.Context, inv *Invoice, readerID string) error {
	err := s.changeReader(ctx, contention, inv.CompanyID, readerID, "hold reader", func(r *Reader) error {
		if r.InvoiceID == inv.ID {
			return errNoChange
		}
		if r.InvoiceID != "" {
			if taken, err := s.readerTaken(ctx, r); err != nil || taken {
				return firstError(err, readerBusy())
			}
		}
		r.InvoiceID = inv.ID
		return nil
	})
	if ErrorCode(err) == CodeConflict {
		return readerBusy() // lost to other writers every time
	}
	return err
}

// freeReader clears the reader's mark if it is still the invoice's,
// unless the invoice still holds it (a payment or a refund on it).
func (s *Service) freeReader(ctx context.Context, inv *Invoice, readerID string) error {
	if inv.readerHeld(readerID) {
		return nil
	}
	err := s.changeReader(ctx, commitPolicy, inv.CompanyID, readerID, "free reader", func(r *Reader) error {
		if r.InvoiceID != inv.ID {
			return errNoChange
		}
		r.InvoiceID = ""
		return nil
	})
	if ErrorCode(err) == CodeNotFound {
		return nil // deleted: nothing holds it
	}
	return err
}

// CancelReaderPayment cancels the invoice's attempt: the reader's action,
// then its PaymentIntent. Once the card was presented Stripe refuses, and
// the outcome is honoured: 409 reader_payment_completing.
func (s *Service) CancelReaderPayment(ctx context.Context, caller Caller, invoiceID string) (*ReaderAttempt, error) {
	tenant := caller.Tenant
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, err
	}
	inv, _, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return nil, err
	}
	a := inv.ReaderPayment()
	if a != nil && a.Status == ReaderStarting {
		if a, err = s.finishStale(ctx, inv, a, a.ReaderID); err != nil {
			return nil, err
		}
		if inv, err = s.store.GetInvoice(ctx, tenant, invoiceID); err != nil {
			return nil, storeError("read invoice", err)
		}
	}
	switch {
	case a == nil:
		return nil, Errorf(CodeNotFound, "this invoice has no reader payment")
	case a.Status == ReaderCanceled && a.Owed == "":
		return a, s.freeReader(ctx, inv, a.ReaderID)
	case a.Status == ReaderSucceeded || a.Status == ReaderCapturing || a.Owed != "":
		return nil, completing()
	}
	return s.cancelAttempt(ctx, inv, *a, ReasonCanceledByStaff)
}

func completing() *Error {
	return Errorf(CodeReaderPaymentCompleting, "the card was presented: the payment is completing and can't be canceled")
}

// cancelAttempt cancels the reader's action, then the PaymentIntent, and
// records the attempt canceled for reason; completing() once the card was
// presented.
func (s *Service) cancelAttempt(ctx context.Context, inv *Invoice, a ReaderAttempt, reason string) (*ReaderAttempt, error) {
	if a.Status == ReaderWaiting {
		if err := s.cancelAction(ctx, inv, &a); err != nil {
			return nil, err
		}
	}
	if a.PaymentIntentID != "" {
		_, err := s.terminal.CancelPaymentIntent(ctx, a.AccountID, a.PaymentIntentID, readerKey(inv, a.Number, "cancel"))
		switch {
		case errors.Is(err, ErrUnknownCharge):
		case ErrorCode(err) == CodePaymentProviderError:
			return nil, completing() // captured already (Interac): Stripe refuses
		case err != nil:
			return nil, err
		}
	}
	stored, err := s.updateAttempt(ctx, inv, a.ID, func(x *ReaderAttempt) error {
		switch {
		case x.Status == ReaderSucceeded || x.Status == ReaderCapturing:
			return completing()
		case x.Status != ReaderCanceled:
			x.Status, x.Reason = ReaderCanceled, reason
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	done := stored.attempt(a.ID)
	return done, s.freeReader(ctx, stored, done.ReaderID)
}

// cancelAction stops the reader's action. Stripe refuses once the card
// was presented (terminal_reader_busy, or the action gone): unless the
// PaymentIntent still waits for a card (the action had just ended), the
// payment is completing and is honoured.
func (s *Service) cancelAction(ctx context.Context, inv *Invoice, a *ReaderAttempt) error {
	_, err := s.terminal.CancelReaderAction(ctx, a.AccountID, a.ReaderID, readerKey(inv, a.Number, "cancel-action-"+strconv.Itoa(a.Tries)))
	if err == nil {
		return nil
	}
	if code := ErrorCode(err); code != CodePaymentProviderError && code != CodeReaderBusy && !errors.Is(err, ErrUnknownReader) {
		return err
	}
	pi, rerr := s.terminal.ReaderPaymentIntent(ctx, a.AccountID, a.PaymentIntentID)
	if rerr != nil {
		return rerr
	}
	if pi.Status != "requires_payment_method" {
		return completing()
	}
	return nil
}

// checkReaderChange refuses a PUT that changes the amounts while an
// attempt is in progress: the reader asks the patient for the amount as
// it was.
func (inv *Invoice) checkReaderChange(have, want invoiceFields) error {
	if !inv.ReaderPayment().InProgress() {
		return nil
	}
	if have.Currency != want.Currency || have.Total != want.Total || have.BalanceDue != want.BalanceDue {
		return Errorf(CodeReaderPaymentInProgress, "this invoice is being paid on a reader: its total, currency and balanceDue can't change until it ends")
	}
	return nil
}

func cloneAttempts(as []ReaderAttempt) []ReaderAttempt {
	out := slices.Clone(as)
	for i := range out {
		if m := out[i].Method; m != nil {
			c := *m
			out[i].Method = &c
		}
	}
	return out
}
