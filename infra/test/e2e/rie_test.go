package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
	"github.com/clinicpay/payments/infra/local/localapi"
	"github.com/clinicpay/payments/infra/local/localservers"
	"github.com/clinicpay/payments/infra/local/localses"
	"github.com/clinicpay/payments/infra/test/faultproxy"
	"github.com/clinicpay/payments/infra/test/iamcheck"
	"github.com/clinicpay/payments/infra/test/lambdarie"
	"github.com/clinicpay/payments/internal/httpapi"
	"github.com/clinicpay/payments/internal/jobs"
	"github.com/clinicpay/payments/internal/sqsqueue/message"
)

// buildBootstraps builds every function as SAM does (make build-<LogicalId>),
// for this machine's architecture.
func buildBootstraps(t *testing.T) map[string]string {
	t.Helper()
	root, _ := samtemplate.RepoRoot()
	dir := t.TempDir()
	out := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	var functions []string
	for _, r := range httpapi.Routes {
		functions = append(functions, r.Function)
	}
	for _, f := range jobs.Functions {
		functions = append(functions, f.Function)
	}
	for _, name := range functions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			bootstrap, err := lambdarie.Build(root, name, runtime.GOARCH, filepath.Join(dir, name))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			out[name] = bootstrap
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// startLambda runs a function's bootstrap under aws-lambda-rie with the
// environment template.yaml gives it (lambdaEnv), its AWS calls going
// through its own recording endpoint, so they are held against its policy.
func startLambda(t *testing.T, function, bootstrap string, extraEnv ...string) *lambdarie.Function {
	t.Helper()
	tools, err := localservers.FindTools()
	if err == nil {
		err = localservers.Require(tools.LambdaRIE())
	}
	if err != nil {
		t.Fatal(err)
	}
	endpoint := iamcheck.Endpoint(function, iamcheck.Upstreams{DynamoDB: env.dynamo.URL, SES: env.ses.URL, SecretsManager: env.secrets.URL, SQS: env.sqs.URL})
	t.Cleanup(endpoint.Close)
	environ, err := lambdaEnv(function, endpoint.URL)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := lambdarie.Start(tools.LambdaRIE(), bootstrap, append(environ, extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	return fn
}

var apiEvent = lambdarie.APIEvent

// TestFunctionsUnderLambdaRuntime: each function, built as SAM builds it,
// runs under the Lambda runtime interface emulator against the local stack:
// it answers its contract, and for the same event it answers exactly what
// the local API's in-process handler answers.
func TestFunctionsUnderLambdaRuntime(t *testing.T) {
	t.Parallel()
	bootstraps := buildBootstraps(t)

	tn := newTenant(t, "fr")
	staff := map[string]string{"billing_company_id": tn.ID, "iss": localapi.Issuer, "aud": localapi.Audience}
	admin := map[string]string{"billing_company_id": tn.ID, "scope": "billing:admin"}
	platform := map[string]string{"scope": "billing:platform"}
	withLink := linkedInvoice(t, tn, 12500)
	bare := newInvoice(t, tn)
	toLink := newInvoice(t, tn)
	toReprice := linkedInvoice(t, tn, 9000).invoiceID
	repriceJSON, _ := json.Marshal(invoiceBody("F-"+toReprice, 9000, 4000, "fr"))
	toRemove := linkedInvoice(t, tn, 7000).invoiceID
	toEmail := newInvoice(t, tn)
	paid := linkedInvoice(t, tn, 5000)
	paidEvent := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, paid.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))
	deliver(t, paidEvent).want(t, 200)
	invoiceJSON, _ := json.Marshal(invoiceBody("F-"+withLink.invoiceID, 12500, 12500, "fr"))
	// A clinic without a Stripe account, for onboarding; its first attempt
	// meets a Stripe outage (its Idempotency-Key is freed), the second
	// connects it.
	newcomer := bareTenant(t)
	call(t, "PUT", "/billing-companies/"+newcomer.ID, newcomer.Admin, `{"name":"Clinique Neuve","replyToEmail":"n@clinique.example","defaultLanguage":"fr"}`).want(t, 200)
	outage := env.stripe.Inject(faultproxy.Rule{
		Match: func(r *faultproxy.Request) bool {
			return r.Path == "/v1/accounts" && r.Form.Get("metadata[billing_company_id]") == newcomer.ID
		},
		Times: 1, Status: 500, Body: `{"error":{"type":"api_error","message":"boom"}}`, Header: jsonHeader,
	})
	t.Cleanup(func() { env.stripe.Remove(outage) })
	newcomerAdmin := map[string]string{"billing_company_id": newcomer.ID, "scope": "billing:admin"}
	onboarding := map[string]string{"companyId": newcomer.ID}
	inv := func(id string) map[string]string { return map[string]string{"invoiceId": id} }
	company := map[string]string{"companyId": tn.ID}
	// Clinics with an address, for the readers' functions: one whose
	// reader is listed, one whose reader is deleted.
	listed, deleting := readerTenant(t), readerTenant(t)
	registerReader(t, listed, "Front desk").want(t, 201)
	toDelete := registerReader(t, deleting, "Front desk").want(t, 201).str("id")
	listedStaff := map[string]string{"billing_company_id": listed.ID}
	deletingAdmin := map[string]string{"billing_company_id": deleting.ID, "scope": "billing:admin"}
	readerParam := map[string]string{"readerId": toDelete}

	type check struct {
		event events.APIGatewayV2HTTPRequest
		want  int
		same  bool // compare with the in-process handler's answer
	}
	cases := map[string][]check{
		"PutBillingCompanyFunction": {
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, platform, `{"name":"Clinique Saint-Louis","replyToEmail":"facturation@clinique.example","defaultLanguage":"fr","stripeAccountId":"`+tn.Account+`"}`, nil), 200, false},
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, admin, `{"name":""}`, nil), 400, true},
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, staff, `{}`, nil), 403, true},
		},
		"StartStripeOnboardingFunction": {
			{apiEvent("POST", "/billing-companies/"+newcomer.ID+"/stripe-onboarding", onboarding, newcomerAdmin, "", map[string]string{"idempotency-key": "onboard-" + randomHex(6)}), 503, false},
			{apiEvent("POST", "/billing-companies/"+newcomer.ID+"/stripe-onboarding", onboarding, newcomerAdmin, "", nil), 201, false},
			{apiEvent("POST", "/billing-companies/"+newcomer.ID+"/stripe-onboarding", onboarding, staff, "", nil), 403, true},
		},
		"ListInvoicesFunction": {
			{apiEvent("GET", "/invoices", nil, staff, "", nil), 200, false}, // other tests add invoices meanwhile
		},
		"GetBillingCompanyFunction": {
			{apiEvent("GET", "/billing-companies/"+tn.ID, company, admin, "", nil), 200, false},
			{apiEvent("GET", "/billing-companies/other", map[string]string{"companyId": "other"}, admin, "", nil), 404, true},
		},
		"PutInvoiceFunction": {
			{apiEvent("PUT", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, string(invoiceJSON), nil), 200, true},
			{apiEvent("PUT", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, `{"total":-1}`, nil), 400, true},
			// A new balance ends the active link at Stripe first.
			{apiEvent("PUT", "/invoices/"+toReprice, inv(toReprice), staff, string(repriceJSON), nil), 200, false},
		},
		"GetInvoiceFunction": {
			{apiEvent("GET", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, "", nil), 200, true},
			{apiEvent("GET", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), nil, "", nil), 401, true},
		},
		"CreatePaymentLinkFunction": {
			{apiEvent("POST", "/invoices/"+withLink.invoiceID+"/payment-link", inv(withLink.invoiceID), staff, "", nil), 200, true},
			{apiEvent("POST", "/invoices/"+paid.invoiceID+"/payment-link", inv(paid.invoiceID), staff, "", nil), 409, true},
			{apiEvent("POST", "/invoices/"+toLink+"/payment-link", inv(toLink), staff, "", nil), 201, false},
		},
		"RegeneratePaymentLinkFunction": {
			{apiEvent("POST", "/invoices/"+bare+"/payment-link/regenerate", inv(bare), staff, "", nil), 201, false},
			{apiEvent("POST", "/invoices/missing/payment-link/regenerate", inv("missing"), staff, "", nil), 404, true},
		},
		"RemovePaymentLinkFunction": {
			{apiEvent("DELETE", "/invoices/"+toRemove+"/payment-link", inv(toRemove), staff, "", nil), 204, false},
			{apiEvent("DELETE", "/invoices/"+toRemove+"/payment-link", inv(toRemove), staff, "", nil), 409, true},
		},
		"SendInvoiceEmailFunction": {
			{apiEvent("POST", "/invoices/"+toEmail+"/emails", inv(toEmail), staff, `{"includePaymentLink":true}`, nil), 202, false},
			{apiEvent("POST", "/invoices/"+toEmail+"/emails", inv(toEmail), staff, `{"language":"de"}`, nil), 400, true},
		},
		"ListPaymentsFunction": {
			{apiEvent("GET", "/payments", nil, staff, "", nil), 200, true},
		},
		"RegisterReaderFunction": {
			{apiEvent("POST", "/readers", nil, deletingAdmin, `{"registrationCode":"simulated-wpe","label":"Back office"}`, nil), 201, false},
			{apiEvent("POST", "/readers", nil, staff, `{"registrationCode":"simulated-wpe","label":"Desk"}`, nil), 403, true},
		},
		"ListReadersFunction": {
			{apiEvent("GET", "/readers", nil, listedStaff, "", nil), 200, true},
		},
		"DeleteReaderFunction": {
			{apiEvent("DELETE", "/readers/"+toDelete, readerParam, deletingAdmin, "", nil), 204, false},
			{apiEvent("DELETE", "/readers/"+toDelete, readerParam, deletingAdmin, "", nil), 404, true},
		},
		"PutInvoiceRemindersFunction": {
			{apiEvent("PUT", "/invoices/"+bare+"/reminders", inv(bare), staff, `{"paused":true}`, nil), 200, false},
			{apiEvent("PUT", "/invoices/"+bare+"/reminders", inv(bare), staff, `{"paused":"no"}`, nil), 400, true},
		},
		"StripeWebhookFunction": {
			{apiEvent("POST", "/webhooks/stripe", nil, nil, string(paidEvent), map[string]string{"stripe-signature": sign(paidEvent, localservers.WebhookSecret, time.Now())}), 200, true},
			{apiEvent("POST", "/webhooks/stripe", nil, nil, string(paidEvent), map[string]string{"stripe-signature": "t=1,v1=00"}), 400, true},
		},
	}
	t.Run("SendRemindersFunction", func(t *testing.T) {
		t.Parallel()
		// A clinic with a policy and an invoice whose reminder is due; the
		// run is this clinic's only (the detail an operator may give), at
		// the reminder's time: it reads the due work and queues it; the
		// worker makes the link (reading the Stripe secret as in AWS) and
		// sends the reminder.
		clinic := newTenant(t, "fr")
		settings(t, clinic, map[string]any{"reminders": map[string]any{"afterDue": []int{2}}})
		due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 5)
		addr := patientAddress()
		id := invoiceFor(t, clinic, addr, 4400, due.Format("2006-01-02"), "fr")
		fn := startLambda(t, jobs.Scheduler.Function, bootstraps[jobs.Scheduler.Function])
		at := due.AddDate(0, 0, 2).Add(14 * time.Hour)
		run := "rie-" + randomHex(4)
		ev := map[string]any{"version": "0", "id": run, "detail-type": "Scheduled Event", "source": "aws.events",
			"account": iamAccountID, "time": at.Format(time.RFC3339), "region": "ca-central-1", "resources": []string{},
			"detail": map[string]any{"company": clinic.ID}}
		env.jobs.Follow(run)
		raw, err := fn.InvokeRaw(ev)
		if err != nil {
			t.Fatal(err)
		}
		// The invoice, and the clinic (its policy is new: its invoices
		// are planned again).
		var rep struct{ Planned, Queued int }
		if err := json.Unmarshal(raw, &rep); err != nil || rep.Planned != 2 || rep.Queued != 2 {
			t.Fatalf("run: %s", raw)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if c, err := env.jobs.Wait(ctx, run, rep.Queued); err != nil || c.Failed+c.DeadLettered != 0 {
			t.Fatalf("the run's work: %+v %v", c, err)
		}
		if mails := mailsTo(t, addr); len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, "Rappel") {
			t.Fatalf("%+v", mails)
		}
		emails, _ := emailsOf(t, clinic, id)
		if len(emails) != 1 || emails[0]["kind"] != "reminder" || emails[0]["paymentLinkId"] == nil {
			t.Fatalf("%v", emails)
		}
	})
	t.Run("PreTrafficProbe", func(t *testing.T) {
		t.Parallel()
		probeEveryFunction(t, bootstraps)
	})
	t.Run("ScheduledWorkFunction", func(t *testing.T) {
		t.Parallel()
		// The worker under RIE, given a batch as Lambda's event source
		// mapping gives it: the reminder due goes once (the second record
		// is the same item, delivered again), and a record that is not a
		// work item is reported as failed (for the dead-letter queue).
		clinic := newTenant(t, "fr")
		settings(t, clinic, map[string]any{"reminders": map[string]any{"afterDue": []int{1}}})
		due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 3)
		addr := patientAddress()
		id := invoiceFor(t, clinic, addr, 4100, due.Format("2006-01-02"), "fr")
		item := billing.WorkMessage{CompanyID: clinic.ID, InvoiceID: id, Now: due.AddDate(0, 0, 1).Add(14 * time.Hour), Run: "rie"}
		body, _ := message.Encode([]billing.WorkMessage{item})
		fn := startLambda(t, jobs.Worker.Function, bootstraps[jobs.Worker.Function])
		batch := events.SQSEvent{Records: []events.SQSMessage{
			{MessageId: "m1", Body: string(body), EventSource: "aws:sqs"},
			{MessageId: "m2", Body: string(body), EventSource: "aws:sqs"},
			{MessageId: "m3", Body: `{"not":"work"}`, EventSource: "aws:sqs"},
		}}
		raw, err := fn.InvokeRaw(batch)
		if err != nil || string(raw) != `{"batchItemFailures":[{"itemIdentifier":"m3"}]}` {
			t.Fatalf("%s %v", raw, err)
		}
		if mails := mailsTo(t, addr); len(mails) != 1 || !strings.HasPrefix(mails[0].Subject, "Rappel") {
			t.Fatalf("%+v", mails)
		}
	})
	t.Run("EmailEventsFunction", func(t *testing.T) {
		t.Parallel()
		addr := manualEvents + randomHex(5) + "@example.com"
		id := invoiceFor(t, tn, addr, 3000, "", "fr")
		sent := call(t, "POST", "/invoices/"+id+"/emails", tn.Staff, map[string]any{}).want(t, 202)
		m := sentMail(t, sent.str("messageId"))
		fn := startLambda(t, jobs.EmailEvents.Function, bootstraps[jobs.EmailEvents.Function])
		for _, ev := range [][]byte{
			localses.Event(m, billing.EmailEventBounce, localses.EventOptions{BounceType: "Permanent", BounceSubType: "General"}),
			[]byte(`{"source":"aws.ses","detail":{}}`), // not an event: dropped, not retried
		} {
			if raw, err := fn.InvokeRaw(ev); err != nil || string(raw) != "null" {
				t.Fatalf("%s %v", raw, err)
			}
		}
		if _, last := emailsOf(t, tn, id); last != "bounced" {
			t.Fatalf("after the bounce under RIE: %s", last)
		}
	})
	for name, checks := range cases {
		bootstrap := bootstraps[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn := startLambda(t, name, bootstrap)
			for i, c := range checks {
				got, err := fn.Invoke(c.event)
				if err != nil {
					t.Fatal(err)
				}
				if got.StatusCode != c.want {
					t.Fatalf("check %d: %d, want %d: %s", i, got.StatusCode, c.want, got.Body)
				}
				if !c.same {
					continue
				}
				local, err := env.handlers[c.event.RouteKey](context.Background(), c.event)
				if err != nil {
					t.Fatal(err)
				}
				if local.StatusCode != got.StatusCode || local.Body != got.Body || local.Headers["Content-Type"] != got.Headers["Content-Type"] {
					t.Fatalf("check %d: under RIE %d %s\nin process %d %s", i, got.StatusCode, got.Body, local.StatusCode, local.Body)
				}
			}
			if testing.Verbose() {
				fmt.Printf("%s: %d checks under aws-lambda-rie\n", name, len(checks))
			}
		})
	}
}
