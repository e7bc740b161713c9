package dynamostore

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/clinicpay/payments/internal/billing"
)

// TestCompanyAddressReadsBack: the address and the Terminal Location read
// back as written.
func TestCompanyAddressReadsBack(t *testing.T) {
	s, ctx := newStore(), context.Background()
	c := &billing.Company{ID: id("co-"), Name: "C", ReplyToEmail: "c@example.com", DefaultLanguage: billing.French,
		StripeAccountID: id("acct_"), Version: 1, CreatedAt: t0, UpdatedAt: t0,
		Address:  &billing.Address{Line1: "1000 rue Sherbrooke O", Line2: "Bureau 200", City: "Montréal", State: "QC", PostalCode: "H3A 3G4", Country: "CA"},
		Location: &billing.TerminalLocation{ID: "tml_1", AccountID: "acct_1"}}
	if _, err := s.SaveCompany(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCompany(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Address, c.Address) || !reflect.DeepEqual(got.Location, c.Location) {
		t.Fatalf("%+v %+v", got.Address, got.Location)
	}
}

// TestReaders: readers read back as written, are listed under their
// clinic only, and their writes and deletes are conditional on the
// version.
func TestReaders(t *testing.T) {
	s, ctx := newStore(), context.Background()
	mine, theirs := id("co-"), id("co-")
	r := &billing.Reader{CompanyID: mine, ID: id("tmr_"), Label: "Front desk", DeviceType: "simulated_wisepos_e",
		Status: billing.ReaderOnline, LocationID: "tml_1", InvoiceID: "inv-1", Version: 1, CreatedAt: t0, UpdatedAt: t0}
	other := &billing.Reader{CompanyID: theirs, ID: id("tmr_"), Label: "Desk", Status: billing.ReaderOffline, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	for _, x := range []*billing.Reader{r, other} {
		if err := s.SaveReader(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"save version 1 again", func() error { return s.SaveReader(ctx, r) }, billing.ErrVersionConflict},
		{"save a version skipped", func() error { x := *r; x.Version = 3; return s.SaveReader(ctx, &x) }, billing.ErrVersionConflict},
		{"read it back", func() error {
			got, err := s.GetReader(ctx, mine, r.ID)
			if err == nil && !reflect.DeepEqual(got, r) {
				t.Errorf("got %+v\nwant %+v", got, r)
			}
			return err
		}, nil},
		{"read it under another clinic", func() error { _, err := s.GetReader(ctx, theirs, r.ID); return err }, billing.ErrNotFound},
		{"list", func() error {
			got, err := s.ListReaders(ctx, mine)
			if err == nil && (len(got) != 1 || got[0].ID != r.ID) {
				t.Errorf("listed %+v", got)
			}
			return err
		}, nil},
		{"save version 2", func() error { x := *r; x.Version, x.InvoiceID = 2, ""; return s.SaveReader(ctx, &x) }, nil},
		{"delete a stale version", func() error { return s.DeleteReader(ctx, mine, r.ID, 1) }, billing.ErrVersionConflict},
		{"delete under another clinic", func() error { return s.DeleteReader(ctx, theirs, r.ID, 2) }, billing.ErrVersionConflict},
		{"delete", func() error { return s.DeleteReader(ctx, mine, r.ID, 2) }, nil},
		{"read it deleted", func() error { _, err := s.GetReader(ctx, mine, r.ID); return err }, billing.ErrNotFound},
		{"the other clinic's is there", func() error { _, err := s.GetReader(ctx, theirs, other.ID); return err }, nil},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.want) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}
}
