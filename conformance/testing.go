package conformance

import "testing"

// Run runs the checks target selects as subtests of t, one per check: a
// failed check fails its subtest with every failure in the log, a skipped one
// skips it. A target that cannot be tested at all fails t. An implementation
// runs the kit from its own tests so:
//
//	func TestConformance(t *testing.T) {
//		srv := startMyServer(t) // with two users, the first owning two connections
//		conformance.Run(t, conformance.Target{BaseURL: srv.URL, Token: "t1", OtherToken: "t2"})
//	}
//
// and go test -run 'TestConformance/tenant_isolation' runs one check.
func Run(t *testing.T, target Target) {
	t.Helper()
	r, err := newRunner(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	for _, chk := range r.selected {
		t.Run(chk.Name, func(t *testing.T) {
			res, _ := r.run(chk)
			for _, f := range res.Failures {
				t.Error(f.String())
			}
			if res.Outcome == Skip {
				t.Skip(res.Reason)
			}
		})
	}
}
