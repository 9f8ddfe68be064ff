package conformance

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

type check struct {
	Check
	fn func(*probe)
}

// runner holds what every check shares.
type runner struct {
	ctx      context.Context
	target   Target
	client   *client
	api      *contract
	spec     *spec
	red      *redactor
	selected []*check
	// absent is a UUID that no user owns, new each run: the one target of a
	// PUT or DELETE under ReadOnly, and the unknown UUID of every check.
	absent string
	// conns and others are the users' connections as first listed. shared is
	// a connection in both lists, if any: then no connection is proved the
	// first user's own, and no check changes one.
	conns, others []connection
	shared        string
	// seen is what answers have shown so far of each connection.
	seen *observations
	// zones are the users' account zones, by token, where Target gives them.
	zones map[string]*time.Location
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
	api, err := loadContract()
	if err != nil {
		return nil, err
	}
	budget := t.Budget
	if budget == 0 && t.ReadOnly {
		budget = readOnlyBudget(api.limits)
	}
	r := &runner{ctx: ctx, target: t, api: api, spec: loadSpec(), client: newClient(t, budget),
		red: newRedactor(t.Token, t.OtherToken), absent: uuid.NewString(), seen: newObservations()}
	r.zones = map[string]*time.Location{}
	for _, z := range []struct{ token, zone, name string }{{t.Token, t.Zone, "Zone"}, {t.OtherToken, t.OtherZone, "OtherZone"}} {
		if z.zone == "" {
			continue
		}
		if r.zones[z.token], err = time.LoadLocation(z.zone); err != nil {
			return nil, fmt.Errorf("conformance: %s: %w", z.name, err)
		}
	}
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
	for _, c := range r.conns {
		if slices.ContainsFunc(r.others, func(o connection) bool { return o.UUID == c.UUID }) {
			r.shared = c.id()
			break
		}
	}
	if r.isKnown(r.absent) {
		return nil, fmt.Errorf("conformance: the random UUID %s is a user's connection", r.absent)
	}
	return r, nil
}

// readOnlyBudget is the requests a minute of a ReadOnly run given no Budget:
// DefaultBudget, or a quarter of what limits allow a user in a minute if
// that is less.
func readOnlyBudget(limits apispec.Limits) int {
	perMinute := int(int64(limits.RateLimit) * int64(time.Minute) / int64(limits.RateWindow))
	return max(1, min(DefaultBudget, perMinute/4))
}

// setupList lists the connections of token's user before the checks run. Only
// a list it cannot read stops the run; list_connections reports the rest.
func (r *runner) setupList(token string) (conns []connection, err error) {
	res := Result{Check: "setup"}
	c := &probe{r: r, ctx: r.ctx, res: &res}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if _, ok := v.(stop); !ok {
			panic(v)
		}
		f := res.Failures[len(res.Failures)-1] // the one that stopped it
		err = fmt.Errorf("conformance: listing the connections of %s: expected %s", r.red.string(token), f.Expected)
		if f.Status != 0 {
			err = fmt.Errorf("%w; the answer: %s", err, f.Body)
		}
	}()
	conns, _ = c.list(token)
	return conns, nil
}

// isAbsent reports whether path names the run's absent UUID, in any
// spelling, and no connection of either user.
func (r *runner) isAbsent(path string) bool {
	return strings.Contains(compact(path), compact(r.absent)) && !r.isKnown(path)
}

// isKnown reports whether s names a connection of either user, in any
// spelling.
func (r *runner) isKnown(s string) bool {
	s = compact(s)
	for _, c := range append(slices.Clone(r.conns), r.others...) {
		if strings.Contains(s, compact(c.id())) {
			return true
		}
	}
	return false
}

// compact is the hex digits of s, in lower case, so that every spelling of
// a UUID (dashes, braces, a URN, another separator, upper case) holds its 32.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'f' {
			return r
		}
		return -1
	}, s)
}

