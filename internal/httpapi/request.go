package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	caller         billing.Caller
	idempotencyKey string
	err            error
	logAttrs       []slog.Attr
	// header is added to the answer (ETag).
	header map[string]string
}

func (c *call) pathParam(name string) string { return c.req.PathParameters[name] }
func (c *call) invoiceID() string            { return c.pathParam("invoiceId") }

// authenticate reads the claims the JWT authorizer (API Gateway's, or the
// local API's) verified and put in the request context. The tenant comes
// from the token only, never from the path or the body.
//
// API Gateway passes every claim flattened to a string: a JSON array becomes
// "[a b]", null "null", a boolean "true"/"false". A tenant claim that was not
// a JSON string in the token therefore arrives as one of those renderings,
// and is refused, as is anything off the id pattern.
func (c *call) authenticate(tenantClaim string, need access) error {
	auth := c.req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || len(auth.JWT.Claims) == 0 {
		return billing.Errorf(billing.CodeUnauthorized, "a valid bearer token is required")
	}
	claims := auth.JWT.Claims
	words := scopeWords(claims["scope"])
	words = append(words, auth.JWT.Scopes...)
	c.caller = billing.Caller{Admin: slices.Contains(words, AdminScope), Platform: slices.Contains(words, PlatformScope)}
	tenant, tenantErr := tenantOf(claims[tenantClaim], tenantClaim)
	if need == adminAccess && c.caller.Platform {
		// The platform's operators act on any company, with or without a
		// tenant claim of their own.
		if tenantErr == nil {
			c.caller.Tenant = tenant
		}
		return nil
	}
	if c.caller.Platform {
		// The platform's operators connect clinics; they are no clinic's
		// staff, even with a token that also names one (a tenant claim
		// left on an operator's token must not open that clinic's invoices).
		return billing.Errorf(billing.CodeForbidden, "the %s scope does not act as a billing company's staff: use a token of the company, without that scope", PlatformScope)
	}
	if tenantErr != nil {
		return tenantErr
	}
	c.caller.Tenant = tenant
	if need == adminAccess && !c.caller.Admin {
		return billing.Errorf(billing.CodeForbidden, "this route needs the %s scope", AdminScope)
	}
	return nil
}

// tenantOf checks the tenant claim's value as API Gateway passed it.
func tenantOf(v, claim string) (string, error) {
	switch {
	case v == "":
		return "", billing.Errorf(billing.CodeForbidden, "the token does not name a billing company (claim %s)", claim)
	case v == "null" || v == "true" || v == "false" || strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") || !billing.ValidID(v):
		return "", billing.Errorf(billing.CodeForbidden, "the token's billing company id (claim %s) is not valid", claim)
	}
	return v, nil
}

// scopeWords reads the scope claim: space-separated words (RFC 8693
// section 4.2), or API Gateway's rendering "[a b]" of a JSON array. Only the
// ASCII space separates (a tab or a no-break space is part of a word, so
// "billing:admin\u00a0x" is not billing:admin), and brackets are dropped only
// as a pair around the whole value.
func scopeWords(claim string) []string {
	if len(claim) >= 2 && claim[0] == '[' && claim[len(claim)-1] == ']' {
		claim = claim[1 : len(claim)-1]
	}
	var words []string
	for _, w := range strings.Split(claim, " ") {
		if w != "" {
			words = append(words, w)
		}
	}
	return words
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

// decode reads the JSON body into dst, strictly: Content-Type
// application/json, valid UTF-8 (encoding/json would quietly turn broken
// bytes into U+FFFD), at most MaxBodyBytes, field names exactly as the
// contract writes them (encoding/json would take "TOTAL" for "total") and
// each once, no unknown fields, nothing after the value.
func (c *call) decode(dst any) error {
	if err := checkContentType(c.req.Headers["content-type"]); err != nil {
		return err
	}
	body, err := c.rawBody(MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return billing.Invalid("body", "a JSON request body is required")
	}
	if !utf8.Valid(body) {
		return billing.Invalid("body", "the request body must be valid UTF-8")
	}
	if err := checkKeys(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return billing.Invalid("body", "the request body must hold one JSON object")
	}
	return nil
}

// noBody refuses a body on a route that takes none: the contract refuses
// what it does not read (as it refuses unknown fields), so a client that
// sends {"amount":…} to make a link learns at once that it is ignored.
func (c *call) noBody() error {
	if c.req.Body != "" {
		route := c.req.RouteKey
		if route == "" {
			route = "this route"
		}
		return billing.Invalid("body", "%s takes no request body: send none (no JSON, not even {})", route)
	}
	return nil
}

// checkContentType accepts application/json, with no charset or UTF-8.
func checkContentType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return billing.Errorf(billing.CodeUnsupportedMediaType, "the request body must be JSON, sent with Content-Type: application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return billing.Errorf(billing.CodeUnsupportedMediaType, "the request body must be JSON in UTF-8 (charset=%s is not accepted)", cs)
	}
	return nil
}

// checkKeys walks the body's objects and refuses a key the destination type
// has no field for, compared exactly, or a key given twice; it names the
// key by its path ("patient.Email", "lines[0].tax"). Syntax and type errors
// are left to the decoder, which names them as precisely.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkKeys(dec, t, "")
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		t = nil // a type that reads itself (optionalString): any keys inside are its business
	}
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path)
	case json.Delim('['):
		return walkArray(dec, t, path)
	}
	return nil
}

// walkObject walks an object's members, after its '{' (t is nil when
// unknown: only keys twice are refused then).
func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := kt.(string)
		field := key
		if path != "" {
			field = path + "." + key
		}
		if seen[key] {
			return billing.Invalid(field, "%q is given twice", field)
		}
		seen[key] = true
		var ft reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			f, ok := jsonField(t, key)
			if !ok {
				return billing.Invalid(field, "unknown field %q (field names are case-sensitive)", field)
			}
			ft = f.Type
		}
		if err := walkKeys(dec, ft, field); err != nil {
			return err
		}
	}
	return readClose(dec)
}

// walkArray walks an array's elements, after its '['.
func walkArray(dec *json.Decoder, t reflect.Type, path string) error {
	var et reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		et = t.Elem()
	}
	for i := 0; dec.More(); i++ {
		if err := walkKeys(dec, et, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return readClose(dec)
}

// readClose reads the '}' or ']' that ends a walked value. A syntax error
// is not the walk's to report: the decoder names it.
func readClose(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return nil
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

// jsonField finds the struct field whose JSON name is exactly key.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" && name == key {
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
