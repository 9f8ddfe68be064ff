// Package conformance checks that a server implements Plannr CRM's
// OAuth2-connections API as its contract (api/openapi.yaml) says: not only the
// shapes that schema tools check, but the semantics too. Does the server let
// one user rename another's connection, ignore a null label, never move
// updated_at, or answer a 404 in plain text? Then a named check fails and says
// which request it sent, what came back and what was expected.
//
// Point it at any implementation with two users' tokens: Execute returns a
// Report, Run runs the checks as subtests of a go test, and the command
// plannr-conformance wraps Execute for CI. Every answer is also validated
// against the spec embedded in package gen: its status is declared for the
// operation, its headers and body match their schemas, and an error is JSON
// with a string message.
//
// The first user (Target.Token) needs one connection, two for the delete
// checks; the second (Target.OtherToken) needs one for the tenancy check.
// Checks that lack what they need skip and say why. Checks that change labels
// put the original label back; with ReadOnly, checks that delete or exhaust the
// rate limit are skipped and the kit paces itself to a request budget, so that
// it can be pointed at Plannr's production API with personal tokens.
package conformance

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultBudget is the requests a minute the kit sends under ReadOnly when
// Target.Budget is 0: a quarter of the 500 a minute Plannr allows a user.
const DefaultBudget = 120

// Target is the server under test and how to test it.
type Target struct {
	// BaseURL is the server's root, e.g. "http://127.0.0.1:8080"; paths such as
	// /api/v1/oauth/connections are appended to it.
	BaseURL string
	// Token and OtherToken are the bearer tokens of two different users.
	Token, OtherToken string
	// ReadOnly skips every check that would leave the data changed (deletes,
	// the rate-limit drive) and paces the requests to Budget. Label changes are
	// made, and undone, so updated_at of the first user's first connection moves.
	ReadOnly bool
	// Budget is the most requests the kit sends in any minute. 0 means
	// DefaultBudget under ReadOnly and no limit otherwise; negative means no
	// limit.
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
	// Writes is set on checks that delete data or exhaust the rate limit;
	// ReadOnly skips them.
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

// Failure is one broken expectation: the request, the answer and what was
// expected of it. Tokens are shown as <token> and <other-token>.
type Failure struct {
	Request  string      `json:"request"`
	Status   int         `json:"status,omitempty"`
	Header   http.Header `json:"header,omitempty"`
	Body     string      `json:"body,omitempty"` // at most 500 bytes
	Expected string      `json:"expected"`
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
// a bad Target, or a first user whose connections cannot be listed.
func Execute(ctx context.Context, target Target) (*Report, error) {
	r, err := newRunner(ctx, target)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{}
	for _, chk := range r.selected {
		rep.Results = append(rep.Results, r.run(chk))
	}
	rep.Requests = r.client.count()
	rep.Duration = time.Since(start)
	return rep, nil
}

type check struct {
	Check
	fn func(*probe)
}

// runner holds what every check shares.
type runner struct {
	ctx      context.Context
	target   Target
	client   *client
	spec     *spec
	selected []*check
	// conns and others are the users' connections as first listed.
	conns, others []connection
}

func newRunner(ctx context.Context, t Target) (*runner, error) {
	if t.BaseURL == "" || t.Token == "" || t.OtherToken == "" {
		return nil, errors.New("conformance: BaseURL, Token and OtherToken are required")
	}
	if t.Token == t.OtherToken {
		return nil, errors.New("conformance: Token and OtherToken must be two users' tokens")
	}
	var filter *regexp.Regexp
	if t.Run != "" {
		var err error
		if filter, err = regexp.Compile(t.Run); err != nil {
			return nil, fmt.Errorf("conformance: Run: %w", err)
		}
	}
	sp, err := loadSpec()
	if err != nil {
		return nil, err
	}
	budget := t.Budget
	if budget == 0 && t.ReadOnly {
		budget = DefaultBudget
	}
	r := &runner{ctx: ctx, target: t, spec: sp, client: newClient(t, budget)}
	for _, c := range registry {
		if filter != nil && !filter.MatchString(c.Name) || filter == nil && c.OptIn {
			continue
		}
		r.selected = append(r.selected, c)
	}
	// The users' connections, as the checks find them: a user whose list
	// fails cannot be tested at all.
	var err1, err2 error
	r.conns, err1 = r.setupList(t.Token)
	r.others, err2 = r.setupList(t.OtherToken)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return r, nil
}

// setupList lists the connections of token's user before the checks run. Only
// a list it cannot read stops the run; list_connections reports the rest.
func (r *runner) setupList(token string) (conns []connection, err error) {
	res := Result{Check: "setup"}
	c := &probe{r: r, res: &res}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if _, ok := v.(stop); !ok {
			panic(v)
		}
		f := res.Failures[len(res.Failures)-1] // the one that stopped it
		err = fmt.Errorf("conformance: listing the connections of %s: expected %s", c.redact(token), f.Expected)
		if f.Status != 0 {
			err = fmt.Errorf("%w; got %d %s", err, f.Status, f.Body)
		}
	}()
	conns, _ = c.list(token)
	return conns, nil
}

// probe is the state of one running check, passed to its function.
type probe struct {
	r        *runner
	res      *Result
	cleanups []func()
}

// stop ends a check early, from any depth of its function.
type stop struct{}

func (r *runner) run(chk *check) (res Result) {
	res = Result{Check: chk.Name, Outcome: Pass}
	if chk.Writes && r.target.ReadOnly {
		res.Outcome, res.Reason = Skip, "changes data or exhausts the rate limit, and -readonly is set"
		return res
	}
	c := &probe{r: r, res: &res}
	start, before := time.Now(), r.client.count()
	defer func() {
		res.Duration = time.Since(start)
		res.Requests = r.client.count() - before
	}()
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stop); !ok {
					buf := make([]byte, 4096)
					c.fail(nil, "no panic; got %v\n%s", v, buf[:runtime.Stack(buf, false)])
				}
			}
		}()
		defer c.runCleanups()
		chk.fn(c)
	}()
	if len(res.Failures) > 0 {
		res.Outcome, res.Reason = Fail, ""
	}
	return res
}

