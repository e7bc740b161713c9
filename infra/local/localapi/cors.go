package localapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// CORS is the HTTP API's CORS configuration (CorsConfiguration in
// template.yaml). API Gateway answers the preflight itself, before any
// route or authorizer, and adds the headers to every answer of an allowed
// origin; the local API does the same.
type CORS struct {
	AllowOrigins, AllowHeaders, AllowMethods, ExposeHeaders []string
	MaxAge                                                  int
}

// CORSFromTemplate reads the API's CorsConfiguration from template.yaml,
// with the origins given (the template takes them from its
// CorsAllowedOrigins parameter; make dev from CORS_ALLOWED_ORIGINS). The
// block is resolved as CloudFormation would for those origins (it sits
// in an !If, for SAM's sake); infra/aws/cfntemplate checks that AWS's own
// translator builds the same.
func CORSFromTemplate(origins []string) (*CORS, error) {
	t, err := samtemplate.LoadFromRepo()
	if err != nil {
		return nil, err
	}
	for _, api := range t.Resources("AWS::Serverless::HttpApi") {
		n := samtemplate.Get(api.Node, "Properties", "CorsConfiguration")
		if n == nil {
			continue
		}
		stack := samtemplate.Stack{Params: map[string]string{"CorsAllowedOrigins": strings.Join(origins, ",")}}
		v, err := t.Resolve(n, stack)
		if err != nil {
			return nil, fmt.Errorf("CorsConfiguration: %w", err)
		}
		m, _ := v.(map[string]any)
		if m == nil {
			return nil, fmt.Errorf("CorsConfiguration: no CORS for origins %v", origins)
		}
		c := &CORS{
			AllowOrigins:  strs(m["AllowOrigins"]),
			AllowHeaders:  strs(m["AllowHeaders"]),
			AllowMethods:  strs(m["AllowMethods"]),
			ExposeHeaders: strs(m["ExposeHeaders"]),
		}
		if age, ok := m["MaxAge"]; ok {
			if c.MaxAge, err = strconv.Atoi(fmt.Sprint(age)); err != nil {
				return nil, fmt.Errorf("CorsConfiguration.MaxAge: %w", err)
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("template.yaml: no HttpApi with a CorsConfiguration")
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func (c *CORS) originAllowed(origin string) bool {
	return origin != "" && (slices.Contains(c.AllowOrigins, "*") || slices.ContainsFunc(c.AllowOrigins, func(o string) bool {
		return strings.EqualFold(strings.TrimRight(o, "/"), origin)
	}))
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) || x == "*" })
}

// allowOrigin sets the headers of an answer to an allowed origin.
func (c *CORS) allowOrigin(h http.Header, origin string) {
	h.Add("Vary", "Origin")
	if slices.Contains(c.AllowOrigins, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
}

// preflight answers an OPTIONS request from a browser; false when r is not
// one (an OPTIONS without Access-Control-Request-Method goes to routing).
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) bool {
	method := r.Header.Get("Access-Control-Request-Method")
	if r.Method != http.MethodOptions || method == "" {
		return false
	}
	origin := r.Header.Get("Origin")
	headersOK := true
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if h = strings.TrimSpace(h); h != "" && !containsFold(c.AllowHeaders, h) {
			headersOK = false
		}
	}
	if c.originAllowed(origin) && containsFold(c.AllowMethods, method) && headersOK {
		c.allowOrigin(w.Header(), origin)
		w.Header().Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		w.Header().Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		if c.MaxAge > 0 {
			w.Header().Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
		}
	}
	// Refused: no CORS headers, so the browser stops the request.
	w.WriteHeader(http.StatusNoContent)
	return true
}

// actual adds the headers of an answer to a request from an allowed origin.
func (c *CORS) actual(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if !c.originAllowed(origin) {
		return
	}
	c.allowOrigin(h, origin)
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
}
