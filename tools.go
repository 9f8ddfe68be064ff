//go:build tools

// Package tools pins the versions of the code generators that go generate runs,
// so that every machine and CI produce byte-identical gen/ files.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
