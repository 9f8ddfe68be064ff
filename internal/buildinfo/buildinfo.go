// Package buildinfo says which build of this module a binary is, from what the
// Go toolchain recorded in it (runtime/debug.ReadBuildInfo), so that a bug
// report, a log or a metric can name what ran. The commands' -version flags,
// plannr-server's start log and plannr_build_info metric, and the client's
// User-Agent all read it here.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// modulePath is this module's: the binary is one of its commands, or a program
// that depends on it.
const modulePath = "github.com/plannr-toolkit/plannr-oauth"

// devel is the version of a build the toolchain gave none: go run, go test, or
// go build with -buildvcs=false or outside a repository.
const devel = "devel"

// Info is what a binary knows of the build that made it.
type Info struct {
	// Version is this module's version: a tag such as v1.2.0 when built by go
	// install ...@v1.2.0, as a dependency, or from a checkout at that tag; a
	// pseudo-version from a checkout between tags (with +dirty if it had
	// uncommitted changes); else "devel".
	Version string
	// Revision, Time and Modified are the commit a checkout was built at, its
	// time (RFC 3339) and whether the tree had uncommitted changes; Revision
	// is empty when the build recorded no version control (a module download,
	// -buildvcs=false).
	Revision string
	Time     string
	Modified bool
	// GoVersion is the toolchain's, e.g. go1.26.8.
	GoVersion string
}

// Read is the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok { // a binary built without module support
		return Info{Version: devel, GoVersion: runtime.Version()}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: moduleVersion(bi), GoVersion: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// moduleVersion is this module's version as the main module (a command of
// ours) or as a dependency (a program that imports the client).
func moduleVersion(bi *debug.BuildInfo) string {
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Path == modulePath {
			v = m.Version
		}
	}
	if v == "" || v == "(devel)" {
		return devel
	}
	return v
}

// String is the version, then in parentheses the commit, if recorded, and the
// Go version: "v1.2.0 (go1.26.8)", or for a checkout "v0.0.0-20261127085633-8fe8b705351a
// (revision 8fe8b705351a74f0308d8e0c9cd072d2fc57f5c9, 2026-11-27T08:56:33Z, go1.26.8)".
func (i Info) String() string {
	var details []string
	if i.Revision != "" {
		details = append(details, "revision "+i.Revision)
		if i.Time != "" {
			details = append(details, i.Time)
		}
		if i.Modified {
			details = append(details, "modified")
		}
	}
	details = append(details, i.GoVersion)
	return i.Version + " (" + strings.Join(details, ", ") + ")"
}
