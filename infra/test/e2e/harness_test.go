package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/internal/billing"
)

// Steps at which the crash harness stops a request, seen from outside the
// service: right after one of its calls to the store, Stripe or SES
// returns. The production code knows nothing of them; the harness wraps
// the ports and the Stripe transport (localapi.Wrap).
const (
	stepClaimed         = "claimed"          // the store took the invoice's lease
	stepPriceCreated    = "price_created"    // Stripe made the Price
	stepLinkCreated     = "link_created"     // Stripe made the Payment Link
	stepLinkDeactivated = "link_deactivated" // Stripe deactivated a link
	stepStripeDone      = "stripe_done"      // every Stripe call of a link change answered
	stepEmailMarked     = "email_marked"     // the store marked a staff e-mail's attempt, before SES
	stepEmailAccepted   = "email_accepted"   // SES took the e-mail
	stepCommitted       = "committed"        // the store recorded a change (no lease left)
	stepEventRecorded   = "event_recorded"   // the store recorded a webhook event
	stepIntentCreated   = "intent_created"   // Stripe made a reader's PaymentIntent
	stepReaderAction    = "reader_action"    // the reader took the PaymentIntent
)

// crasher stops requests at named steps, for good: nothing a request would
// do after that step happens, as when a Lambda dies. A request is armed by
// its X-Test-Crash header, so cases run in parallel.
type crasher struct {
	mu       sync.Mutex
	armed    map[string]armedCrash
	inFlight map[string]int // Stripe calls under way, per armed request
}

type armedCrash struct {
	step   string
	frozen chan struct{}
}

func (c *crasher) arm(id, step string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		c.armed, c.inFlight = map[string]armedCrash{}, map[string]int{}
	}
	a := armedCrash{step: step, frozen: make(chan struct{})}
	c.armed[id] = a
	return a.frozen
}

func (c *crasher) disarm(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.armed, id)
}

// armedID is the crash id of the request ctx belongs to ("" if none).
func armedID(ctx context.Context) string {
	if r := localapi.RequestFrom(ctx); r != nil {
		return r.Header.Get("X-Test-Crash")
	}
	return ""
}

// at freezes the request of ctx for good if it is armed for step.
func (c *crasher) at(ctx context.Context, step string) {
	id := armedID(ctx)
	c.mu.Lock()
	a, ok := c.armed[id]
	if !ok || a.step != step {
		c.mu.Unlock()
		return
	}
	delete(c.armed, id)
	close(a.frozen)
	c.mu.Unlock()
	select {} // the process is gone
}

// stripeCall counts a Stripe call of the request under way; done, when the
// last one answers, is the moment the change's Stripe work is over.
func (c *crasher) stripeCall(ctx context.Context) (done func()) {
	id := armedID(ctx)
	c.mu.Lock()
	c.inFlight[id]++
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.inFlight[id]--
		last := c.inFlight[id] == 0
		c.mu.Unlock()
		if last {
			c.at(ctx, stepStripeDone)
		}
	}
}

// wrap is the crash harness's layer around the service's adapters.
func (c *crasher) wrap() localapi.Wrap {
	c.mu.Lock()
	c.armed, c.inFlight = map[string]armedCrash{}, map[string]int{}
	c.mu.Unlock()
	return localapi.Wrap{
		Store:    func(s billing.Store) billing.Store { return crashStore{s, c} },
		Payments: func(p billing.PaymentProvider) billing.PaymentProvider { return crashPayments{p, c} },
		Mailer:   func(m billing.Mailer) billing.Mailer { return crashMailer{m, c} },
		StripeTransport: func(rt http.RoundTripper) http.RoundTripper {
			return crashTransport{rt, c}
		},
	}
}

type crashStore struct {
	billing.Store
	c *crasher
}

func (s crashStore) PutInvoice(ctx context.Context, inv *billing.Invoice) error {
	err := s.Store.PutInvoice(ctx, inv)
	if err == nil && len(inv.EmailAttempts) > 0 {
		s.c.at(ctx, stepEmailMarked)
	}
	switch {
	case err != nil:
	case inv.Lease != nil && inv.Lease.Until.After(time.Now()):
		s.c.at(ctx, stepClaimed)
	case inv.Lease == nil && len(inv.EmailAttempts) == 0:
		s.c.at(ctx, stepCommitted)
	}
	return err
}

