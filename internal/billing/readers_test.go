package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// readersTerminal plays Stripe Terminal's Locations and readers, per
// account; the reader-payment calls are not its business (the embedded nil
// Terminal panics if one is made).
type readersTerminal struct {
	Terminal
	mu        sync.Mutex
	locations map[string]string          // idempotency key -> location id
	readers   map[string]*TerminalReader // account/reader id -> reader
	byKey     map[string]string          // idempotency key -> reader id
	calls     []string                   // "method account id"
	refuse    bool                       // RegisterReader answers reader_registration_failed
	// gate, when set, runs (without the lock) as each registration
	// arrives, before it is made.
	gate func()
}

func newReadersTerminal() *readersTerminal {
	return &readersTerminal{locations: map[string]string{}, readers: map[string]*TerminalReader{}, byKey: map[string]string{}}
}

func (f *readersTerminal) CreateLocation(_ context.Context, account, _ string, _ Address, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "CreateLocation "+account)
	if id, ok := f.locations[key]; ok {
		return id, nil
	}
	id := fmt.Sprintf("tml_%d", len(f.locations)+1)
	f.locations[key] = id
	return id, nil
}

func (f *readersTerminal) RegisterReader(_ context.Context, account, location, code, label, key string) (*TerminalReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "RegisterReader "+account)
	if gate := f.gate; gate != nil {
		f.mu.Unlock()
		gate()
		f.mu.Lock()
	}
	if f.refuse || code != SimulatedReaderRegistration {
		return nil, Errorf(CodeReaderRegistrationFailed, "Stripe refused the registration code")
	}
	if id, ok := f.byKey[key]; ok {
		r := *f.readers[account+"/"+id]
		return &r, nil
	}
	id := fmt.Sprintf("tmr_%d", len(f.byKey)+1)
	f.byKey[key] = id
	r := &TerminalReader{ID: id, Label: label, DeviceType: "simulated_wisepos_e", Status: ReaderOnline, LocationID: location}
	f.readers[account+"/"+id] = r
	c := *r
	return &c, nil
}

func (f *readersTerminal) Reader(_ context.Context, account, id string) (*TerminalReader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Reader "+account+" "+id)
	r, ok := f.readers[account+"/"+id]
	if !ok {
		return nil, fmt.Errorf("reader %s: %w", id, ErrUnknownReader)
	}
	c := *r
	return &c, nil
}

func (f *readersTerminal) DeleteReader(_ context.Context, account, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DeleteReader "+account+" "+id)
	delete(f.readers, account+"/"+id)
	return nil
}

// readersMem is an in-memory ReaderStore with the DynamoDB store's
// conditional writes and count.
type readersMem struct {
	mu      sync.Mutex
	readers map[string]Reader // company/reader id
}

func (m *readersMem) GetReader(_ context.Context, company, id string) (*Reader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.readers[company+"/"+id]
	if !ok {
		return nil, fmt.Errorf("reader: %w", ErrNotFound)
	}
	return &r, nil
}

