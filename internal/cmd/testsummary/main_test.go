package main

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestSummarize runs go test -json on the package in testdata/sample, and
// reads its events as make test does.
func TestSummarize(t *testing.T) {
	const (
		pkg     = "internal/cmd/testsummary/testdata/sample"
		skipped = `3 tests skipped:
  SAMPLE_SERVER is not set (start one):
    ` + pkg + `: TestNeedsAServer TestNeedsAServerToo
  no remote here:
    ` + pkg + `: TestBackends/remote
`
	)
	for _, tt := range []struct {
		name string
		fail string // SAMPLE_FAIL
		want string // with each duration as D
	}{
		{"every test passes or skips", "", "ok  \tgithub.com/plannr-toolkit/plannr-oauth/" + pkg + "\tD\n" + skipped},
		// The failure, and of the failing test's subtests only the one
		// that failed; as with go test -v, a message comes before its
		// test's --- FAIL line.
		{"a subtest fails", "1", `    sample_test.go:31: broken as asked
--- FAIL: TestFails/broken (D)
--- FAIL: TestFails (D)
FAIL
FAIL	github.com/plannr-toolkit/plannr-oauth/` + pkg + "\tD\n" + skipped},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("go", "test", "-json", "-count=1", "./testdata/sample")
			cmd.Env = append(os.Environ(), "SAMPLE_FAIL="+tt.fail)
			events, err := cmd.Output()
			var failed *exec.ExitError // go test's status when a test failed
			if err != nil && !(errors.As(err, &failed) && tt.fail != "") {
				t.Fatalf("go test: %v", err)
			}
			var out strings.Builder
			if err := summarize(strings.NewReader(string(events)), &out, "github.com/plannr-toolkit/plannr-oauth"); err != nil {
				t.Fatal(err)
			}
			if got := regexp.MustCompile(`\d+\.\d+s`).ReplaceAllString(out.String(), "D"); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
