package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/clinicpay/payments/docs"
)

// spec is openapi.yaml, against which every answer of the tests is checked.
var spec struct {
	router  routers.Router
	checked atomic.Int64
}

func loadSpec(servers ...string) error {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		return err
	}
	doc.Servers = nil
	for _, s := range servers {
		doc.Servers = append(doc.Servers, &openapi3.Server{URL: s})
	}
	spec.router, err = gorillamux.NewRouter(doc)
	return err
}

// validateAnswer checks an answer against openapi.yaml: its status is one
// the operation documents and its body matches the schema. Requests that
// match no route of the contract (the tests' deliberate wrong paths) are
// not checked.
func validateAnswer(t tb, method, url string, resp *http.Response, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := spec.router.FindRoute(req)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %.600s", method, url, resp.StatusCode, err, body)
		return
	}
	if h := undeclaredHeaders(route.Operation, resp); len(h) > 0 {
		t.Errorf("%s %s → %d sends headers openapi.yaml does not declare for it: %v", method, url, resp.StatusCode, h)
		return
	}
	spec.checked.Add(1)
}

// contractHeaders are the headers of the contract a client reads: an
// answer that carries one must have it declared for its status, so that a
// client generated from the file knows of it. (Transport headers, CORS's
// and Cache-Control are stated once in the file's description.)
var contractHeaders = []string{"ETag", "Retry-After", "Idempotent-Replayed"}

func undeclaredHeaders(op *openapi3.Operation, resp *http.Response) []string {
	ref := op.Responses.Status(resp.StatusCode)
	if ref == nil || ref.Value == nil {
		return nil // the status check above reports it
	}
	var missing []string
	for _, h := range contractHeaders {
		if resp.Header.Get(h) == "" {
			continue
		}
		if _, ok := ref.Value.Headers[h]; !ok {
			missing = append(missing, h)
		}
	}
	return missing
}
