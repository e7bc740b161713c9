package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/clinicpay/payments/infra/test/faultproxy"
)

const (
	dynamoThrottled = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`
	dynamoDown      = `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	sesThrottled    = `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>r</RequestId></ErrorResponse>`
	stripeDown      = `{"error":{"type":"api_error","message":"An unknown error occurred"}}`
)

var (
	jsonHeader   = http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_fault"}}
	amzJSON      = http.Header{"Content-Type": {"application/x-amz-json-1.0"}}
	xmlHeader    = http.Header{"Content-Type": {"text/xml"}}
	stripeTarget = func(path string) func(string, string) func(*faultproxy.Request) bool {
		return func(account, invoiceID string) func(*faultproxy.Request) bool {
			return func(r *faultproxy.Request) bool {
				return r.Header.Get("Stripe-Account") == account && strings.Contains(r.Header.Get("Idempotency-Key"), "/"+invoiceID+"/") &&
					(r.Path == path || (path == "deactivate" && strings.HasPrefix(r.Path, "/v1/payment_links/") &&
						strings.HasSuffix(r.Header.Get("Idempotency-Key"), "/deactivate")))
			}
		}
	}
	dynamoTarget = func(op string) func(string, string) func(*faultproxy.Request) bool {
		return func(_, invoiceID string) func(*faultproxy.Request) bool {
			return func(r *faultproxy.Request) bool {
				return r.Header.Get("X-Amz-Target") == "DynamoDB_20120810."+op && strings.Contains(string(r.Body), invoiceID)
			}
		}
	}
)

