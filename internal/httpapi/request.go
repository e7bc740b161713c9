package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clinicpay/payments/internal/billing"
)

// MaxBodyBytes is the largest request body accepted; MaxWebhookBytes the
// largest webhook delivery (Stripe's events are a few kilobytes).
const (
	MaxBodyBytes    = 64 << 10
	MaxWebhookBytes = 512 << 10
)

// call is one request being served.
type call struct {
	req            events.APIGatewayV2HTTPRequest
	tenant         string
	idempotencyKey string
	err            error
	logAttrs       []slog.Attr
}

func (c *call) pathParam(name string) string { return c.req.PathParameters[name] }
func (c *call) invoiceID() string            { return c.pathParam("invoiceId") }

// authenticate reads the claims the JWT authorizer (API Gateway's, or the
// local API's) verified and put in the request context. The tenant comes
// from the token only, never from the path or the body.
func (c *call) authenticate(tenantClaim string, need access) error {
	auth := c.req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || len(auth.JWT.Claims) == 0 {
		return billing.Errorf(billing.CodeUnauthorized, "a valid bearer token is required")
	}
	claims := auth.JWT.Claims
	tenant := claims[tenantClaim]
	if tenant == "" {
		return billing.Errorf(billing.CodeForbidden, "the token does not name a billing company (claim %s)", tenantClaim)
	}
	if !billing.ValidID(tenant) {
		return billing.Errorf(billing.CodeForbidden, "the token's billing company id is not valid")
	}
	c.tenant = tenant
	if need == adminAccess && !slices.Contains(scopes(claims["scope"], auth.JWT.Scopes), AdminScope) {
		return billing.Errorf(billing.CodeForbidden, "this route needs the %s scope", AdminScope)
	}
	return nil
}

// scopes reads the space-separated scope claim. API Gateway renders a JSON
// array claim as "[a b]", so brackets are dropped too.
func scopes(claim string, extra []string) []string {
	claim = strings.Trim(claim, "[]")
	return append(strings.Fields(claim), extra...)
}

// rawBody returns the body's bytes exactly as the client sent them (base64-
// decoded when API Gateway encoded it), refusing more than max bytes.
func (c *call) rawBody(max int) ([]byte, error) {
	if len(c.req.Body) > 2*max { // cheap check before decoding
		return nil, billing.Errorf(billing.CodePayloadTooLarge, "the request body must be at most %d bytes", max)
	}
	body := []byte(c.req.Body)
	if c.req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(c.req.Body); err != nil {
			return nil, billing.Invalid("body", "the request body is not valid base64")
		}
	}
	if len(body) > max {
		return nil, billing.Errorf(billing.CodePayloadTooLarge, "the request body must be at most %d bytes", max)
	}
	return body, nil
}

// decode reads the JSON body into dst: at most MaxBodyBytes, no unknown
// fields, nothing after the value.
func (c *call) decode(dst any) error {
	body, err := c.rawBody(MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return billing.Invalid("body", "a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			if path := unknownField(body, reflect.TypeOf(dst)); path != "" {
				return billing.Invalid(path, "unknown field %q", path)
			}
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return billing.Invalid("body", "the request body must hold one JSON object")
	}
	return nil
}

// jsonError names the field a decoding error is about.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return billing.Invalid("body", "the request body must be a JSON object")
		}
		return billing.Invalid(field, "%s must be a JSON %s", field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return billing.Invalid("body", "the request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return billing.Invalid(field, "unknown field %q", field)
	}
	return billing.Invalid("body", "the request body is not valid JSON")
}

// unknownField finds the full path ("patient.ramq") of the first field in
// body that the type has no place for; encoding/json names only the key.
func unknownField(body []byte, t reflect.Type) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return walkUnknown(v, t, "")
}

func walkUnknown(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return ""
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := jsonField(t, k)
			if !ok {
				return join(k)
			}
			if p := walkUnknown(v[k], f.Type, join(k)); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return ""
		}
		for i, x := range v {
			if p := walkUnknown(x, t.Elem(), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonField finds the struct field encoding/json would fill for key.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" && strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int64", "int", "int32":
		return "integer"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "ptr":
		return "object"
	}
	return "value of another type"
}
