package main

import (
	"encoding/base64"
	"testing"
)

func TestClaim(t *testing.T) {
	jwt := func(payload string) string {
		return "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	}
	cases := []struct {
		name, token, want string
		ok                bool
	}{
		{"the tenant", jwt(`{"billing_company_id":"clinic-1","scope":"billing:admin"}`), "clinic-1", true},
		{"no tenant claim", jwt(`{"sub":"x"}`), "", false},
		{"a number is not a tenant", jwt(`{"billing_company_id":7}`), "", false},
		{"not a JWT", "abc", "", false},
		{"payload not base64url", "e30.***.sig", "", false},
		{"payload not JSON", jwt(`nope`), "", false},
	}
	for _, c := range cases {
		got, err := claim(c.token, "billing_company_id")
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
}
