package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: defaultGOGC unless the environment sets the collector's target
// or its memory limit.
func TestTuneGC(t *testing.T) {
	const before = 123
	defer debug.SetGCPercent(debug.SetGCPercent(before))
	for _, tt := range []struct {
		name string
		env  map[string]string
		want int
	}{
		{"neither set", nil, defaultGOGC},
		{"GOGC set", map[string]string{"GOGC": "100"}, before},
		{"GOGC=off", map[string]string{"GOGC": "off"}, before},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, before},
	} {
		debug.SetGCPercent(before)
		tuneGC(func(k string) string { return tt.env[k] })
		if got := debug.SetGCPercent(before); got != tt.want {
			t.Errorf("%s: GOGC %d, want %d", tt.name, got, tt.want)
		}
	}
}