func (m *readersMem) ListReaders(_ context.Context, company string) ([]Reader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Reader{}
	for _, r := range m.readers {
		if r.CompanyID == company {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *readersMem) SaveReader(_ context.Context, r *Reader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.readers[r.CompanyID+"/"+r.ID]
	if (r.Version <= 1 && exists) || (r.Version > 1 && (!exists || old.Version != r.Version-1)) {
		return fmt.Errorf("save reader: %w", ErrVersionConflict)
	}
	if r.Version <= 1 && countReaders(m.readers, r.CompanyID) >= MaxReaders {
		return fmt.Errorf("save reader: %w", ErrReaderLimit)
	}
	m.readers[r.CompanyID+"/"+r.ID] = *r
	return nil
}

func (m *readersMem) DeleteReader(_ context.Context, company, id string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.readers[company+"/"+id]
	if !exists || old.Version != version {
		return fmt.Errorf("delete reader: %w", ErrVersionConflict)
	}
	delete(m.readers, company+"/"+id)
	return nil
}

type readersFixture struct {
	*fixture
	terminal *readersTerminal
	readers  *readersMem
}

var clinicAddress = &AddressInput{Line1: "1000 rue Sherbrooke O", City: "Montréal", State: "qc", PostalCode: "h3a3g4", Country: "CA"}

// newReadersFixture: c1 (acct_1Test) has an address, c2 (acct_2Other)
// has none, c3 has no Stripe account.
func newReadersFixture(t *testing.T) *readersFixture {
	t.Helper()
	f := &readersFixture{fixture: newFixture(t), terminal: newReadersTerminal(), readers: &readersMem{readers: map[string]Reader{}}}
	f.svc = NewService(Deps{Store: f.store, Payments: f.stripe, Mailer: f.mail, Now: f.clock, Queue: f.queue,
		Terminal: f.terminal, Readers: f.readers})
	ctx := context.Background()
	put := func(id string, acct *string, addr *AddressInput) {
		in := &CompanyInput{Name: "Clinique " + id, ReplyToEmail: "a@clinique.example", DefaultLanguage: French,
			StripeAccountID: OptionalString{Set: true, Value: acct}, Address: addr}
		if _, err := f.svc.PutCompany(ctx, Caller{Platform: true}, id, in); err != nil {
			t.Fatal(err)
		}
	}
	put("c1", ptr("acct_1Test"), clinicAddress)
	put("c2", ptr("acct_2Other"), nil)
	put("c3", nil, clinicAddress)
	return f
}

func readerAdmin(tenant string) Caller { return Caller{Tenant: tenant, Admin: true} }

func (f *readersFixture) register(t *testing.T, tenant, key string) *Reader {
	t.Helper()
	r, err := f.svc.RegisterReader(context.Background(), readerAdmin(tenant), &ReaderInput{RegistrationCode: "simulated-wpe", Label: "Front desk"}, key)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRegisterReader: the contract's answers, and one Location made for
// every registration of a clinic.
func TestRegisterReader(t *testing.T) {
	simulated := &ReaderInput{RegistrationCode: "simulated-wpe", Label: "Front desk"}
	tests := []struct {
		name   string
		caller Caller
		in     *ReaderInput
		want   Code
	}{
		{"a simulated reader", readerAdmin("c1"), simulated, ""},
		{"no address", readerAdmin("c2"), simulated, CodeAddressRequired},
		{"no Stripe account", readerAdmin("c3"), simulated, CodeStripeAccountNotConnected},
		{"no company record", readerAdmin("c9"), simulated, CodeBillingCompanyNotConfigured},
		{"staff", Staff("c1"), simulated, CodeForbidden},
		{"no tenant", Caller{Platform: true}, simulated, CodeForbidden},
		{"a code Stripe refuses", readerAdmin("c1"), &ReaderInput{RegistrationCode: "apple-grape-orange", Label: "Desk"}, CodeReaderRegistrationFailed},
		{"no label", readerAdmin("c1"), &ReaderInput{RegistrationCode: "simulated-wpe"}, CodeInvalidRequest},
		{"a code with spaces", readerAdmin("c1"), &ReaderInput{RegistrationCode: "a b", Label: "Desk"}, CodeInvalidRequest},
		{"a label too long", readerAdmin("c1"), &ReaderInput{RegistrationCode: "simulated-wpe", Label: string(make([]byte, 65))}, CodeInvalidRequest},
	}
	f := newReadersFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := f.svc.RegisterReader(context.Background(), tc.caller, tc.in, "")
			if ErrorCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
			if tc.want == "" && (r.Status != ReaderOnline || r.DeviceType == "" || r.LocationID == "") {
				t.Fatalf("reader %+v", r)
			}
		})
	}
	f.register(t, "c1", "")
	c, _ := f.store.GetCompany(context.Background(), "c1")
	if c.Location == nil || c.Location.AccountID != "acct_1Test" || len(f.terminal.locations) != 1 {
		t.Fatalf("location %+v, %d made at Stripe", c.Location, len(f.terminal.locations))
	}
}

