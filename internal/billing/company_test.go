package billing

import (
	"context"
	"testing"
)

func companyInput(account *string, set bool) *CompanyInput {
	return &CompanyInput{Name: "Clinique", ReplyToEmail: "a@clinique.example", DefaultLanguage: French,
		StripeAccountID: OptionalString{Set: set, Value: account}}
}

// TestStripeAccountsBelongToOneCompany: only the platform connects an
// account, an account connected to one company can't be connected to
// another, and disconnecting frees it.
func TestStripeAccountsBelongToOneCompany(t *testing.T) {
	f := newFixture(t) // c1 holds acct_1Test
	ctx := context.Background()
	platform := Caller{Platform: true}
	admin := func(id string) Caller { return Caller{Tenant: id, Admin: true} }
	taken := "acct_1Test"
	other := "acct_2Other"
	tests := []struct {
		name    string
		caller  Caller
		company string
		in      *CompanyInput
		want    Code
	}{
		{"an admin edits its name, keeping the account", admin("c1"), "c1", companyInput(nil, false), ""},
		{"an admin sends the same account", admin("c1"), "c1", companyInput(&taken, true), ""},
		{"an admin connects another account", admin("c1"), "c1", companyInput(&other, true), CodeForbidden},
		{"an admin disconnects", admin("c1"), "c1", companyInput(nil, true), CodeForbidden},
		{"an admin takes another company's account", admin("c2"), "c2", companyInput(&taken, true), CodeForbidden},
		{"an admin edits another company", admin("c2"), "c1", companyInput(nil, false), CodeNotFound},
		{"staff edit their company", Staff("c1"), "c1", companyInput(nil, false), CodeNotFound},
		{"the platform connects a taken account", platform, "c2", companyInput(&taken, true), CodeStripeAccountInUse},
		{"the platform connects a free account", platform, "c2", companyInput(&other, true), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.PutCompany(ctx, tc.caller, tc.company, tc.in)
			if ErrorCode(err) != tc.want && !(tc.want == "" && err == nil) {
				t.Fatalf("%v, want %s", err, tc.want)
			}
		})
	}
	if c, _ := f.store.GetCompany(ctx, "c1"); c.StripeAccountID != taken || c.Name != "Clinique" {
		t.Fatalf("c1: %+v", c)
	}
	// Disconnected by the platform, the account is free for another company.
	if _, err := f.svc.PutCompany(ctx, platform, "c1", companyInput(nil, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutCompany(ctx, platform, "c3", companyInput(&taken, true)); err != nil {
		t.Fatalf("a freed account: %v", err)
	}
}

func TestOnboarding(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := Caller{Tenant: "c9", Admin: true}
	if _, err := f.svc.StartOnboarding(ctx, admin, "c9"); ErrorCode(err) != CodeBillingCompanyNotConfigured {
		t.Fatalf("no record: %v", err)
	}
	if _, err := f.svc.PutCompany(ctx, admin, "c9", companyInput(nil, false)); err != nil {
		t.Fatal(err)
	}
	link, err := f.svc.StartOnboarding(ctx, admin, "c9")
	if err != nil || link.URL == "" {
		t.Fatalf("%v %v", link, err)
	}
	c, _ := f.store.GetCompany(ctx, "c9")
	if c.StripeAccountID == "" || !c.Stripe.CreatedByPlatform {
		t.Fatalf("the account must be bound at creation: %+v", c)
	}
	if owner, _ := f.store.AccountOwner(ctx, c.StripeAccountID); owner != "c9" {
		t.Fatalf("owner %q", owner)
	}
	// Again: a new link to the same account, not a second account.
	if _, err := f.svc.StartOnboarding(ctx, admin, "c9"); err != nil {
		t.Fatal(err)
	}
	if c2, _ := f.store.GetCompany(ctx, "c9"); c2.StripeAccountID != c.StripeAccountID {
		t.Fatalf("second account %s", c2.StripeAccountID)
	}
	if _, err := f.svc.StartOnboarding(ctx, Caller{Tenant: "c1", Admin: true}, "c9"); ErrorCode(err) != CodeNotFound {
		t.Fatalf("another company's admin: %v", err)
	}
}
