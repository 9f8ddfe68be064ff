package conformance

import (
	"testing"
)

// Run runs the checks target selects as subtests of t, one per check: a
// failed check fails its subtest with every failure in the log, a skipped one
// skips it. A target that cannot be tested at all fails t.
func Run(t *testing.T, target Target) {
	t.Helper()
	r, err := newRunner(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	for _, chk := range r.selected {
		t.Run(chk.Name, func(t *testing.T) {
			res := r.run(chk)
			for _, f := range res.Failures {
				t.Error(f.String())
			}
			if res.Outcome == Skip {
				t.Skip(res.Reason)
			}
		})
	}
}
