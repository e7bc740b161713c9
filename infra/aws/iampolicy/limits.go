package iampolicy

import (
	"encoding/json"
	"fmt"
	"unicode"
)

// IAM's size quotas (IAM and AWS STS quotas, IAM User Guide), in
// characters of the policy document, white space not counted.
const (
	MaxManagedPolicyChars     = 6144  // a customer managed policy
	MaxRoleInlineChars        = 10240 // a role's inline policies, together
	MaxTrustPolicyChars       = 2048  // a role's trust policy (default quota, raisable to 4,096)
	MaxManagedPoliciesPerRole = 10    // managed policies attached to a role (default quota, raisable to 20)
)

// Size is a policy document's size as IAM counts it: the characters of
// its JSON text without white space (a document given as plain values is
// written compactly first; IAM's count does not depend on the layout).
// Policy documents may only hold tab, line feed, carriage return and
// U+0020 to U+00FF: a character outside is an error.
func Size(doc any) (int, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return 0, fmt.Errorf("policy document: %w", err)
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		b = []byte(s) // a document given as its JSON text
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("policy document: %w", err)
	}
	compact, err := marshalNoEscape(v)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range compact {
		switch {
		case r > 0xFF:
			return 0, fmt.Errorf("policy document: %q is outside the characters IAM accepts (U+0020 to U+00FF)", r)
		case !unicode.IsSpace(r):
			n++
		}
	}
	return n, nil
}

// marshalNoEscape writes v as JSON without escaping <, > and & (IAM
// counts the characters themselves).
func marshalNoEscape(v any) (string, error) {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("policy document: %w", err)
	}
	return string(buf), nil
}

type jsonBuffer []byte

func (b *jsonBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// CheckManaged reports a managed policy over IAM's 6,144 characters.
func CheckManaged(doc any) error {
	return check(MaxManagedPolicyChars, "a managed policy", doc)
}

// CheckRoleInline reports a role whose inline policies together are over
// IAM's 10,240 characters.
func CheckRoleInline(docs ...any) error {
	return check(MaxRoleInlineChars, "a role's inline policies together", docs...)
}

// CheckTrust reports a trust policy over IAM's default 2,048 characters.
func CheckTrust(doc any) error {
	return check(MaxTrustPolicyChars, "a trust policy", doc)
}

func check(limit int, what string, docs ...any) error {
	total := 0
	for _, d := range docs {
		n, err := Size(d)
		if err != nil {
			return err
		}
		total += n
	}
	if total > limit {
		return fmt.Errorf("%d characters without white space; IAM allows %d for %s", total, limit, what)
	}
	return nil
}
