// Package awssecrets reads the platform's Stripe secrets from AWS Secrets
// Manager: on first use (never during a Lambda's init), then from memory for
// the life of the execution environment, read again when Stripe says the
// key we hold is wrong (it was rotated).
package awssecrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// API is the part of the Secrets Manager client used.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// StripeSecrets is the secret's JSON: {"stripeApiKey":"sk_…","stripeWebhookSecret":"whsec_…"}.
type StripeSecrets struct {
	APIKey        string `json:"stripeApiKey"`
	WebhookSecret string `json:"stripeWebhookSecret"`
}

// minRefresh spaces reads forced by a refusal: a flood of forged webhook
// signatures must not become a flood of Secrets Manager calls.
const minRefresh = time.Minute

// Stripe holds the platform's Stripe secrets. It is a stripegateway.KeySource
// and the webhook reader's secret source. Safe for concurrent use.
type Stripe struct {
	client   API
	secretID string
	now      func() time.Time

	mu     sync.Mutex
	value  *StripeSecrets
	readAt time.Time
}

// NewStripe reads secretID (name or ARN) when first needed.
func NewStripe(client API, secretID string) *Stripe {
	return &Stripe{client: client, secretID: secretID, now: time.Now}
}

// get returns the cached secrets, reading them first if needed or if force
// and the last read is old enough.
func (s *Stripe) get(ctx context.Context, force bool) (*StripeSecrets, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != nil && (!force || s.now().Sub(s.readAt) < minRefresh) {
		return s.value, nil
	}
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.secretID})
	if err != nil {
		if s.value != nil {
			return s.value, nil // keep serving what we had
		}
		return nil, fmt.Errorf("read the Stripe secret: %w", err)
	}
	if out.SecretString == nil {
		return nil, errors.New("the Stripe secret has no string value")
	}
	var v StripeSecrets
	if err := json.Unmarshal([]byte(*out.SecretString), &v); err != nil {
		return nil, errors.New("the Stripe secret is not the expected JSON") // never echo the value
	}
	if v.APIKey == "" && v.WebhookSecret == "" {
		return nil, errors.New("the Stripe secret holds neither stripeApiKey nor stripeWebhookSecret")
	}
	s.value, s.readAt = &v, s.now()
	return s.value, nil
}

// StripeKey implements stripegateway.KeySource.
func (s *Stripe) StripeKey(ctx context.Context) (string, error) {
	v, err := s.get(ctx, false)
	if err != nil {
		return "", err
	}
	if v.APIKey == "" {
		return "", errors.New("the Stripe secret has no stripeApiKey")
	}
	return v.APIKey, nil
}

// RefreshStripeKey implements stripegateway.KeySource.
func (s *Stripe) RefreshStripeKey(ctx context.Context) (string, error) {
	if _, err := s.get(ctx, true); err != nil {
		return "", err
	}
	return s.StripeKey(ctx)
}

// WebhookSecret returns the webhook endpoint's signing secret.
func (s *Stripe) WebhookSecret(ctx context.Context) (string, error) {
	v, err := s.get(ctx, false)
	if err != nil {
		return "", err
	}
	if v.WebhookSecret == "" {
		return "", errors.New("the Stripe secret has no stripeWebhookSecret")
	}
	return v.WebhookSecret, nil
}

// RefreshWebhookSecret reads the secret again (at most once a minute).
func (s *Stripe) RefreshWebhookSecret(ctx context.Context) (string, error) {
	if _, err := s.get(ctx, true); err != nil {
		return "", err
	}
	return s.WebhookSecret(ctx)
}