// TestRegisterReaderRetried: the same Idempotency-Key gives the same
// reader, recorded once.
func TestRegisterReaderRetried(t *testing.T) {
	f := newReadersFixture(t)
	a, b := f.register(t, "c1", "key-1"), f.register(t, "c1", "key-1")
	if a.ID != b.ID || len(f.readers.readers) != 1 {
		t.Fatalf("%s then %s, %d stored", a.ID, b.ID, len(f.readers.readers))
	}
}

// TestReaderLocationFollowsAddress: a reader registered after the
// clinic's address changed goes to a Location at the new address, made
// once (a retry or a second registration reuses it); the readers
// registered before stay at theirs (Stripe can't move a reader).
func TestReaderLocationFollowsAddress(t *testing.T) {
	f := newReadersFixture(t)
	ctx := context.Background()
	moved := &AddressInput{Line1: "5 rue Saint-Joseph", City: "Québec", State: "QC", PostalCode: "G1K 3A9", Country: "CA"}
	setAddress := func(a *AddressInput) {
		in := &CompanyInput{Name: "Clinique c1", ReplyToEmail: "a@clinique.example", DefaultLanguage: French, Address: a}
		if _, err := f.svc.PutCompany(ctx, readerAdmin("c1"), "c1", in); err != nil {
			t.Fatal(err)
		}
	}
	first := f.register(t, "c1", "")
	steps := []struct {
		name      string
		do        func() *Reader
		location  string // of the reader registered
		locations int    // made at Stripe so far
	}{
		{"the first reader", func() *Reader { return first }, "tml_1", 1},
		{"another at the same address", func() *Reader { return f.register(t, "c1", "") }, "tml_1", 1},
		{"after the address changed", func() *Reader { setAddress(moved); return f.register(t, "c1", "key-moved") }, "tml_2", 2},
		{"its retry", func() *Reader { return f.register(t, "c1", "key-moved") }, "tml_2", 2},
		{"another at the new address", func() *Reader { return f.register(t, "c1", "") }, "tml_2", 2},
		{"the name changed, not the address", func() *Reader { setAddress(moved); return f.register(t, "c1", "") }, "tml_2", 2},
		{"back at the first address", func() *Reader { setAddress(clinicAddress); return f.register(t, "c1", "") }, "tml_1", 2},
	}
	for _, st := range steps {
		r := st.do()
		if r.LocationID != st.location || len(f.terminal.locations) != st.locations {
			t.Fatalf("%s: at %s, %d Locations made", st.name, r.LocationID, len(f.terminal.locations))
		}
	}
	if r, _ := f.readers.GetReader(ctx, "c1", first.ID); r.LocationID != "tml_1" {
		t.Fatalf("the first reader moved to %s", r.LocationID)
	}
	if c, _ := f.store.GetCompany(ctx, "c1"); c.Location.ID != "tml_1" || c.Location.AddressHash != addressHash(c.Address) {
		t.Fatalf("the company's Location %+v", c.Location)
	}
}

// TestReaderLimit: the 51st reader is refused limit_reached, and deleting
// one makes room.
func TestReaderLimit(t *testing.T) {
	f := newReadersFixture(t)
	ctx := context.Background()
	var last *Reader
	for range MaxReaders {
		last = f.register(t, "c1", "")
	}
	_, err := f.svc.RegisterReader(ctx, readerAdmin("c1"), &ReaderInput{RegistrationCode: "simulated-wpe", Label: "One more"}, "")
	if ErrorCode(err) != CodeLimitReached {
		t.Fatalf("the %dth reader: %v", MaxReaders+1, err)
	}
	if err := f.svc.DeleteReader(ctx, readerAdmin("c1"), last.ID); err != nil {
		t.Fatal(err)
	}
	f.register(t, "c1", "")
}

