package conformance_test

import (
	"context"
	"fmt"
	"log"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// Execute runs the checks against a server and reports on each; here, the
// label checks against this module's own server.
func Example() {
	srv, err := plannrtest.Start(plannrtest.WithUser("bob-token", plannrtest.Connection{}))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	rep, err := conformance.Execute(context.Background(), conformance.Target{
		BaseURL:    srv.URL,
		Token:      srv.Token,
		OtherToken: "bob-token",
		Run:        "^label_(set|null_clears|max_length)$",
	})
	if err != nil {
		log.Fatal(err)
	}
	// rep.WriteText(os.Stdout) would also print each failure's request,
	// answer and expectation.
	for _, res := range rep.Results {
		fmt.Println(res.Outcome, res.Check)
	}
	fmt.Println("passed:", rep.Passed())
	// Output:
	// pass label_set
	// pass label_null_clears
	// pass label_max_length
	// passed: true
}
