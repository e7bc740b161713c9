package localapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyToken: arbitrary claims, signed with the local secret or not,
// go through the local JWT authorizer. It accepts only tokens signed with the
// secret, from the local issuer, for the API's audience, not expired; and it
// passes every claim on as a string; a tenant claim that is not a JSON
// string is refused.
func FuzzVerifyToken(f *testing.F) {
	f.Add(`{"iss":"local","aud":"billing-api","billing_company_id":"c1","scope":"billing:admin"}`, true, int64(3600))
	f.Add(`{"iss":"local","aud":["billing-api","x"],"billing_company_id":"c1"}`, true, int64(60))
	f.Add(`{"iss":"evil","aud":"billing-api"}`, true, int64(60))
	f.Add(`{"iss":"local","aud":"billing-api","nbf":9999999999}`, true, int64(60))
	f.Add(`not json`, false, int64(-60))
	f.Add(`{"iss":"local","aud":"billing-api","billing_company_id":null}`, true, int64(60))
	f.Add(`{"iss":"local","aud":"billing-api","billing_company_id":123}`, true, int64(60))
	s := &Server{cfg: Config{Secret: DefaultSecret, TenantClaim: "billing_company_id"}}
	f.Fuzz(func(t *testing.T, claimsJSON string, goodKey bool, ttl int64) {
		var claims jwt.MapClaims
		if json.Unmarshal([]byte(claimsJSON), &claims) != nil || claims == nil {
			claims = jwt.MapClaims{}
		}
		claims["exp"] = time.Now().Add(time.Duration(ttl%100000) * time.Second).Unix()
		key := []byte(DefaultSecret)
		if !goodKey {
			key = []byte("another-secret")
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			return
		}
		got, err := s.verify("Bearer " + tok)
		if err != nil {
			return
		}
		if !goodKey {
			t.Fatal("accepted a token signed with another key")
		}
		if claims["iss"] != Issuer {
			t.Fatalf("accepted issuer %v", claims["iss"])
		}
		if !strings.Contains(got["aud"], Audience) {
			t.Fatalf("accepted audience %v", claims["aud"])
		}
		if ttl%100000 < -5 {
			t.Fatalf("accepted an expired token (ttl %d)", ttl)
		}
		if v, ok := claims["billing_company_id"]; ok {
			if _, isString := v.(string); !isString {
				t.Fatalf("accepted a tenant claim that is not a string: %v", v)
			}
		}
		if len(got) != len(claims) {
			t.Fatalf("claims lost: %v vs %v", got, claims)
		}
	})
}