// TestReaderLimitRaced: registrations that all passed the first look
// (every one reaches Stripe) fill exactly the clinic's last places: the
// others answer limit_reached and the readers Stripe registered for them
// are deleted there.
func TestReaderLimitRaced(t *testing.T) {
	cases := []struct {
		name               string
		have, racers, wins int
	}{
		{"one place, eight racers", MaxReaders - 1, 8, 1},
		{"three places, eight racers", MaxReaders - 3, 8, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newReadersFixture(t)
			ctx := context.Background()
			for range tc.have {
				f.register(t, "c1", "")
			}
			var arrived sync.WaitGroup
			arrived.Add(tc.racers)
			f.terminal.gate = func() { arrived.Done(); arrived.Wait() } // all at Stripe before any is kept
			errs := make([]error, tc.racers)
			var wg sync.WaitGroup
			for i := range tc.racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.svc.RegisterReader(ctx, readerAdmin("c1"), &ReaderInput{RegistrationCode: "simulated-wpe", Label: "Desk"}, "")
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case ErrorCode(err) != CodeLimitReached:
					t.Fatalf("a racer: %v", err)
				}
			}
			kept, _ := f.readers.ListReaders(ctx, "c1")
			if wins != tc.wins || len(kept) != tc.have+tc.wins || len(f.terminal.readers) != tc.have+tc.wins {
				t.Fatalf("%d won, %d kept, %d at Stripe", wins, len(kept), len(f.terminal.readers))
			}
		})
	}
}

// TestReaderTenancy: another clinic's reader is not found on any route,
// and its id reaches Stripe under no account.
func TestReaderTenancy(t *testing.T) {
	f := newReadersFixture(t)
	ctx := context.Background()
	theirs := f.register(t, "c1", "")
	// c2 gets an address and a reader of its own.
	in := &CompanyInput{Name: "Clinique c2", ReplyToEmail: "a@clinique.example", DefaultLanguage: French, Address: clinicAddress}
	if _, err := f.svc.PutCompany(ctx, readerAdmin("c2"), "c2", in); err != nil {
		t.Fatal(err)
	}
	mine := f.register(t, "c2", "")
	f.terminal.calls = nil
	tests := []struct {
		name string
		do   func() error
		want Code
	}{
		{"delete another clinic's reader", func() error { return f.svc.DeleteReader(ctx, readerAdmin("c2"), theirs.ID) }, CodeNotFound},
		{"delete a reader no one has", func() error { return f.svc.DeleteReader(ctx, readerAdmin("c2"), "tmr_nobody") }, CodeNotFound},
		{"delete a malformed id", func() error { return f.svc.DeleteReader(ctx, readerAdmin("c2"), "../c1") }, CodeInvalidRequest},
		{"delete an id no reader has", func() error { return f.svc.DeleteReader(ctx, readerAdmin("c2"), "inv-1") }, CodeNotFound},
		{"list", func() error {
			rs, err := f.svc.ListReaders(ctx, Staff("c2"))
			if err == nil && (len(rs) != 1 || rs[0].ID != mine.ID) {
				return fmt.Errorf("c2 lists %+v", rs)
			}
			return err
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); ErrorCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
		})
	}
	for _, call := range f.terminal.calls {
		if call != "Reader acct_2Other "+mine.ID {
			t.Errorf("Stripe was asked %q", call)
		}
	}
}

