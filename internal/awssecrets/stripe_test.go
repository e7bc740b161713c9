package awssecrets

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// secretsServer answers Secrets Manager's GetSecretValue (JSON protocol) over
// loopback, so the real SDK client is exercised: the secret can be rotated
// and reads are counted.
type secretsServer struct {
	*httptest.Server
	reads atomic.Int64
	mu    sync.Mutex
	value string
}

func newSecretsServer(t *testing.T, value string) *secretsServer {
	s := &secretsServer{value: value}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			http.Error(w, "bad request", 400)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		s.reads.Add(1)
		s.mu.Lock()
		v := s.value
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "clinicpay/stripe", "SecretString": v, "VersionId": "v1"})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *secretsServer) rotate(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value = v
}

func client(url string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(aws.Config{
		Region:      "ca-central-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}, func(o *secretsmanager.Options) { o.BaseEndpoint = &url })
}

func TestStripeSecretsReadOnFirstUseCachedRefreshedOnRotation(t *testing.T) {
	srv := newSecretsServer(t, `{"stripeApiKey":"sk_test_one","stripeWebhookSecret":"whsec_one"}`)
	s := NewStripe(client(srv.URL), "arn:aws:secretsmanager:ca-central-1:123:secret:clinicpay/stripe")
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ctx := context.Background()

	if srv.reads.Load() != 0 {
		t.Fatal("read before first use")
	}
	for range 5 {
		if k, err := s.StripeKey(ctx); err != nil || k != "sk_test_one" {
			t.Fatal(k, err)
		}
		if w, err := s.WebhookSecret(ctx); err != nil || w != "whsec_one" {
			t.Fatal(w, err)
		}
	}
	if n := srv.reads.Load(); n != 1 {
		t.Fatalf("%d reads, want 1 (cached)", n)
	}

	// Rotated: a refusal reads it again, but not more than once a minute.
	srv.rotate(`{"stripeApiKey":"sk_test_two","stripeWebhookSecret":"whsec_two"}`)
	if k, _ := s.RefreshStripeKey(ctx); k != "sk_test_one" {
		t.Fatalf("refreshed within a minute of the last read: %s", k)
	}
	now = now.Add(2 * time.Minute)
	if k, _ := s.RefreshStripeKey(ctx); k != "sk_test_two" {
		t.Fatalf("after rotation: %s", k)
	}
	if w, _ := s.WebhookSecret(ctx); w != "whsec_two" {
		t.Fatalf("webhook secret after rotation: %s", w)
	}
	if n := srv.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2", n)
	}
}

func TestStripeSecretErrorsNeverEchoTheValue(t *testing.T) {
	srv := newSecretsServer(t, `sk_live_notjson`)
	_, err := NewStripe(client(srv.URL), "x").StripeKey(context.Background())
	if err == nil || strings.Contains(err.Error(), "sk_live") {
		t.Fatalf("error %v", err)
	}
}