func (s crashStore) CommitEvent(ctx context.Context, ec *billing.EventCommit) error {
	err := s.Store.CommitEvent(ctx, ec)
	if err == nil && ec.Event.Outcome == billing.OutcomeApplied {
		s.c.at(ctx, stepEventRecorded)
	}
	return err
}

type crashPayments struct {
	billing.PaymentProvider
	c *crasher
}

func (p crashPayments) CreateLink(ctx context.Context, n *billing.NewLink) (billing.Link, error) {
	defer p.c.stripeCall(ctx)()
	return p.PaymentProvider.CreateLink(ctx, n)
}

func (p crashPayments) DeactivateLink(ctx context.Context, account, linkID, key string) error {
	defer p.c.stripeCall(ctx)()
	return p.PaymentProvider.DeactivateLink(ctx, account, linkID, key)
}

type crashMailer struct {
	billing.Mailer
	c *crasher
}

func (m crashMailer) Send(ctx context.Context, e billing.OutgoingEmail) (string, error) {
	id, err := m.Mailer.Send(ctx, e)
	if err == nil {
		m.c.at(ctx, stepEmailAccepted)
	}
	return id, err
}

// crashTransport stops a request right after Stripe answered one of its
// calls, before the gateway reads the answer.
type crashTransport struct {
	http.RoundTripper
	c *crasher
}

func (t crashTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK || r.Method != http.MethodPost {
		return resp, err
	}
	switch {
	case r.URL.Path == "/v1/prices":
		t.c.at(r.Context(), stepPriceCreated)
	case r.URL.Path == "/v1/payment_links":
		t.c.at(r.Context(), stepLinkCreated)
	case strings.HasPrefix(r.URL.Path, "/v1/payment_links/") && strings.HasSuffix(r.Header.Get("Idempotency-Key"), "/"+billing.StepDeactivate):
		t.c.at(r.Context(), stepLinkDeactivated) // (not a paid link's message)
	case r.URL.Path == "/v1/payment_intents":
		t.c.at(r.Context(), stepIntentCreated)
	case strings.HasSuffix(r.URL.Path, "/process_payment_intent"):
		t.c.at(r.Context(), stepReaderAction)
	}
	return resp, err
}

// crashAt sends a request to the crash API, armed to die at step, and
// returns once it has died there (ok) or answered without reaching it.
func crashAt(t *testing.T, step, method, path, tok string, body any, header ...string) (ok bool) {
	t.Helper()
	id := randomHex(8)
	frozen := env.crash.arm(id, step)
	defer env.crash.disarm(id)
	var payload []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	default:
		payload, _ = json.Marshal(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, env.crashAPI.URL+path, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Crash", id)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case <-frozen:
		return true
	case status := <-answered:
		t.Logf("%s %s answered %d before reaching %s", method, path, status, step)
		return false
	case <-time.After(2 * time.Minute): // a hang, not a slow machine
		t.Fatalf("%s %s neither reached %s nor answered", method, path, step)
		return false
	}
}

// expireHolds makes time pass for a request that died: its lease on the
// invoice and its Idempotency-Key's record would run out with its
// invocation's deadline; here they run out now, so the retry that follows
// does not depend on how fast this machine is.
func expireHolds(t tb, companyID, invoiceID, idempotencyKey string) {
	t.Helper()
	ctx := context.Background()
	past, _ := attributevalue.Marshal(time.Time{})
	_, err := env.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(env.table),
		Key:                       itemKey("CO#"+companyID, "INV#"+invoiceID),
		UpdateExpression:          aws.String("SET #lease.#until = :past"),
		ConditionExpression:       aws.String("attribute_exists(#lease)"),
		ExpressionAttributeNames:  map[string]string{"#lease": "lease", "#until": "until"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":past": past},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		t.Fatal(err)
	}
	if idempotencyKey == "" {
		return
	}
	_, err = env.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(env.table),
		Key:                       itemKey("CO#"+companyID, "IDEM#"+idempotencyKey),
		UpdateExpression:          aws.String("SET inProgressUntil = :past"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":past": &types.AttributeValueMemberN{Value: "0"}},
	})
	if err != nil && !errors.As(err, &ccf) {
		t.Fatal(err)
	}
}