// TestDeleteReader: a reader taking a payment is refused reader_busy and
// stays; a free one goes at Stripe and here.
func TestDeleteReader(t *testing.T) {
	f := newReadersFixture(t)
	ctx := context.Background()
	busy, free := f.register(t, "c1", ""), f.register(t, "c1", "")
	r, _ := f.readers.GetReader(ctx, "c1", busy.ID)
	r.InvoiceID, r.Version = "inv-1", r.Version+1
	if err := f.readers.SaveReader(ctx, r); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		caller Caller
		id     string
		want   Code
	}{
		{"staff", Staff("c1"), free.ID, CodeForbidden},
		{"taking a payment", readerAdmin("c1"), busy.ID, CodeReaderBusy},
		{"free", readerAdmin("c1"), free.ID, ""},
		{"deleted already", readerAdmin("c1"), free.ID, CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.DeleteReader(ctx, tc.caller, tc.id); ErrorCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
		})
	}
	if _, err := f.terminal.Reader(ctx, "acct_1Test", busy.ID); err != nil {
		t.Fatalf("the busy reader was deleted at Stripe: %v", err)
	}
	rs, _ := f.svc.ListReaders(ctx, Staff("c1"))
	if len(rs) != 1 || rs[0].ID != busy.ID || rs[0].InvoiceID != "inv-1" {
		t.Fatalf("listed %+v", rs)
	}
}

// TestListReadersStatus: the status is Stripe's now; a reader Stripe lost
// shows offline.
func TestListReadersStatus(t *testing.T) {
	f := newReadersFixture(t)
	ctx := context.Background()
	a, b := f.register(t, "c1", ""), f.register(t, "c1", "")
	f.terminal.readers["acct_1Test/"+a.ID].Status = ReaderOffline
	delete(f.terminal.readers, "acct_1Test/"+b.ID)
	rs, err := f.svc.ListReaders(ctx, Staff("c1"))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{rs[0].ID + " " + rs[0].Status, rs[1].ID + " " + rs[1].Status}
	if want := []string{a.ID + " offline", b.ID + " offline"}; !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

// TestCompanyAddress: the address's rules, and its normal form.
func TestCompanyAddress(t *testing.T) {
	ok := func(a AddressInput) *AddressInput { return &a }
	base := *clinicAddress
	with := func(change func(*AddressInput)) *AddressInput { a := base; change(&a); return &a }
	tests := []struct {
		name  string
		in    *AddressInput
		field string
	}{
		{"Quebec", ok(base), ""},
		{"US", ok(AddressInput{Line1: "1 Main St", City: "Burlington", State: "VT", PostalCode: "05401-1234", Country: "US"}), ""},
		{"no line1", with(func(a *AddressInput) { a.Line1 = "" }), "address.line1"},
		{"blank city", with(func(a *AddressInput) { a.City = "  " }), "address.city"},
		{"France", with(func(a *AddressInput) { a.Country = "FR" }), "address.country"},
		{"a US state in Canada", with(func(a *AddressInput) { a.State = "NY" }), "address.state"},
		{"an Ontario code in Quebec", with(func(a *AddressInput) { a.PostalCode = "M5V 2T6" }), "address.postalCode"},
		{"a ZIP code in Canada", with(func(a *AddressInput) { a.PostalCode = "12345" }), "address.postalCode"},
		{"a letter never used", with(func(a *AddressInput) { a.PostalCode = "H3A 3G" + "U" }), "address.postalCode"},
		{"a bad ZIP", ok(AddressInput{Line1: "1 Main St", City: "Burlington", State: "VT", PostalCode: "5401", Country: "US"}), "address.postalCode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &CompanyInput{Name: "C", ReplyToEmail: "a@c.example", DefaultLanguage: French, Address: tc.in}
			err := in.Validate()
			var e *Error
			if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field) {
				t.Fatalf("%v, want %q", err, tc.field)
			}
		})
	}
	in := &CompanyInput{Name: "C", ReplyToEmail: "a@c.example", DefaultLanguage: French, Address: ok(base)}
	if err := in.Validate(); err != nil || *in.address != (Address{Line1: base.Line1, City: "Montréal", State: "QC", PostalCode: "H3A 3G4", Country: "CA"}) {
		t.Fatalf("%v %+v", err, in.address)
	}
}
