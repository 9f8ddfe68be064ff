package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	const rev = "8fe8b705351a74f0308d8e0c9cd072d2fc57f5c9"
	checkout := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
		{Key: "vcs.time", Value: "2026-11-27T08:56:33Z"}, {Key: "vcs.modified", Value: "false"}}
	dirty := append(checkout[:3:3], debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	tests := []struct {
		name       string
		bi         debug.BuildInfo
		want       Info
		wantString string
	}{
		{
			name:       "go install ...@v1.2.0",
			bi:         debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: modulePath, Version: "v1.2.0"}},
			want:       Info{Version: "v1.2.0", GoVersion: "go1.26.8"},
			wantString: "v1.2.0 (go1.26.8)",
		},
		{
			name: "checkout at a commit between tags",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: modulePath, Version: "v0.0.0-20261127085633-8fe8b705351a"},
				Settings: checkout},
			want:       Info{Version: "v0.0.0-20261127085633-8fe8b705351a", Revision: rev, Time: "2026-11-27T08:56:33Z", GoVersion: "go1.26.8"},
			wantString: "v0.0.0-20261127085633-8fe8b705351a (revision " + rev + ", 2026-11-27T08:56:33Z, go1.26.8)",
		},
		{
			name: "checkout with uncommitted changes",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: modulePath, Version: "v1.2.0+dirty"},
				Settings: dirty},
			want:       Info{Version: "v1.2.0+dirty", Revision: rev, Time: "2026-11-27T08:56:33Z", Modified: true, GoVersion: "go1.26.8"},
			wantString: "v1.2.0+dirty (revision " + rev + ", 2026-11-27T08:56:33Z, modified, go1.26.8)",
		},
		{
			name:       "go run, go test, -buildvcs=false",
			bi:         debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: modulePath, Version: "(devel)"}},
			want:       Info{Version: "devel", GoVersion: "go1.26.8"},
			wantString: "devel (go1.26.8)",
		},
		{
			name: "a program that depends on the module",
			bi: debug.BuildInfo{GoVersion: "go1.25.1", Main: debug.Module{Path: "example.com/app", Version: "(devel)"},
				Deps:     []*debug.Module{{Path: "github.com/google/uuid", Version: "v1.6.0"}, {Path: modulePath, Version: "v1.3.1"}},
				Settings: checkout},
			// The revision is the program's checkout, not ours: still a fact about the build.
			want:       Info{Version: "v1.3.1", Revision: rev, Time: "2026-11-27T08:56:33Z", GoVersion: "go1.25.1"},
			wantString: "v1.3.1 (revision " + rev + ", 2026-11-27T08:56:33Z, go1.25.1)",
		},
		{
			name:       "a program that does not depend on it",
			bi:         debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/app", Version: "v0.1.0"}},
			want:       Info{Version: "devel", GoVersion: "go1.26.8"},
			wantString: "devel (go1.26.8)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(&tt.bi)
			if got != tt.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.wantString {
				t.Errorf("String() = %q, want %q", s, tt.wantString)
			}
		})
	}
}

// TestRead: the test binary's own build info is read. Its version depends on
// how go test was run (devel, or a pseudo-version with -buildvcs=true).
func TestRead(t *testing.T) {
	got := Read()
	if got.Version == "" || got.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v", got)
	}
}