func (c *probe) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
}

// cleanup registers f to run when the check ends, however it ends.
func (c *probe) cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

// fail records a broken expectation about ex (nil when no request is at fault).
func (c *probe) fail(ex *exchange, format string, args ...any) {
	f := Failure{Expected: fmt.Sprintf(format, args...)}
	if ex != nil {
		f.Request = c.describe(ex)
		f.Status = ex.Status
		f.Header = ex.Header
		f.Body = excerpt(ex.Body)
	}
	c.res.Failures = append(c.res.Failures, f)
}

// fatal records a failure and ends the check.
func (c *probe) fatal(ex *exchange, format string, args ...any) {
	c.fail(ex, format, args...)
	panic(stop{})
}

// skip ends the check as skipped, unless it has already failed.
func (c *probe) skip(format string, args ...any) {
	c.res.Outcome, c.res.Reason = Skip, fmt.Sprintf(format, args...)
	panic(stop{})
}

// redact names a token by its role, so that reports never show one, not even
// in the Basic credentials the auth checks send.
func (c *probe) redact(s string) string {
	for _, t := range []struct{ token, name string }{{c.r.target.Token, "<token>"}, {c.r.target.OtherToken, "<other-token>"}} {
		s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte(t.token+":")), "base64("+t.name+":)")
		s = strings.ReplaceAll(s, t.token, t.name)
	}
	return s
}

// excerpt is the start of a body for a report, quoted if it is not text.
func excerpt(b []byte) string {
	const limit = 500
	if len(b) <= limit {
		if !utf8.Valid(b) {
			return strconv.Quote(string(b))
		}
		return string(b)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", excerpt(b[:cut]), len(b))
}
