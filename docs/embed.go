// Package docs carries the API's OpenAPI description, which the local API
// serves and the tests validate every answer against.
package docs

import _ "embed"

// OpenAPI is openapi.yaml: the whole HTTP contract, OpenAPI 3.1.
//
//go:embed openapi.yaml
var OpenAPI []byte
