package localservers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// LocalStripeSecretARN is the Stripe secret's ARN on the local stack.
const LocalStripeSecretARN = "arn:aws:secretsmanager:ca-central-1:000000000000:secret:clinicpay/local/stripe-AbCdEf"

// LocalStripeSecret is its value, in the JSON shape the deployed secret has.
var LocalStripeSecret = `{"stripeApiKey":"` + StripeMockKey + `","stripeWebhookSecret":"` + WebhookSecret + `"}`

// SecretsManager is Secrets Manager's GetSecretValue over loopback (the
// JSON protocol the SDK speaks), holding fixed secrets by ARN, so the
// functions run their deployed code path: STRIPE_SECRET_ARN, read on first
// use. Other operations and unknown ids answer as Secrets Manager does.
type SecretsManager struct {
	*httptest.Server
}

// NewSecretsManager serves the given secrets (ARN → SecretString).
func NewSecretsManager(secrets map[string]string) *SecretsManager {
	return &SecretsManager{httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fail := func(status int, typ, msg string) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			fail(http.StatusBadRequest, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
			return
		}
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			fail(http.StatusBadRequest, "InvalidAction", "only GetSecretValue is served locally")
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		if err := json.Unmarshal(body, &in); err != nil {
			fail(http.StatusBadRequest, "SerializationException", "bad JSON")
			return
		}
		value, ok := secrets[in.SecretId]
		if !ok {
			fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		name := in.SecretId[strings.LastIndex(in.SecretId, ":")+1:]
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": name, "SecretString": value, "VersionId": "local", "VersionStages": []string{"AWSCURRENT"}})
	}))}
}
