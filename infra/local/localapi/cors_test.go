package localapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCORSAsAPIGatewayAnswers: the preflight is answered before routing and
// the authorizer, from the template's configuration; an origin, method or
// header not allowed gets no CORS headers (the browser stops there).
func TestCORSAsAPIGatewayAnswers(t *testing.T) {
	cors, err := CORSFromTemplate([]string{"http://localhost:3001"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{Secret: DefaultSecret, CORS: cors}}
	preflight := func(origin, method, headers string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "/invoices/F-1", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		r.Header.Set("Access-Control-Request-Headers", headers)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := preflight("http://localhost:3001", "PUT", "authorization,content-type,if-match,idempotency-key")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3001" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "if-match") || w.Header().Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("allowed preflight: %d %v", w.Code, w.Header())
	}
	for _, tc := range []struct{ origin, method, headers string }{
		{"http://evil.example", "PUT", "authorization"},
		{"http://localhost:3001", "PATCH", "authorization"},
		{"http://localhost:3001", "PUT", "authorization,x-secret"},
	} {
		if w := preflight(tc.origin, tc.method, tc.headers); w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%+v: %d %v", tc, w.Code, w.Header())
		}
	}
	// The actual request: an allowed origin can read the exposed headers,
	// even on an error answer (here: no route is bound).
	r := httptest.NewRequest(http.MethodGet, "/invoices/F-1", nil)
	r.Header.Set("Origin", "http://localhost:3001")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 404 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3001" || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "etag") {
		t.Fatalf("actual request: %d %v", w.Code, w.Header())
	}
	r.Header.Set("Origin", "http://evil.example")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin got %v", w.Header())
	}
}
