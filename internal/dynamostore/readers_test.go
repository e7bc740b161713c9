package dynamostore

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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

// TestReaderLimitRace: registrations racing for a clinic's last places
// (against DynamoDB Local) fill exactly those places: each new reader is
// counted in the write that puts it. A clinic whose readers were stored
// before they were counted ("uncounted") is counted first. A delete makes
// one place.
func TestReaderLimitRace(t *testing.T) {
	cases := []struct {
		name       string
		have       int
		uncounted  bool
		racers     int
		wins       int
		afterwards int
	}{
		{name: "one place, sixteen racers", have: billing.MaxReaders - 1, racers: 16, wins: 1},
		{name: "five places, sixteen racers", have: billing.MaxReaders - 5, racers: 16, wins: 5},
		{name: "full", have: billing.MaxReaders, racers: 4, wins: 0},
		{name: "uncounted, one place", have: billing.MaxReaders - 1, uncounted: true, racers: 8, wins: 1},
		// A new clinic's first readers, registered at once: whoever
		// counts first, the others are counted after it, not refused.
		{name: "a new clinic", have: 0, racers: 16, wins: 16},
		{name: "uncounted, places to spare", have: 3, uncounted: true, racers: 16, wins: 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ctx := newStore(), context.Background()
			company := id("co-")
			newReader := func() *billing.Reader {
				return &billing.Reader{CompanyID: company, ID: id("tmr_"), Label: "Desk", Status: billing.ReaderOnline, Version: 1, CreatedAt: t0, UpdatedAt: t0}
			}
			for range tc.have {
				if err := putReader(ctx, s, newReader(), tc.uncounted); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, tc.racers)
			var wg sync.WaitGroup
			for i := range tc.racers {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = s.SaveReader(ctx, newReader()) }()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, billing.ErrReaderLimit):
					t.Fatalf("a racer: %v", err)
				}
			}
			listed, err := s.ListReaders(ctx, company)
			if err != nil || wins != tc.wins || len(listed) != tc.have+tc.wins {
				t.Fatalf("%d won, %d listed (%v)", wins, len(listed), err)
			}
			// Full now (but the case with places to spare): a delete makes
			// room for one.
			if len(listed) == billing.MaxReaders {
				if err := s.DeleteReader(ctx, company, listed[0].ID, listed[0].Version); err != nil {
					t.Fatal(err)
				}
				if err := s.SaveReader(ctx, newReader()); err != nil {
					t.Fatalf("after a delete: %v", err)
				}
				if err := s.SaveReader(ctx, newReader()); !errors.Is(err, billing.ErrReaderLimit) {
					t.Fatalf("full again: %v", err)
				}
			}
		})
	}
}

// putReader stores a new reader, counted, or (uncounted) as the store did
// before it counted them.
func putReader(ctx context.Context, s *Store, r *billing.Reader, uncounted bool) error {
	if !uncounted {
		return s.SaveReader(ctx, r)
	}
	item, err := attributevalue.MarshalMap(toReaderRecord(r))
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return err
}
