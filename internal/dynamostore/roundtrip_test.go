package dynamostore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clinicpay/payments/internal/billing"
)

// Every field of the stored domain types reads back as written. The values
// are made by reflection, not by hand: a field added to billing.Invoice (or
// anything it holds) and forgotten by its record fails here without anyone
// editing this file.

// notStored lists the fields (Type.Field, in package billing) a read does
// not give back as written, each with the reason.
var notStored = map[string]string{
	"Refund.Currency": "for checks only, as its comment says; a refund is in its charge's currency",
	// The link being made belongs to the invoice that holds the lease.
	"NewLink.CompanyID": "the invoice's own company, from the item's partition key",
	"NewLink.InvoiceID": "the invoice's own id",
	"FeedEntry.Seq":     "the position, given by the read that publishes the entry (feed.go)",
}

// meaningfulFalse lists the booleans (Type.Field) whose false stores less,
// so the pass that writes each boolean false in turn leaves them true.
var meaningfulFalse = map[string]string{
	"MoneyLedger.Set": "false: no ledger was started, none is stored",
}

// filler sets every exported field, recursively, to a non-zero value that
// no other field has (so a record that swaps two fields fails too), and
// every boolean true but the one at falseAt (counting from 0; -1: none).
type filler struct {
	run     string
	n       int
	bools   []boolField // each boolean met, in order
	falseAt int
}

type boolField struct{ path, field string }

func newFiller(falseAt int) *filler { return &filler{run: id("rt"), falseAt: falseAt} }

var roundTripT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fill fills v, at path, declared as field (Type.Field).
func (f *filler) fill(t *testing.T, v reflect.Value, path, field string) {
	t.Helper()
	f.n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", f.run, f.n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.5)
	case reflect.Bool:
		v.SetBool(len(f.bools) != f.falseAt || meaningfulFalse[field] != "")
		f.bools = append(f.bools, boolField{path, field})
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(t, v.Elem(), path, field)
	case reflect.Slice:
		// Two elements: a record that keeps only the first fails.
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			f.fill(t, v.Index(i), path, field)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			f.fill(t, k, path, field)
			f.fill(t, e, path, field)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			// Whole seconds and nanoseconds apart, in UTC as stored.
			v.Set(reflect.ValueOf(roundTripT0.Add(time.Duration(f.n)*time.Hour + time.Duration(f.n))))
			return
		}
		for i := range v.NumField() {
			if sf := v.Type().Field(i); sf.IsExported() {
				f.fill(t, v.Field(i), path+"."+sf.Name, v.Type().Name()+"."+sf.Name)
			}
		}
	default:
		t.Fatalf("%s: the filler has no value for a %s; teach it one", path, v.Type())
	}
}

// fieldDiffs lists the fields (by path) where read differs from written,
// and those written zero (the filler missed them), but for notStored.
func fieldDiffs(written, read reflect.Value, path string, out *[]string) {
	switch written.Kind() {
	case reflect.Pointer:
		if read.IsNil() {
			*out = append(*out, path+": written, read back nil")
			return
		}
		fieldDiffs(written.Elem(), read.Elem(), path, out)
	case reflect.Slice, reflect.Map:
		if written.Len() != read.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d written, %d read back", path, written.Len(), read.Len()))
			return
		}
		if written.Kind() == reflect.Map {
			for _, k := range written.MapKeys() {
				if !read.MapIndex(k).IsValid() {
					*out = append(*out, fmt.Sprintf("%s[%v]: written, not read back", path, k))
					continue
				}
				fieldDiffs(written.MapIndex(k), read.MapIndex(k), path, out)
			}
			return
		}
		for i := range written.Len() {
			fieldDiffs(written.Index(i), read.Index(i), path, out)
		}
	case reflect.Struct:
		if written.Type() != reflect.TypeFor[time.Time]() {
			for i := range written.NumField() {
				sf := written.Type().Field(i)
				if sf.IsExported() && notStored[written.Type().Name()+"."+sf.Name] == "" {
					fieldDiffs(written.Field(i), read.Field(i), path+"."+sf.Name, out)
				}
			}
			return
		}
		fallthrough
	default:
		w, r := written.Interface(), read.Interface()
		if written.IsZero() && written.Kind() != reflect.Bool {
			*out = append(*out, path+": written zero; the filler missed it")
		} else if !reflect.DeepEqual(w, r) {
			*out = append(*out, fmt.Sprintf("%s: wrote %v, read back %v", path, w, r))
		}
	}
}

