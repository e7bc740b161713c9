package dynamostore

import (
	"testing"
	"time"
)

// The keys on disk: a live table holds them, so a builder that changes
// what it writes loses every item written before.
func TestKeysOnDiskDoNotMove(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 5, time.FixedZone("EST", -5*3600))
	for _, tc := range []struct{ got, want string }{
		{companyPK("c1"), "CO#c1"},
		{accountPK("acct_1"), "ACCT#acct_1"},
		{eventPK("evt_1"), "EVT#evt_1"},
		{refPK("acct_1", "pi_1"), "PAY#acct_1#pi_1"},
		{companySK, "COMPANY"},
		{invoiceSK("i1"), "INV#i1"},
		{idempotencySK("k1"), "IDEM#k1"},
		{searchSK("emilie", "i1"), "Q#emilie#i1"},
		{feedHeadSK, "FEED"},
		{feedSK(42), "FEED#0000000000000000042"},
		{feedLastSK, "FEED#9999999999999999999"},
		{feedPendingSK("i1", 3, "evt_1", 2), "FEED!i1#0000000000000000003#evt_1#002"},
		{accountSK, "ACCOUNT"},
		{eventSK, "EVENT"},
		{refSK, "REF"},
		{invoiceOrder(at, "i1"), "2026-11-27T15:00:00.000000005Z#i1"},
		{workAtKey(at), "2026-11-27T15:00:00.000000005Z"},
		{workShardKey(3), "W3"},
		{newWorkIndex("CO#c1", "INV#i1", at).WorkShard, "W2"},
		{invoicesByCreation, "InvoicesByCreation"},
		{workDue, "WorkDue"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	if id, ok := parseCompanyPK(companyPK("c1")); !ok || id != "c1" {
		t.Errorf("parseCompanyPK = %q, %v", id, ok)
	}
	if id, ok := parseInvoiceSK(invoiceSK("i1")); !ok || id != "i1" {
		t.Errorf("parseInvoiceSK = %q, %v", id, ok)
	}
	if _, ok := parseInvoiceSK(companySK); ok {
		t.Error("parseInvoiceSK took the company's key")
	}
}