// TestUpstreamFaults is the fault table for Stripe, DynamoDB and SES: each
// row injects a fault at the real server's door, checks the first answer,
// lifts the fault, retries, and checks the invariants.
func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	type fault struct {
		proxy func() *faultproxy.Proxy
		match func(account, invoiceID string) func(*faultproxy.Request) bool
		rule  faultproxy.Rule
	}
	stripeProxy := func() *faultproxy.Proxy { return env.stripe.Proxy }
	dynamoProxy := func() *faultproxy.Proxy { return env.dynamo }
	sesProxy := func() *faultproxy.Proxy { return env.ses }
	type req struct{ method, path string }
	create := func(id string) req { return req{"POST", "/invoices/" + id + "/payment-link"} }
	regenerate := func(id string) req { return req{"POST", "/invoices/" + id + "/payment-link/regenerate"} }
	remove := func(id string) req { return req{"DELETE", "/invoices/" + id + "/payment-link"} }
	email := func(id string) req { return req{"POST", "/invoices/" + id + "/emails"} }

	rows := []struct {
		name      string
		withLink  bool
		request   func(id string) req
		fault     fault
		viaCrash  bool // send the first attempt through the crash API, whose deadline is crashDeadline
		first     int
		firstCode string
		retry     int
		links     int // Payment Links made at Stripe in all
		emails    int // e-mails that reached SES (-1: not an e-mail row)
	}{
		{"Stripe 500 on the Price", false, create, fault{stripeProxy, stripeTarget("/v1/prices"), faultproxy.Rule{Status: 500, Body: stripeDown, Header: jsonHeader}}, false, 503, "payment_provider_unavailable", 201, 1, -1},
		{"Stripe 429 on the link", false, create, fault{stripeProxy, stripeTarget("/v1/payment_links"), faultproxy.Rule{Status: 429, Body: `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, Header: jsonHeader}}, false, 503, "payment_provider_unavailable", 201, 1, -1},
		// Stripe answers only when the caller gives up: the gateway's call
		// ends 1.5 s before the invocation's deadline, whatever the speed.
		{"Stripe too slow (past the deadline)", false, create, fault{stripeProxy, stripeTarget("/v1/payment_links"), faultproxy.Rule{Delay: 10 * crashDeadline, Times: 1}}, true, 503, "payment_provider_unavailable", 201, 1, -1},
		{"Stripe connection dropped on deactivation", true, remove, fault{stripeProxy, stripeTarget("deactivate"), faultproxy.Rule{Drop: true}}, false, 503, "payment_provider_unavailable", 204, 1, -1},
		{"Stripe made the link, the answer was lost", false, create, fault{stripeProxy, stripeTarget("/v1/payment_links"), faultproxy.Rule{After: true, Drop: true}}, false, 503, "payment_provider_unavailable", 201, 1, -1},
		{"Stripe deactivated, the answer was lost", true, regenerate, fault{stripeProxy, stripeTarget("deactivate"), faultproxy.Rule{After: true, Drop: true}}, false, 503, "payment_provider_unavailable", 201, 2, -1},
		{"Stripe refuses to deactivate", true, regenerate, fault{stripeProxy, stripeTarget("deactivate"), faultproxy.Rule{Times: 1, Status: 400, Body: `{"error":{"type":"invalid_request_error","message":"This payment link cannot be updated."}}`, Header: jsonHeader}}, false, 502, "payment_provider_error", 201, 3, -1},
		{"DynamoDB throttles the claim", false, create, fault{dynamoProxy, dynamoTarget("PutItem"), faultproxy.Rule{Status: 400, Body: dynamoThrottled, Header: amzJSON}}, false, 503, "service_unavailable", 201, 1, -1},
		{"DynamoDB down on the read", true, remove, fault{dynamoProxy, dynamoTarget("BatchGetItem"), faultproxy.Rule{Status: 500, Body: dynamoDown, Header: amzJSON}}, false, 503, "service_unavailable", 204, 1, -1},
		{"DynamoDB wrote, the answer was lost", false, create, fault{dynamoProxy, dynamoTarget("PutItem"), faultproxy.Rule{After: true, Drop: true, Times: 1}}, false, 201, "", 200, 1, -1},
		{"Stripe 500 on the e-mail's new link", false, email, fault{stripeProxy, stripeTarget("/v1/payment_links"), faultproxy.Rule{Status: 500, Body: stripeDown, Header: jsonHeader}}, false, 503, "payment_provider_unavailable", 202, 1, 1},
		{"SES throttles", false, email, fault{sesProxy, nil, faultproxy.Rule{Status: 400, Body: sesThrottled, Header: xmlHeader}}, false, 503, "email_provider_unavailable", 202, 1, 1},
		{"SES down", false, email, fault{sesProxy, nil, faultproxy.Rule{Status: 500, Body: "<InternalFailure/>", Header: xmlHeader}}, false, 503, "email_provider_unavailable", 202, 1, 1},
		// SES has no idempotency: the SDK does not send an e-mail
		// accepted but unacknowledged again (the caller learns it may
		// have left), and the caller's retry does not either: the
		// attempt was marked under the request's key, SES's events
		// record it, and the retry answers with it.
		{"SES accepted, the answer was lost", false, email, fault{sesProxy, nil, faultproxy.Rule{After: true, Drop: true, Times: 1}}, false, 503, "email_provider_unavailable", 202, 1, 1},
	}
	tn := newTenant(t, "fr")
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			id := newInvoice(t, tn)
			if row.withLink {
				call(t, "POST", "/invoices/"+id+"/payment-link", tn.Staff, nil).want(t, 201)
			}
			to := "fault-" + randomHex(6) + "@example.com"
			var body any
			if row.emails >= 0 {
				body = map[string]any{"includePaymentLink": true, "to": to}
			}
			rule := row.fault.rule
			if row.fault.match != nil {
				rule.Match = row.fault.match(tn.Account, id)
			} else {
				rule.Match = func(r *faultproxy.Request) bool { return r.Form.Get("Destinations.member.1") == to }
			}
			injected := row.fault.proxy().Inject(rule)
			rq := row.request(id)
			key := "fault-" + randomHex(8)
			var first *response
			if row.viaCrash {
				first = callAPI(t, env.crashAPI.URL, rq.method, rq.path, tn.Staff, body, "Idempotency-Key", key)
			} else {
				first = call(t, rq.method, rq.path, tn.Staff, body, "Idempotency-Key", key)
			}
			if row.firstCode != "" {
				first.wantError(t, row.first, row.firstCode)
				if first.Status == 503 && first.Header.Get("Retry-After") == "" {
					t.Fatal("503 without Retry-After")
				}
			} else {
				first.want(t, row.first)
			}
			row.fault.proxy().Remove(injected)
			if row.emails >= 0 {
				flushSES(t) // SES publishes its events within seconds
			}
			retry := retryUntilSettled(t, rq.method, rq.path, tn.Staff, body, "Idempotency-Key", key)
			if row.first < 500 && row.firstCode == "" {
				// A success is replayed under its key.
				retry.want(t, row.first)
			} else {
				retry.want(t, row.retry)
			}
			if made := checkLinks(t, tn, id); made != row.links {
				t.Fatalf("%d links made at Stripe, want %d", made, row.links)
			}
			if n := sesReceived(t, to); row.emails >= 0 && n != row.emails {
				t.Fatalf("SES received %d e-mails, want %d", n, row.emails)
			}
		})
	}
}
