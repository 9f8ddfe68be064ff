//go:build tools

// Package tools pins the versions of the code generators that go generate runs,
// so that every machine and CI produce byte-identical gen/ files, and of the
// linter (go run honnef.co/go/tools/cmd/staticcheck ./...), so that its findings
// do not change with whoever runs it.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
