package iamcheck

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/clinicpay/payments/infra/local/localapi"
)

// Upstreams are the base URLs a function's AWS calls go on to (the
// recording proxies in front of the local servers).
type Upstreams struct {
	DynamoDB, SES, SecretsManager, SQS string
}

// Endpoint is one function's own AWS endpoint, for a function that runs in
// its own process (under aws-lambda-rie), where no context can say which
// function a call is for: point the function's AWS_ENDPOINT_URL_DYNAMODB,
// _SES, _SECRETS_MANAGER and _SQS at it. It marks each call with the function
// (localapi.FunctionHeader) and passes it on to the service's upstream,
// chosen from the call's SigV4 credential scope.
func Endpoint(function string, up Upstreams) *httptest.Server {
	proxies := map[string]*httputil.ReverseProxy{}
	for service, base := range map[string]string{"dynamodb": up.DynamoDB, "ses": up.SES, "secretsmanager": up.SecretsManager, "sqs": up.SQS} {
		if base == "" {
			continue
		}
		u, err := url.Parse(base)
		if err != nil {
			panic(err)
		}
		proxies[service] = httputil.NewSingleHostReverseProxy(u)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service, _ := credentialScope(r.Header.Get("Authorization"))
		if service == "email" {
			service = "ses"
		}
		p := proxies[service]
		if p == nil {
			http.Error(w, "no upstream for service "+strings.TrimSpace(service), http.StatusBadGateway)
			return
		}
		r.Header.Set(localapi.FunctionHeader, function)
		p.ServeHTTP(w, r)
	}))
}
