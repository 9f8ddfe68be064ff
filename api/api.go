// Package api holds the OpenAPI document of Plannr's OAuth2-connections API, the
// hand-written source of truth that go generate turns into ../gen.
package api

import _ "embed"

// Spec is api/openapi.yaml byte for byte, comments included, as the server serves
// it at GET /openapi.yaml. gen.GetSpec() is the same document, parsed.
//
//go:embed openapi.yaml
var Spec []byte
