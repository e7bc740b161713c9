package billing

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
)

// MaxReaders is how many Terminal readers a clinic may register: a front
// desk has a few; fifty is a clinic network's worth, and the bound keeps
// GET /readers one page and one round of Stripe reads.
const MaxReaders = 50

// ReaderInput is what POST /readers asks for (its body, as httpapi
// decodes it).
type ReaderInput struct {
	// RegistrationCode is the code the reader shows (three words), or
	// simulated-wpe for a simulated reader in Stripe's test mode.
	RegistrationCode string
	// Label names the reader for the staff ("Front desk").
	Label string
}

// Validate checks the input against the contract's rules.
func (in *ReaderInput) Validate() error {
	code := in.RegistrationCode
	if err := checkText("registrationCode", code, 1, 100); err != nil {
		return err
	}
	if !allOf(code, "-") {
		return Invalid("registrationCode", "registrationCode must be the code the reader shows: letters, digits and '-'")
	}
	// Stripe's limit on a reader's label.
	if err := checkText("label", in.Label, 1, 64); err != nil {
		return err
	}
	return nil
}

// ValidReaderID reports whether id looks like a Stripe reader id (tmr_…).
func ValidReaderID(id string) bool {
	rest, ok := strings.CutPrefix(id, "tmr_")
	return ok && len(rest) >= 1 && len(rest) <= 250 && allOf(rest, "")
}

// readerScope checks that the caller acts for a clinic (its own readers
// only, the tenant from the token), as an admin when admin is set.
func readerScope(caller Caller, admin bool) error {
	switch {
	case caller.Tenant == "":
		return Errorf(CodeForbidden, "readers belong to a billing company: use a token that names one")
	case admin && !caller.mayManage(caller.Tenant):
		return Errorf(CodeForbidden, "registering and deleting readers needs the billing:admin scope")
	}
	return nil
}

// RegisterReader registers a Terminal reader for the caller's clinic, at
// its Location (made first, once, from its address). requestKey is the
// request's Idempotency-Key, "" when it has none: with it, a retry after a
// lost answer or a crash gets the same reader from Stripe, not a second.
func (s *Service) RegisterReader(ctx context.Context, caller Caller, in *ReaderInput, requestKey string) (*Reader, error) {
	if err := readerScope(caller, true); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c, err := s.readerCompany(ctx, caller.Tenant)
	if err != nil {
		return nil, err
	}
	if c.Address == nil {
		return nil, Errorf(CodeAddressRequired, "the billing company has no address: Stripe needs one for the clinic's Terminal Location (PUT /billing-companies/{companyId} with address)")
	}
	// A first look spares Stripe a registration bound to be refused; the
	// write that keeps the reader decides (registrations race).
	have, err := s.readers.ListReaders(ctx, c.ID)
	if err != nil {
		return nil, storeError("list readers", err)
	}
	if len(have) >= MaxReaders {
		return nil, readerLimit()
	}
	loc, err := s.terminalLocation(ctx, c)
	if err != nil {
		return nil, err
	}
	if requestKey == "" {
		requestKey = s.newToken() // no key from the client: no replay either
	}
	tr, err := s.terminal.RegisterReader(ctx, c.StripeAccountID, loc.ID, in.RegistrationCode, in.Label,
		"clinicpay/v1/"+c.ID+"/reader/"+requestKey)
	if err != nil {
		return nil, err
	}
	r, err := s.keepReader(ctx, c.ID, tr, loc.ID)
	if errors.Is(err, ErrReaderLimit) {
		// Another registration took the last place meanwhile: the reader
		// Stripe registered for this one goes, so none is left unlisted.
		return nil, errors.Join(readerLimit(), s.terminal.DeleteReader(ctx, c.StripeAccountID, tr.ID))
	}
	return r, err
}

func readerLimit() *Error {
	return Errorf(CodeLimitReached, "the billing company has %d readers, the most it may have: delete one first", MaxReaders)
}

// readerCompany reads the caller's clinic and checks that it can have
// readers: a record and a connected Stripe account.
func (s *Service) readerCompany(ctx context.Context, companyID string) (*Company, error) {
	c, err := s.store.GetCompany(ctx, companyID)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeBillingCompanyNotConfigured, "the billing company has no record yet: save its name, reply-to address and address first")
	}
	if err != nil {
		return nil, storeError("read company", err)
	}
	if e := c.linkBlocker(); e != nil {
		return nil, e
	}
	return c, nil
}

// terminalLocation returns the clinic's Location on its connected account
// at its address, making it at Stripe the first time (and again after the
// account or the address changed: Stripe can't move a reader, so the
// readers registered before stay at the Location they were registered
// to). The idempotency key names the account and the address, so a retry
// (or a concurrent registration) makes one Location, and a changed
// address within Stripe's 24 hours of keys is a new request rather than
// a refused one.
func (s *Service) terminalLocation(ctx context.Context, c *Company) (*TerminalLocation, error) {
	saved, err := s.changeCompany(ctx, c.ID, func(stored *Company) (*Company, error) {
		// Changed meanwhile (its admin, an account event, a concurrent
		// registration): decided again on the stored record; Stripe
		// replays the same Location.
		if stored == nil || stored.Address == nil {
			return nil, Errorf(CodeAddressRequired, "the billing company has no address")
		}
		hash := addressHash(stored.Address)
		if l := stored.Location; l != nil && l.AccountID == stored.StripeAccountID && l.AddressHash == hash {
			return nil, errNoChange
		}
		key := "clinicpay/v1/" + stored.ID + "/location/" + stored.StripeAccountID + "/" + hash
		id, err := s.terminal.CreateLocation(ctx, stored.StripeAccountID, stored.Name, *stored.Address, key)
		if err != nil {
			return nil, err
		}
		next := *stored
		next.Location = &TerminalLocation{ID: id, AccountID: stored.StripeAccountID, AddressHash: hash}
		next.UpdatedAt = s.clock()
		return &next, nil
	})
	if err != nil {
		return nil, err
	}
	return saved.Location, nil
}

