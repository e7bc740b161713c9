package dynamostore

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table's layout: every key, index and time format the store writes is
// built here, and nowhere else. One table (template.yaml's Table), keys
// "pk" (partition) and "sk" (sort); a tenant's items all live in its own
// partition CO#<company>, so every tenant read is addressed through it.
//
//	item             pk                   sk                            written by / read by
//	company          CO#<company>         COMPANY                       SaveCompany, CommitEvent / GetCompany, batch reads
//	invoice          CO#<company>         INV#<invoice>                 PutInvoice, CommitEvent, ReleaseLease / GetInvoice, batch reads
//	search item      CO#<company>         Q#<key>#<invoice>             PutInvoice (new keys) / searchInvoices (begins_with Q#<word>)
//	idempotency      CO#<company>         IDEM#<Idempotency-Key>        Idempotency (TTL expiresAt)
//	reader           CO#<company>         RDR#<tmr_…>                   SaveReader, DeleteReader / GetReader, ListReaders (begins_with RDR#)
//	reader count     CO#<company>         READERS                       SaveReader (a new reader), DeleteReader, in their transactions / the same
//	feed head        CO#<company>         FEED                          publish (seq = last position)
//	pending entry    CO#<company>         FEED!<inv>#<ver>#<event>#<i>  CommitEvent / pendingFeed (sk BETWEEN FEED AND FEED!~)
//	feed entry       CO#<company>         FEED#<position, 19 digits>    publish / ListFeed (sk BETWEEN FEED#<after+1> AND FEED#9…9)
//	account claim    ACCT#<acct_…>        ACCOUNT                       SaveCompany / AccountOwner, LoadEventState
//	webhook event    EVT#<evt_…>          EVENT                         CommitEvent (TTL expiresAt) / LoadEventState
//	payment ref      PAY#<acct>#<pi_…>    REF                           CommitEvent (TTL while pending) / LoadEventState
//
// Indexes (both global, on the same table):
//
//	index               partition   sort                              on                          query
//	InvoicesByCreation  pk          invoiceOrder (<createdAt>#<id>)   invoice items only          ListInvoices, newest first
//	WorkDue             workShard   workAt (<time>)                   items with work due only    DueWork, a Query per shard
//
// Both sort keys are fixed-width UTC times (timeKeyFormat), so text order
// is time order.
const (
	pkAttr = "pk"
	skAttr = "sk"
)

// Sort keys, and the prefixes of those that carry an id.
const (
	companySK         = "COMPANY"
	invoicePrefix     = "INV#"
	searchPrefix      = "Q#"
	idempotencyPrefix = "IDEM#"
	readerPrefix      = "RDR#"
	readerCountSK     = "READERS" // not under RDR#: ListReaders lists readers only
	feedHeadSK        = "FEED"
	feedPendingPrefix = "FEED!" // sorts between the head (FEED) and the entries (FEED#…)
	feedPendingEnd    = "FEED!~"
	feedPrefix        = "FEED#"
	feedLastSK        = feedPrefix + "9999999999999999999" // above every position
	accountSK         = "ACCOUNT"
	eventSK           = "EVENT"
	refSK             = "REF"
)

// Partition keys' prefixes.
const (
	companyPrefix = "CO#"
	accountPrefix = "ACCT#"
	eventPrefix   = "EVT#"
	refPrefix     = "PAY#"
)

func readerSK(readerID string) string { return readerPrefix + readerID }

func companyPK(companyID string) string { return companyPrefix + companyID }
func accountPK(accountID string) string { return accountPrefix + accountID }
func eventPK(id string) string          { return eventPrefix + id }
func refPK(account, paymentIntent string) string {
	return refPrefix + account + "#" + paymentIntent
}

func invoiceSK(invoiceID string) string { return invoicePrefix + invoiceID }
func idempotencySK(key string) string   { return idempotencyPrefix + key }

// searchSK is an invoice's search item under one of its search keys.
func searchSK(key, invoiceID string) string { return searchPrefix + key + "#" + invoiceID }

// feedSK is a numbered feed entry's key: zero-padded, so text order is
// position order.
func feedSK(seq int64) string { return fmt.Sprintf("%s%019d", feedPrefix, seq) }

// feedPendingSK is an entry's key while it waits for its position (feed.go).
func feedPendingSK(invoiceID string, version int64, eventID string, i int) string {
	return fmt.Sprintf("%s%s#%019d#%s#%03d", feedPendingPrefix, invoiceID, version, eventID, i)
}

// parseCompanyPK is the company of a tenant partition key.
func parseCompanyPK(pk string) (companyID string, ok bool) {
	return strings.CutPrefix(pk, companyPrefix)
}

// parseInvoiceSK is the invoice of an invoice item's sort key.
func parseInvoiceSK(sk string) (invoiceID string, ok bool) {
	return strings.CutPrefix(sk, invoicePrefix)
}

// key is an item's primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		pkAttr: &types.AttributeValueMemberS{Value: pk},
		skAttr: &types.AttributeValueMemberS{Value: sk},
	}
}

// keyOf is the pk and sk an item read holds ("" when absent).
func keyOf(item map[string]types.AttributeValue) (pk, sk string) {
	if v, ok := item[pkAttr].(*types.AttributeValueMemberS); ok {
		pk = v.Value
	}
	if v, ok := item[skAttr].(*types.AttributeValueMemberS); ok {
		sk = v.Value
	}
	return pk, sk
}

// joinKey joins an item's keys, to index a batch read's answers.
func joinKey(pk, sk string) string { return pk + "|" + sk }

// itemKey is an item's joinKey ("" without both keys).
func itemKey(item map[string]types.AttributeValue) string {
	pk, sk := keyOf(item)
	if pk == "" || sk == "" {
		return ""
	}
	return joinKey(pk, sk)
}

// Indexes (template.yaml's InvoicesByCreation and WorkDue).
const (
	invoicesByCreation = "InvoicesByCreation"
	workDue            = "WorkDue"
	workShards         = 4
)

// timeKeyFormat is the index sort keys' time: fixed-width UTC, so text
// order is time order.
const timeKeyFormat = "2006-01-02T15:04:05.000000000Z"

// invoiceOrder sorts invoices by creation, then id.
func invoiceOrder(created time.Time, id string) string {
	return created.UTC().Format(timeKeyFormat) + "#" + id
}

// workAtKey is the WorkDue index's sort key.
func workAtKey(t time.Time) string { return t.UTC().Format(timeKeyFormat) }

// workShardKey is the WorkDue index's partition key of shard n.
func workShardKey(n uint32) string { return fmt.Sprintf("W%d", n) }

// workIndex is the scheduler's index entry, set only on items with work to
// do, so the index holds nothing else (sparse). The shard spreads the
// items over a few partitions; the scheduler reads them all.
type workIndex struct {
	WorkShard string `dynamodbav:"workShard,omitempty"`
	WorkAt    string `dynamodbav:"workAt,omitempty"`
}

// newWorkIndex is the index entry of an item whose work falls at t (none
// for the zero time).
func newWorkIndex(pk, sk string, t time.Time) workIndex {
	if t.IsZero() {
		return workIndex{}
	}
	var h uint32 = 2166136261 // FNV-1a: a stable spread of items over shards
	for _, b := range []byte(pk + "|" + sk) {
		h = (h ^ uint32(b)) * 16777619
	}
	return workIndex{WorkShard: workShardKey(h % workShards), WorkAt: workAtKey(t)}
}