// requireSame fails on every field of written that read does not hold.
func requireSame(t *testing.T, name string, written, read any) {
	t.Helper()
	var diffs []string
	fieldDiffs(reflect.ValueOf(written), reflect.ValueOf(read), name, &diffs)
	if len(diffs) > 0 {
		t.Fatalf("fields not stored (map them in the record, or list them in notStored with why):\n%s", strings.Join(diffs, "\n"))
	}
}

// filled is a T with every field set by f.
func filled[T any](t *testing.T, f *filler) *T {
	t.Helper()
	v := new(T)
	f.fill(t, reflect.ValueOf(v).Elem(), reflect.TypeFor[T]().Name(), "")
	return v
}

// roundTrips runs check with every boolean true, then with each one false
// in turn (so a record that swaps two booleans fails too).
func roundTrips(t *testing.T, check func(t *testing.T, f *filler)) {
	first := newFiller(-1)
	if !t.Run("all set", func(t *testing.T) { check(t, first) }) {
		return // the passes below would fail the same way
	}
	for i, b := range first.bools {
		if meaningfulFalse[b.field] != "" {
			continue
		}
		t.Run(fmt.Sprintf("%s false (#%d)", b.path, i), func(t *testing.T) { check(t, newFiller(i)) })
	}
}

func TestEveryCompanyFieldIsStored(t *testing.T) {
	roundTrips(t, func(t *testing.T, f *filler) {
		s, ctx := newStore(), context.Background()
		c := filled[billing.Company](t, f)
		c.Version = 1 // a new company
		if _, err := s.SaveCompany(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCompany(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireSame(t, "Company", c, got)
	})
}

func TestEveryReaderFieldIsStored(t *testing.T) {
	roundTrips(t, func(t *testing.T, f *filler) {
		s, ctx := newStore(), context.Background()
		r := filled[billing.Reader](t, f)
		r.Version = 1 // a new reader
		if err := s.SaveReader(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetReader(ctx, r.CompanyID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireSame(t, "Reader", r, got)
	})
}

func TestEveryInvoiceFieldIsStored(t *testing.T) {
	roundTrips(t, func(t *testing.T, f *filler) {
		s, ctx := newStore(), context.Background()
		inv := filled[billing.Invoice](t, f)
		inv.Version = 1 // a new invoice
		if err := s.PutInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetInvoice(ctx, inv.CompanyID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireSame(t, "Invoice", inv, got)
	})
}

// The webhook's items: the event's record, the payment's reference and the
// feed entries, written by one commit.
func TestEveryEventFieldIsStored(t *testing.T) {
	roundTrips(t, func(t *testing.T, f *filler) {
		s, ctx := newStore(), context.Background()
		c := &billing.EventCommit{
			Event: *filled[billing.EventRecord](t, f), Ref: filled[billing.PaymentRef](t, f),
			Feed: []billing.FeedEntry{*filled[billing.FeedEntry](t, f), *filled[billing.FeedEntry](t, f)},
		}
		c.Ref.Version = 1 // a new reference
		if err := s.CommitEvent(ctx, c); err != nil {
			t.Fatal(err)
		}
		st, err := s.LoadEventState(ctx, billing.EventKeys{EventID: c.Event.ID, AccountID: c.Ref.AccountID, PaymentIntentID: c.Ref.PaymentIntentID})
		if err != nil {
			t.Fatal(err)
		}
		requireSame(t, "EventRecord", &c.Event, st.Seen)
		requireSame(t, "PaymentRef", c.Ref, st.Ref)
		feed, _, err := s.ListFeed(ctx, c.Event.CompanyID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		requireSame(t, "FeedEntry", c.Feed, feed)
	})
}
