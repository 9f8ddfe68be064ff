// Package sample is the test of testsummary: tests that pass, skip, skip
// in part and, with SAMPLE_FAIL set, fail in part.
package sample

import (
	"os"
	"testing"
)

func TestPasses(t *testing.T) {
	t.Log("a passing test's log, never shown")
}

func TestNeedsAServer(t *testing.T) {
	t.Skip("SAMPLE_SERVER is not set (start one)")
}

func TestNeedsAServerToo(t *testing.T) {
	t.Skipf("SAMPLE_SERVER is not set (%s)", "start one")
}

func TestBackends(t *testing.T) {
	t.Run("memory", func(t *testing.T) {})
	t.Run("remote", func(t *testing.T) { t.Skip("no remote here") })
}

func TestFails(t *testing.T) {
	t.Run("fine", func(t *testing.T) { t.Log("a passing subtest's log, never shown") })
	t.Run("broken", func(t *testing.T) {
		if os.Getenv("SAMPLE_FAIL") != "" {
			t.Error("broken as asked")
		}
	})
}