// expireEmailAttempt makes an hour pass without SES's events for a staff
// e-mail whose request died after marking its attempt (the invoice's
// only one): the attempt is taken for lost, and a retry sends it.
func expireEmailAttempt(t tb, companyID, invoiceID string) {
	t.Helper()
	past, _ := attributevalue.Marshal(time.Time{})
	_, err := env.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(env.table),
		Key:                       itemKey("CO#"+companyID, "INV#"+invoiceID),
		UpdateExpression:          aws.String("SET emailAttempts[0].#at = :past"),
		ConditionExpression:       aws.String("attribute_exists(emailAttempts[0])"),
		ExpressionAttributeNames:  map[string]string{"#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":past": past},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		t.Fatal(err)
	}
}

// expireAttempt makes time pass for a reader payment whose request died
// while starting: its attempt's lease runs out now (the invoice's only
// attempt).
func expireAttempt(t tb, companyID, invoiceID string) {
	t.Helper()
	past, _ := attributevalue.Marshal(time.Time{})
	_, err := env.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(env.table),
		Key:                       itemKey("CO#"+companyID, "INV#"+invoiceID),
		UpdateExpression:          aws.String("SET readerAttempts[0].#until = :past"),
		ConditionExpression:       aws.String("attribute_exists(readerAttempts[0])"),
		ExpressionAttributeNames:  map[string]string{"#until": "until"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":past": past},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		t.Fatal(err)
	}
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

// retryUntilSettled repeats a request until it is no longer told to wait
// (409 conflict / request_in_progress while the dead request's lease runs;
// the webhook's 503 asking Stripe to deliver again).
func retryUntilSettled(t *testing.T, method, path, tok string, body any, header ...string) *response {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a slow machine
	for {
		r := call(t, method, path, tok, body, header...)
		code := r.str("error", "code")
		if (code != "conflict" && code != "request_in_progress" && code != "service_unavailable") || time.Now().After(deadline) {
			return r
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stripeLinks is what Stripe holds for an invoice, from the calls it
// answered: the links made and those deactivated.
func stripeLinks(account, invoiceID string) (made, active []string) {
	var deactivated []string
	for _, c := range stripeCalls(account) {
		if c.Method != "POST" || c.Status != 200 || c.Injected {
			continue
		}
		switch {
		case c.Path == "/v1/payment_links" && c.Form.Get("metadata[invoice_id]") == invoiceID:
			var obj struct{ ID string }
			if json.Unmarshal(c.Response, &obj) == nil && !slices.Contains(made, obj.ID) {
				made = append(made, obj.ID)
			}
		case strings.HasPrefix(c.Path, "/v1/payment_links/") && c.Form.Get("active") == "false":
			deactivated = append(deactivated, strings.TrimPrefix(c.Path, "/v1/payment_links/"))
		}
	}
	for _, id := range made {
		if !slices.Contains(deactivated, id) {
			active = append(active, id)
		}
	}
	return made, active
}

// checkLinks asserts the link invariants of an invoice: at most one active
// link; Stripe and the store agree on which (no link payable at Stripe that
// the store doesn't know, none active in the store that Stripe deactivated);
// no lease left, with its change half done.
func checkLinks(t tb, tn *tenant, invoiceID string) (made int) {
	t.Helper()
	v := call(t, "GET", "/invoices/"+invoiceID, tn.Staff, nil).want(t, 200)
	var inStore []string
	for _, l := range v.list("links") {
		if l["status"] == "active" {
			inStore = append(inStore, l["id"].(string))
		}
	}
	madeIDs, atStripe := stripeLinks(tn.Account, invoiceID)
	slices.Sort(inStore)
	slices.Sort(atStripe)
	if len(inStore) > 1 || !slices.Equal(inStore, atStripe) {
		t.Fatalf("active links: store %v, Stripe %v (made %v)", inStore, atStripe, madeIDs)
	}
	if storedLease(t, tn.ID, invoiceID) {
		t.Fatalf("a lease is left on invoice %s", invoiceID)
	}
	return len(madeIDs)
}

// storedLease reads the invoice's item straight from DynamoDB: is a lease
// left on it?
func storedLease(t tb, companyID, invoiceID string) bool {
	t.Helper()
	out, err := env.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(env.table), Key: itemKey("CO#"+companyID, "INV#"+invoiceID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, has := out.Item["lease"]
	return has
}