// probe is the state of one running check, passed to its function.
type probe struct {
	r *runner
	// ctx is what the check's requests go under: the run's, and then its
	// cleanups' (restoreContext).
	ctx      context.Context
	res      *Result
	cleanups []func()
	// last is the latest request, which a panic is reported with.
	last *exchange
	// wroteAbsent is whether a PUT or DELETE went to the absent UUID.
	wroteAbsent bool
}

// stop ends a check early, from any depth of its function.
type stop struct{}

// run runs chk. restore is what its cleanups failed to put back, also among
// res.Failures: all that an interrupted run may report of the check.
func (r *runner) run(chk *check) (res Result, restore []Failure) {
	res = Result{Check: chk.Name, Outcome: Pass}
	if chk.Writes && r.target.ReadOnly {
		res.Outcome, res.Reason = Skip, "needs a change to succeed (a PUT moves updated_at, a DELETE removes) or exhausts the rate limit, and -readonly changes nothing"
		return res, nil
	}
	if err := r.ctx.Err(); err != nil {
		res.Outcome, res.Reason = Skip, "the run was interrupted before it ("+err.Error()+")"
		return res, nil
	}
	c := &probe{r: r, ctx: r.ctx, res: &res}
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
					c.fail(c.last, "kit", "no panic in the check; got %v\n%s", v, buf[:runtime.Stack(buf, false)])
				}
			}
		}()
		defer func() {
			n := len(res.Failures)
			defer func() { restore = slices.Clone(res.Failures[n:]) }()
			c.runCleanups()
		}()
		c.cleanup(c.sweep) // the last to run
		chk.fn(c)
	}()
	if len(res.Failures) > 0 {
		res.Outcome, res.Reason = Fail, ""
	}
	return res, restore
}

// restoreTimeout is how long a check's cleanups may still go on once the
// run is interrupted: enough to put a label back, not enough to hang.
const restoreTimeout = 30 * time.Second

// restoreContext is ctx without its cancellation, so that an interrupted
// check still puts back what it changed; it ends restoreTimeout after ctx
// does. The timeout starts there, not at once: a request budget may pace
// the cleanups of a run that goes on.
func restoreContext(ctx context.Context) (context.Context, context.CancelFunc) {
	restore, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(restoreTimeout, cancel) })
	return restore, func() { stop(); cancel() }
}

func (c *probe) runCleanups() {
	ctx, cancel := restoreContext(c.ctx)
	defer cancel()
	c.ctx = ctx
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		func() {
			// A cleanup that stops ends itself, not the others.
			defer func() {
				if v := recover(); v != nil {
					if _, ok := v.(stop); !ok {
						panic(v)
					}
				}
			}()
			c.cleanups[i]()
		}()
	}
}

// cleanup registers f to run when the check ends, however it ends.
func (c *probe) cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

// fail records a broken expectation about field of ex's answer (ex nil when
// no request is at fault). format says what was expected, and what came.
// Every member is redacted, field too: it may be a name the server chose (a
// 422's errors, a header).
func (c *probe) fail(ex *exchange, field, format string, args ...any) {
	red := c.r.red
	f := Failure{Field: red.string(field), Expected: red.string(fmt.Sprintf(format, args...))}
	if ex != nil {
		f.Request = c.describe(ex)
		f.Status = ex.Status
		f.Header = red.header(ex.Header)
		f.Body = red.excerpt(ex.Body)
	}
	c.res.Failures = append(c.res.Failures, f)
}

// fatal records a failure and ends the check.
func (c *probe) fatal(ex *exchange, field, format string, args ...any) {
	c.fail(ex, field, format, args...)
	panic(stop{})
}

// skip ends the check as skipped, unless it has already failed.
func (c *probe) skip(format string, args ...any) {
	c.res.Outcome, c.res.Reason = Skip, c.r.red.string(fmt.Sprintf(format, args...))
	panic(stop{})
}