func addressHash(a *Address) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country}, "\n")))
	return hex.EncodeToString(sum[:8])
}

// keepReader records a reader Stripe registered. A retry of the same
// request finds it recorded (Stripe replayed the registration) and answers
// it again.
func (s *Service) keepReader(ctx context.Context, companyID string, tr *TerminalReader, locationID string) (*Reader, error) {
	now := s.clock()
	r := &Reader{CompanyID: companyID, ID: tr.ID, Label: tr.Label, DeviceType: tr.DeviceType, Status: tr.Status,
		LocationID: locationID, Version: 1, CreatedAt: now, UpdatedAt: now}
	if tr.LocationID != "" {
		r.LocationID = tr.LocationID
	}
	err := s.readers.SaveReader(ctx, r)
	if errors.Is(err, ErrVersionConflict) {
		stored, gerr := s.readers.GetReader(ctx, companyID, tr.ID)
		if gerr != nil {
			return nil, storeError("read reader", gerr)
		}
		return stored, nil
	}
	if errors.Is(err, ErrReaderLimit) {
		return nil, err
	}
	if err != nil {
		return nil, storeError("save reader", err)
	}
	return r, nil
}

// ListReaders returns the clinic's readers, each with its status as Stripe
// says it now (read in parallel; the last one known when Stripe can't be
// asked), oldest first.
func (s *Service) ListReaders(ctx context.Context, caller Caller) ([]Reader, error) {
	if err := readerScope(caller, false); err != nil {
		return nil, err
	}
	readers, err := s.readers.ListReaders(ctx, caller.Tenant)
	if err != nil {
		return nil, storeError("list readers", err)
	}
	slices.SortFunc(readers, func(a, b Reader) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	if len(readers) == 0 {
		return readers, nil
	}
	// Without a readable, connected account the stored status is all
	// there is to show.
	if c, err := s.store.GetCompany(ctx, caller.Tenant); err == nil && c.Connected() {
		s.refreshStatus(ctx, c.StripeAccountID, readers)
	}
	return readers, nil
}

// readerReads bounds the Stripe reads of one GET /readers.
const readerReads = 8

// refreshStatus sets each reader's status from Stripe. A reader Stripe no
// longer has (deleted in the clinic's Dashboard) shows offline: it can
// take no payment; its admin deletes it here.
func (s *Service) refreshStatus(ctx context.Context, accountID string, readers []Reader) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, readerReads)
	for i := range readers {
		wg.Add(1)
		slots <- struct{}{}
		go func(r *Reader) {
			defer func() { <-slots; wg.Done() }()
			tr, err := s.terminal.Reader(ctx, accountID, r.ID)
			switch {
			case errors.Is(err, ErrUnknownReader):
				r.Status = ReaderOffline
			case err == nil && (tr.Status == ReaderOnline || tr.Status == ReaderOffline):
				r.Status = tr.Status
			}
		}(&readers[i])
	}
	wg.Wait()
}

// DeleteReader deletes one of the clinic's readers, at Stripe and here;
// one taking a payment is refused reader_busy. It is deleted at Stripe
// first: a failure there leaves it listed, so the delete can be retried.
func (s *Service) DeleteReader(ctx context.Context, caller Caller, readerID string) error {
	if err := readerScope(caller, true); err != nil {
		return err
	}
	if !ValidID(readerID) {
		return Invalid("readerId", "readerId must be a reader's id as POST /readers gave it (tmr_…)")
	}
	if !ValidReaderID(readerID) {
		return notFound("reader") // an id of the path's pattern that no reader can have
	}
	_, err := retrying(ctx, contention, func() (struct{}, error) {
		return struct{}{}, s.deleteReaderOnce(ctx, caller, readerID)
	})
	return err
}

// deleteReaderOnce deletes a free reader at Stripe, then here, on
// condition that it is still the version read (errRetry otherwise).
func (s *Service) deleteReaderOnce(ctx context.Context, caller Caller, readerID string) error {
	// Looked up under the caller's clinic first: another clinic's
	// reader is not found, and its id never reaches Stripe.
	r, err := s.reader(ctx, caller.Tenant, readerID)
	if err != nil {
		return err
	}
	if r.InvoiceID != "" {
		return Errorf(CodeReaderBusy, "the reader is taking a payment: cancel it or wait for it to finish")
	}
	c, err := s.store.GetCompany(ctx, caller.Tenant)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeError("read company", err)
	}
	// A clinic that disconnected its account can't reach the reader at
	// Stripe any more; it is only forgotten here.
	if c.Connected() {
		if err := s.terminal.DeleteReader(ctx, c.StripeAccountID, r.ID); err != nil {
			return err
		}
	}
	err = s.readers.DeleteReader(ctx, caller.Tenant, r.ID, r.Version)
	switch {
	case errors.Is(err, ErrVersionConflict):
		return errRetry // a payment took it, or Stripe's news changed it: decide again
	case errors.Is(err, ErrNotFound):
		return nil // deleted meanwhile by the same request's retry
	case err != nil:
		return storeError("delete reader", err)
	}
	return nil
}
