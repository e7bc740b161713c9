package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/infra/localapi"
)

// crasher stops requests at named steps, for good: nothing a request would
// do after that step happens, as when a Lambda dies. A request is armed by
// its X-Test-Crash header, so cases run in parallel.
type crasher struct {
	mu    sync.Mutex
	armed map[string]armedCrash
}

type armedCrash struct {
	step   string
	frozen chan struct{}
}

func (c *crasher) arm(id, step string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		c.armed = map[string]armedCrash{}
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

func (c *crasher) checkpoint(ctx context.Context, step string) {
	r := localapi.RequestFrom(ctx)
	if r == nil {
		return
	}
	id := r.Header.Get("X-Test-Crash")
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
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %s neither reached %s nor answered", method, path, step)
		return false
	}
}

// retryUntilSettled repeats a request until it is no longer told to wait
// (409 conflict / request_in_progress while the dead request's lease runs;
// the webhook's 503 asking Stripe to deliver again).
func retryUntilSettled(t *testing.T, method, path, tok string, body any, header ...string) *response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
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
// no plan left half done.
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
	if p := storedPlan(t, tn.ID, invoiceID); p {
		t.Fatalf("a plan is left on invoice %s", invoiceID)
	}
	return len(madeIDs)
}

// storedPlan reads the invoice's item straight from DynamoDB.
func storedPlan(t tb, companyID, invoiceID string) bool {
	t.Helper()
	out, err := env.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(env.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "CO#" + companyID},
			"sk": &types.AttributeValueMemberS{Value: "INV#" + invoiceID},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, has := out.Item["plan"]
	return has
}
