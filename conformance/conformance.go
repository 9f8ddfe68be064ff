// Package conformance checks that a server implements Plannr CRM's
// OAuth2-connections API as its contract (api/openapi.yaml) says: not only the
// shapes that schema tools check, but the semantics too. Does the server let
// one user rename another's connection, ignore a null label, never move
// updated_at, or answer a 404 in plain text? Then a named check fails and says
// which request it sent, what came back, which field broke and what was
// expected.
//
// Point it at any implementation with two users' tokens: Execute returns a
// Report, Run runs the checks as subtests of a go test, and the command
// plannr-conformance wraps Execute for CI. Every answer is also validated
// against the spec embedded in this module: its status is declared for the
// operation, its headers and body match their schemas, an error is JSON with
// a message of the spec's x-messages, and every connection an answer shows
// keeps the rules of timestamps, order and ownership the spec states. Every
// limit, message, route and status the kit checks is read from the spec.
//
// The first user (Target.Token) needs one connection, two for the delete
// checks; the second (Target.OtherToken) needs one for the tenancy check.
// Checks that lack what they need skip and say why. A check changes only a
// connection it has proved is the first user's own, and puts its label back;
// with ReadOnly nothing changes at all (see Target.ReadOnly), so that the kit
// can be pointed at Plannr's production API with personal tokens. Reports
// never show a token, whatever the server echoes.
package conformance

import (
	"context"
	"net/http"
	"time"
)

// DefaultBudget is the requests a minute the kit sends under ReadOnly when
// Target.Budget is 0: at most a quarter of what the spec's x-limits allow a
// user in a minute, and a quarter of theirs for a spec that allows less.
const DefaultBudget = 120

// Target is the server under test and how to test it.
type Target struct {
	// BaseURL is the server's root, e.g. "http://127.0.0.1:8080", or where the
	// API is mounted, "http://host/plannr": the spec's paths are appended to it.
	BaseURL string
	// Token and OtherToken are the bearer tokens of two different users.
	Token, OtherToken string
	// Zone and OtherZone are the IANA time zones of the two users' accounts
	// ("Europe/London"), if known: then every timestamp of theirs must be in
	// the zone's UTC offset at its instant. Without them the kit holds only
	// what no one zone does (two offsets for one instant, offsets more than
	// an hour apart). The program needs the zone database (time/tzdata).
	Zone, OtherZone string
	// ReadOnly changes nothing, even on a server that is lenient or broken:
	// the kit sends only GET, HEAD, OPTIONS and TRACE, and other methods (PUT,
	// DELETE, ...) to a UUID that no user owns (new each run, and absent from
	// both users' lists).
	// A server may still make a connection there, taking a PUT as a create:
	// after each check that sent one, the kit looks in both users' lists,
	// deletes the connection if it is there, and fails the check, saying if
	// it is still there. The checks that need a change to succeed (a label
	// set, a delete, the rate-limit drive) skip; even updated_at stays as it
	// was. The requests are paced to Budget.
	ReadOnly bool
	// Budget is the most requests the kit sends in any minute. 0 means
	// DefaultBudget under ReadOnly and no limit otherwise; negative means no
	// limit. Every attempt counts: a request that net/http's transport sends
	// again by itself (a GET, HEAD or OPTIONS whose kept-alive connection
	// closed under it) waits for a turn of its own, and the report counts
	// it; so does each attempt of an HTTPClient's transport that reports its
	// connections to net/http/httptrace, as net/http's does.
	Budget int
	// Run, if not empty, is a regular expression: only checks whose name it
	// matches run. Opt-in checks (the rate-limit drive) run only when it
	// matches them.
	Run string
	// HTTPClient sends the requests (nil: a client with a 10 s timeout). Its
	// CheckRedirect is replaced, since the kit checks redirects as answers.
	HTTPClient *http.Client
}

// Check describes one named check.
type Check struct {
	Name        string
	Description string
	// Writes is set on checks that need a change to succeed (a PUT, which
	// moves updated_at even when the label is put back; a DELETE) or that
	// exhaust the rate limit; ReadOnly skips them.
	Writes bool
	// OptIn checks run only when Target.Run matches their name.
	OptIn bool
}

// Checks lists every check, in the order they run.
func Checks() []Check {
	out := make([]Check, len(registry))
	for i, c := range registry {
		out[i] = c.Check
	}
	return out
}

// Outcome is what became of a check.
type Outcome string

// The outcomes of a check.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is the outcome of one check.
type Result struct {
	Check   string  `json:"check"`
	Outcome Outcome `json:"outcome"`
	// Reason says why a check was skipped.
	Reason   string        `json:"reason,omitempty"`
	Failures []Failure     `json:"failures,omitempty"`
	Requests int           `json:"requests"`
	Duration time.Duration `json:"duration_ns"`
}

// Failure is one broken expectation: the request, the answer, the field of
// the answer at fault and what was expected of it. Tokens are shown as
// <token> and <other-token> in every member, whatever the server echoed.
type Failure struct {
	Request string      `json:"request"`
	Status  int         `json:"status,omitempty"` // 0: no answer came
	Header  http.Header `json:"header,omitempty"`
	Body    string      `json:"body,omitempty"` // at most 500 bytes
	// Field is what broke the expectation: "status", "header Allow",
	// "body.data[1].created_at", ...
	Field    string `json:"field"`
	Expected string `json:"expected"`
}

// Report is the outcome of a run.
type Report struct {
	Results  []Result      `json:"results"`
	Requests int           `json:"requests"`
	Duration time.Duration `json:"duration_ns"`
}

// Passed reports whether every check that ran passed.
func (r *Report) Passed() bool {
	for _, res := range r.Results {
		if res.Outcome == Fail {
			return false
		}
	}
	return true
}

// Execute runs the checks Target selects, one after the other, and reports on
// each. It returns an error, and no report, only when the run cannot start:
// a bad Target, or a first user whose connections cannot be listed. Once ctx
// is done, the check running still puts back what it changed, for up to 30 s
// more, and the run stops: the report holds the checks that finished before,
// and not the one cut off, which has neither passed nor failed, unless it
// could not put back what it changed: it then fails with that alone.
func Execute(ctx context.Context, target Target) (*Report, error) {
	r, err := newRunner(ctx, target)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{}
	for _, chk := range r.selected {
		res, restore := r.run(chk)
		if ctx.Err() != nil {
			if len(restore) > 0 {
				res.Outcome, res.Reason, res.Failures = Fail, "", restore
				rep.Results = append(rep.Results, res)
			}
			break
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Requests = r.client.count()
	rep.Duration = time.Since(start)
	return rep, nil
}
