// Package docs carries the API's OpenAPI description, which the local API
// serves and the tests validate every answer against.
package docs

import "embed"

// OpenAPI is openapi.yaml: the whole HTTP contract, OpenAPI 3.1.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Help is the help for clinic staff, in Markdown: help/fr.md and
// help/en.md, with the console's screenshots they show (help/images, taken
// by the console's browser test); make dev's console serves them, rendered,
// at /help/<lang>.
//
//go:embed help/*.md help/images/*.png
var Help embed.FS
