package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/infra/localapi"
	"github.com/clinicpay/payments/infra/localstack"
	"github.com/clinicpay/payments/infra/samtemplate"
	"github.com/clinicpay/payments/internal/httpapi"
)

// lambdaProcess is one function's bootstrap running under aws-lambda-rie.
type lambdaProcess struct {
	url  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

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
	for _, r := range httpapi.Routes {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			artifacts := filepath.Join(dir, r.Function)
			cmd := exec.Command("make", "-s", "-C", root, "build-"+r.Function, "GOARCH="+goarch(), "ARTIFACTS_DIR="+artifacts)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("make build-%s: %v\n%s", r.Function, err, b)
				return
			}
			mu.Lock()
			out[r.Function] = filepath.Join(artifacts, "bootstrap")
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func goarch() string {
	out, _ := exec.Command("go", "env", "GOARCH").Output()
	return string(bytes.TrimSpace(out))
}

// startLambda runs a bootstrap under aws-lambda-rie with the process's
// environment (the local stack's settings) on free ports.
func startLambda(t *testing.T, bootstrap string) *lambdaProcess {
	t.Helper()
	tools, err := localstack.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := localstack.FreePort()
	apiPort, _ := localstack.FreePort()
	p := &lambdaProcess{url: "http://127.0.0.1:" + strconv.Itoa(port) + "/2015-03-31/functions/function/invocations", logs: &bytes.Buffer{}}
	p.cmd = exec.Command(tools.LambdaRIE(),
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	p.cmd.Env = append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=25")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Wait()
	})
	return p
}

// invoke sends an event the way Lambda's frontend does and returns the
// function's answer.
func (p *lambdaProcess) invoke(t *testing.T, event any) events.APIGatewayV2HTTPResponse {
	t.Helper()
	body, _ := json.Marshal(event)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(p.url, "application/json", bytes.NewReader(body))
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("RIE does not answer: %v\n%s", err, p.logs)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode == 0 {
			t.Fatalf("not an API Gateway answer: %s\n%s", raw, p.logs)
		}
		return out
	}
}

// apiEvent is the payload-format-2.0 event API Gateway sends for a request
// that passed the JWT authorizer with these claims (nil: no authorizer).
func apiEvent(method, path string, params map[string]string, claims map[string]string, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	route := ""
	for _, r := range httpapi.Routes {
		if r.Method == method && pathMatches(r.Path, path) {
			route = r.Key()
		}
	}
	h := map[string]string{"content-type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: h, PathParameters: params, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "rie", DomainName: "rie.example", RequestID: "rie-" + randomHex(6),
			RouteKey: route, Stage: "$default", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func pathMatches(pattern, path string) bool {
	ps, xs := split(pattern), split(path)
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] && !(len(ps[i]) > 1 && ps[i][0] == '{') {
			return false
		}
	}
	return true
}

func split(p string) []string {
	var out []string
	for _, s := range bytes.Split([]byte(p), []byte("/")) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out
}

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
	withLink := linkedInvoice(t, tn, 12500)
	bare := newInvoice(t, tn)
	toRemove := linkedInvoice(t, tn, 7000).invoiceID
	toEmail := newInvoice(t, tn)
	paid := linkedInvoice(t, tn, 5000)
	paidEvent := stripeEvent("evt_"+randomHex(10), "checkout.session.completed", tn.Account, paid.session("cs_test_"+randomHex(8), "pi_"+randomHex(8), "paid"))
	deliver(t, paidEvent).want(t, 200)
	invoiceJSON, _ := json.Marshal(invoiceBody("F-"+withLink.invoiceID, 12500, 12500, "fr"))
	inv := func(id string) map[string]string { return map[string]string{"invoiceId": id} }
	company := map[string]string{"companyId": tn.ID}

	type check struct {
		event events.APIGatewayV2HTTPRequest
		want  int
		same  bool // compare with the in-process handler's answer
	}
	cases := map[string][]check{
		"PutBillingCompanyFunction": {
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, admin, `{"name":"Clinique Saint-Louis","replyToEmail":"facturation@clinique.example","defaultLanguage":"fr","stripeAccountId":"`+tn.Account+`"}`, nil), 200, false},
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, admin, `{"name":""}`, nil), 400, true},
			{apiEvent("PUT", "/billing-companies/"+tn.ID, company, staff, `{}`, nil), 403, true},
		},
		"GetBillingCompanyFunction": {
			{apiEvent("GET", "/billing-companies/"+tn.ID, company, admin, "", nil), 200, false},
			{apiEvent("GET", "/billing-companies/other", map[string]string{"companyId": "other"}, admin, "", nil), 404, true},
		},
		"PutInvoiceFunction": {
			{apiEvent("PUT", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, string(invoiceJSON), nil), 200, true},
			{apiEvent("PUT", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, `{"total":-1}`, nil), 400, true},
		},
		"GetInvoiceFunction": {
			{apiEvent("GET", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), staff, "", nil), 200, true},
			{apiEvent("GET", "/invoices/"+withLink.invoiceID, inv(withLink.invoiceID), nil, "", nil), 401, true},
		},
		"CreatePaymentLinkFunction": {
			{apiEvent("POST", "/invoices/"+withLink.invoiceID+"/payment-link", inv(withLink.invoiceID), staff, "", nil), 200, true},
			{apiEvent("POST", "/invoices/"+paid.invoiceID+"/payment-link", inv(paid.invoiceID), staff, "", nil), 409, true},
		},
		"RegeneratePaymentLinkFunction": {
			{apiEvent("POST", "/invoices/"+bare+"/payment-link/regenerate", inv(bare), staff, "", nil), 201, false},
			{apiEvent("POST", "/invoices/missing/payment-link/regenerate", inv("missing"), staff, "", nil), 404, true},
		},
		"RemovePaymentLinkFunction": {
			{apiEvent("DELETE", "/invoices/"+toRemove+"/payment-link", inv(toRemove), staff, "", nil), 204, false},
			{apiEvent("DELETE", "/invoices/"+toRemove+"/payment-link", inv(toRemove), staff, "", nil), 404, true},
		},
		"SendInvoiceEmailFunction": {
			{apiEvent("POST", "/invoices/"+toEmail+"/emails", inv(toEmail), staff, `{"includePaymentLink":true}`, nil), 202, false},
			{apiEvent("POST", "/invoices/"+toEmail+"/emails", inv(toEmail), staff, `{"language":"de"}`, nil), 400, true},
		},
		"ListPaymentsFunction": {
			{apiEvent("GET", "/payments", nil, staff, "", nil), 200, true},
		},
		"StripeWebhookFunction": {
			{apiEvent("POST", "/webhooks/stripe", nil, nil, string(paidEvent), map[string]string{"stripe-signature": sign(paidEvent, localstack.WebhookSecret, time.Now())}), 200, true},
			{apiEvent("POST", "/webhooks/stripe", nil, nil, string(paidEvent), map[string]string{"stripe-signature": "t=1,v1=00"}), 400, true},
		},
	}
	for name, checks := range cases {
		bootstrap := bootstraps[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn := startLambda(t, bootstrap)
			for i, c := range checks {
				got := fn.invoke(t, c.event)
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
