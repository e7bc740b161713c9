package billing

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Refunding an in-person payment at the front desk: Stripe refunds an
// Interac payment only on a reader, with the card presented again
// (refund_payment). The refund attempt lives on the invoice, as a reader
// payment's attempt does, so one conditional write decides it against the
// invoice's other attempts and refunds. It is not money: the refund itself
// comes from Stripe's refund events (charge.refunded,
// charge.refund.updated), read from Stripe as any refund is; the attempt
// only holds the reader and the amount being asked for.

// MaxReaderRefunds keeps one invoice's history (stored with it) small.
const MaxReaderRefunds = 50

// MetaRefundAttempt is the refund_payment metadata key naming its refund
// attempt: the reader's events carry it back.
const MetaRefundAttempt = "refund_attempt"

// ReaderRefund is one try at refunding part or all of an in-person
// payment on a reader. Its statuses are the reader attempt's: starting,
// waiting_for_card, then succeeded, failed (Reason: Stripe's failure
// code, or why it never reached the reader) or canceled.
type ReaderRefund struct {
	ID string // rfa_…
	// Number orders the invoice's refund attempts; it is part of the
	// attempt's Stripe idempotency keys.
	Number          int
	ReaderID        string
	AccountID       string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          string
	Reason          string
	// Tries counts the refund_payment calls recorded: each try has its
	// own key (Stripe keeps a timeout's answer under its key).
	Tries      int
	RequestKey string
	// Until is the end of the lease of a starting attempt.
	Until time.Time
	// RefundID is the refund Stripe made (re_…), once it succeeded.
	RefundID  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InProgress reports a refund attempt that holds its reader and the
// amount it asks for.
func (r *ReaderRefund) InProgress() bool {
	return r != nil && (r.Status == ReaderStarting || r.Status == ReaderWaiting)
}

// ReaderRefundInput is what POST /invoices/{invoiceId}/reader-refund asks.
type ReaderRefundInput struct {
	ReaderID        string
	PaymentIntentID string
	Amount          int64
}

// Validate checks the input against the contract's rules.
func (in *ReaderRefundInput) Validate() error {
	switch {
	case !ValidID(in.ReaderID):
		return Invalid("readerId", "readerId must be a reader's id (tmr_…)")
	case !ValidID(in.PaymentIntentID) || !strings.HasPrefix(in.PaymentIntentID, "pi_"):
		return Invalid("paymentIntentId", "paymentIntentId must be the id of one of the invoice's payments (pi_…)")
	case in.Amount <= 0 || in.Amount > MaxAmount:
		return Invalid("amount", "amount must be a whole number of cents from 1 to 99999999")
	}
	return nil
}

// ReaderRefund returns the invoice's last refund attempt, or nil.
func (inv *Invoice) ReaderRefund() *ReaderRefund {
	if len(inv.ReaderRefunds) == 0 {
		return nil
	}
	return &inv.ReaderRefunds[len(inv.ReaderRefunds)-1]
}

func (inv *Invoice) refundAttempt(id string) *ReaderRefund {
	for i := range inv.ReaderRefunds {
		if id != "" && inv.ReaderRefunds[i].ID == id {
			return &inv.ReaderRefunds[i]
		}
	}
	return nil
}

func (inv *Invoice) refundBy(requestKey string) *ReaderRefund {
	for i := range inv.ReaderRefunds {
		if requestKey != "" && inv.ReaderRefunds[i].RequestKey == requestKey {
			return &inv.ReaderRefunds[i]
		}
	}
	return nil
}

// staleRefund is a refund attempt left starting by a request whose lease
// ran out, or nil.
func (inv *Invoice) staleRefund(now time.Time) *ReaderRefund {
	for i := range inv.ReaderRefunds {
		if r := &inv.ReaderRefunds[i]; r.Status == ReaderStarting && !r.Until.After(now) {
			return r
		}
	}
	return nil
}

// refundHolds reports a refund attempt in progress on the reader.
func (inv *Invoice) refundHolds(readerID string) bool {
	return slices.ContainsFunc(inv.ReaderRefunds, func(r ReaderRefund) bool { return r.InProgress() && r.ReaderID == readerID })
}

// readerHeld reports the invoice holding the reader: a payment attempt
// that has not ended, or a refund in progress on it.
func (inv *Invoice) readerHeld(readerID string) bool {
	a := inv.ReaderPayment()
	return (a != nil && !a.ended() && a.ReaderID == readerID) || inv.refundHolds(readerID)
}

// refundable is what is left to refund of a payment: what was charged,
// less its refunds that did not fail, less what refund attempts are
// asking for on a reader (and what one that succeeded made, until
// Stripe's refund events record it).
func (inv *Invoice) refundable(p *Payment) int64 {
	if p.State != PaymentSucceeded {
		return 0
	}
	left := p.ChargedAmount
	if left == 0 {
		left = p.Amount
	}
	for _, r := range p.Refunds {
		if !r.Status.ended() {
			left -= r.Amount
		}
	}
	for i := range inv.ReaderRefunds {
		if r := &inv.ReaderRefunds[i]; r.PaymentIntentID == p.PaymentIntentID && (r.InProgress() || inv.refundUntold(r)) {
			left -= r.Amount
		}
	}
	return max(left, 0)
}

// refundKey is the Stripe idempotency key of one try of a refund attempt.
func refundKey(inv *Invoice, number, try int) string {
	return idempotencyKey(inv.CompanyID, inv.ID, number, "reader-refund-"+strconv.Itoa(try))
}

// StartReaderRefund asks one of the clinic's readers to refund amount of
// one of the invoice's in-person payments, and returns the attempt,
// waiting for the card. requestKey is the request's Idempotency-Key: a
// retry with it finishes the same attempt and never asks the reader twice.
func (s *Service) StartReaderRefund(ctx context.Context, caller Caller, invoiceID string, in *ReaderRefundInput, requestKey string) (*ReaderRefund, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return retrying(ctx, contention, func() (*ReaderRefund, error) {
		return s.startReaderRefund(ctx, caller.Tenant, invoiceID, in, requestKey)
	})
}

func (s *Service) startReaderRefund(ctx context.Context, tenant, invoiceID string, in *ReaderRefundInput, requestKey string) (*ReaderRefund, error) {
	inv, company, err := s.loadInvoice(ctx, tenant, invoiceID)
	if err != nil {
		return nil, err
	}
	if r := inv.refundBy(requestKey); r != nil {
		return s.resumeRefund(ctx, inv, r)
	}
	if r := inv.staleRefund(s.clock()); r != nil {
		// A request that gave up (a reader's timeout) or died left it
		// starting: it is finished first, with its own keys, and is the
		// answer to a request that asks the same.
		done, err := s.resumeRefund(ctx, inv, r)
		if err != nil || (r.ReaderID == in.ReaderID && r.PaymentIntentID == in.PaymentIntentID && r.Amount == in.Amount) {
			return done, err
		}
		return nil, errRetry // decide again with it finished
	}
	p := inv.payment(in.PaymentIntentID)
	if p == nil {
		return nil, notFound("payment")
	}
	reader, err := s.reader(ctx, tenant, in.ReaderID)
	if err != nil {
		return nil, err
	}
	if err := refundBlocker(inv, company, p, in); err != nil {
		return nil, err
	}
	if reader.InvoiceID != "" && reader.InvoiceID != inv.ID {
		if taken, err := s.readerTaken(ctx, reader); err != nil || taken {
			return nil, firstError(err, readerBusy())
		}
	}
	now := s.clock()
	r := ReaderRefund{ID: "rfa_" + s.newToken(), Number: len(inv.ReaderRefunds) + 1, ReaderID: reader.ID, AccountID: company.StripeAccountID,
		PaymentIntentID: p.PaymentIntentID, Amount: in.Amount, Currency: p.chargedCurrency(), Status: ReaderStarting,
		RequestKey: requestKey, Until: now.Add(leaseFor(ctx)), CreatedAt: now, UpdatedAt: now}
	// Written on the invoice as read: a refund or a payment that took
	// the amount or the reader meanwhile makes the write lose, and the
	// request decides again.
	stored, err := s.saveChange(ctx, inv, func(next *Invoice) error {
		next.ReaderRefunds = append(next.ReaderRefunds, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.driveRefund(ctx, stored, r.ID)
}

// refundBlocker says why this refund can't be asked of a reader now.
func refundBlocker(inv *Invoice, c *Company, p *Payment, in *ReaderRefundInput) error {
	switch {
	case p.ChannelName() != ChannelInPerson:
		return Invalid("paymentIntentId", "only an in-person payment is refunded on a reader: refund an online payment from the clinic's Stripe Dashboard")
	case in.Amount > inv.refundable(p):
		return Errorf(CodeRefundExceedsPayment, "the refund is more than what is left to refund of that payment (%d)", inv.refundable(p))
	case inv.readerHeld(in.ReaderID):
		return readerBusy()
	case len(inv.ReaderRefunds) >= MaxReaderRefunds:
		return Errorf(CodeLimitReached, "this invoice already had %d refunds on a reader; contact support", MaxReaderRefunds)
	}
	if e := c.linkBlocker(); e != nil {
		return e // the clinic's account, disconnected or unusable
	}
	return nil
}

func (p *Payment) chargedCurrency() string {
	if p.ChargedCurrency != "" {
		return p.ChargedCurrency
	}
	return p.Currency
}

// resumeRefund answers a retry of a request whose attempt was recorded:
// as it stands, or finished with the same keys when its request gave up
// (a reader's timeout) or died.
func (s *Service) resumeRefund(ctx context.Context, inv *Invoice, r *ReaderRefund) (*ReaderRefund, error) {
	if r.Status != ReaderStarting {
		return r, nil
	}
	if wait := r.Until.Sub(s.clock()); wait > 0 {
		return nil, Busy(CodeConflict, "this refund on a reader is starting", wait)
	}
	id := r.ID
	claimed, err := s.updateRefund(ctx, inv, id, func(x *ReaderRefund) error {
		if x.Status != ReaderStarting || x.Until.After(s.clock()) {
			return errRetry // finished or taken over meanwhile
		}
		x.Until = s.clock().Add(leaseFor(ctx))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.driveRefund(ctx, claimed, id)
}

// driveRefund carries out a claimed refund attempt: the reader marked
// busy, then asked to refund (refund_payment), then the attempt recorded
// waiting for the card.
func (s *Service) driveRefund(ctx context.Context, inv *Invoice, id string) (*ReaderRefund, error) {
	r := *inv.refundAttempt(id)
	if err := s.holdReader(ctx, inv, r.ReaderID); err != nil {
		if ErrorCode(err) == CodeReaderBusy || ErrorCode(err) == CodeNotFound {
			return nil, s.failRefund(ctx, inv, &r, err)
		}
		return nil, errors.Join(err, s.releaseRefund(ctx, inv, id))
	}
	_, err := s.terminal.RefundOnReader(ctx, &NewReaderRefund{AccountID: r.AccountID, ReaderID: r.ReaderID, PaymentIntentID: r.PaymentIntentID,
		Amount: r.Amount, Metadata: map[string]string{MetaCompanyID: inv.CompanyID, MetaInvoiceID: inv.ID, MetaRefundAttempt: r.ID},
		IdempotencyKey: refundKey(inv, r.Number, r.Tries+1)})
	switch {
	case ErrorCode(err) == CodeReaderBusy && s.readerRefunds(ctx, &r):
		err = nil // an earlier try reached the reader after all
	case errors.Is(err, ErrUnknownReader) || errors.Is(err, ErrUnknownCharge):
		// Not on the clinic's account at Stripe (deleted there, or the
		// account changed): a refusal, not an outage.
		err = &Error{Code: CodeNotFound, Message: "Stripe has no such reader or payment on the clinic's account", Err: err}
	}
	r.Tries++
	if err != nil {
		return nil, s.failRefund(ctx, inv, &r, err)
	}
	stored, err := s.updateRefund(ctx, inv, id, func(x *ReaderRefund) error {
		if x.Status == ReaderStarting {
			x.Status, x.Until = ReaderWaiting, time.Time{}
		}
		x.Tries = r.Tries
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored.refundAttempt(id), nil
}

// readerRefunds reports the reader taking this very refund attempt (a try
// whose answer was lost reached it).
func (s *Service) readerRefunds(ctx context.Context, r *ReaderRefund) bool {
	tr, err := s.terminal.Reader(ctx, r.AccountID, r.ReaderID)
	return err == nil && tr.Action != nil && tr.Action.Type == ReaderActionRefundPayment &&
		tr.Action.Metadata[MetaRefundAttempt] == r.ID && tr.Action.Status == "in_progress"
}

// failRefund records a try's failure. On an outage (a reader's timeout)
// the attempt stays starting, its lease let run out, so a retry with the
// same Idempotency-Key finishes it; a refusal ends it and frees the
// reader.
func (s *Service) failRefund(ctx context.Context, inv *Invoice, r *ReaderRefund, cause error) error {
	retryable := readerRetryable(cause)
	stored, err := s.updateRefund(context.WithoutCancel(ctx), inv, r.ID, func(x *ReaderRefund) error {
		x.Tries, x.Until = r.Tries, time.Time{}
		if !retryable && x.Status == ReaderStarting {
			x.Status, x.Reason = ReaderFailed, string(ErrorCode(cause))
		}
		return nil
	})
	if retryable {
		hintRetry(cause)
	} else if err == nil {
		err = s.freeReader(ctx, stored, r.ReaderID)
	}
	return errors.Join(cause, err)
}

// releaseRefund lets a starting attempt's lease run out now, for a retry
// to finish it.
func (s *Service) releaseRefund(ctx context.Context, inv *Invoice, id string) error {
	_, err := s.updateRefund(context.WithoutCancel(ctx), inv, id, func(x *ReaderRefund) error {
		x.Until = time.Time{}
		return nil
	})
	return err
}

// updateRefund changes a refund attempt by a conditional write
// (changeItem).
func (s *Service) updateRefund(ctx context.Context, inv *Invoice, id string, change func(*ReaderRefund) error) (*Invoice, error) {
	return changeItem(ctx, s, inv, func(next *Invoice) *ReaderRefund { return next.refundAttempt(id) },
		func(r *ReaderRefund, now time.Time) error {
			if err := change(r); err != nil {
				return err
			}
			r.UpdatedAt = now
			return nil
		})
}
