// Command plannr-conformance checks that a server implements Plannr CRM's
// OAuth2-connections API as api/openapi.yaml says, semantics included. It
// runs the named checks of package conformance and exits 0 only when every
// check that ran passed.
//
//	plannr-conformance -base-url URL -token T1 -other-token T2 [-readonly] [-run REGEXP] [-json] [-junit FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // -zone works where the system has no zone database

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseurl"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
	"github.com/plannr-toolkit/plannr-oauth/internal/envflag"
)

const usage = `Usage: plannr-conformance -base-url URL -token T1 -other-token T2 [flags]

Checks that the server at URL implements Plannr CRM's OAuth2-connections API as
its contract says: every answer against the embedded OpenAPI document, and the
semantics no schema can say (tenancy, null clears a label, updated_at moves,
errors in JSON, ...). Every limit, message and route comes from the document.
URL may hold a path, where the API is mounted (http://host/plannr). T1 and T2
are the bearer tokens of two users: T1 needs a connection (two for the delete
checks), T2 one (for the tenancy check); their connections are found by
listing. A check changes only what it has proved is T1's own, and puts a
label back as it was. Reports show the tokens as <token> and <other-token>.

Ctrl-C stops the run once the running check has put back what it changed (for
at most 30 s); a second Ctrl-C ends the program at once.

Exit status: 0 when every check that ran passed, 1 when one failed, 2 when the
run could not start (bad flags, an unreachable server, a token that cannot list),
130 when interrupted by Ctrl-C (SIGINT) and 143 by SIGTERM (the report then
holds the checks that finished, and what the one cut off could not put back,
which fails it).

Against production, use -readonly: it changes nothing, even on a broken server
(only GET, HEAD, OPTIONS and TRACE, and other methods to a UUID no user owns,
where a connection the server makes anyway is deleted and fails its check; the
checks that need a change skip), at most -budget requests a minute (default %d).

Flags (tokens may come from the environment instead, to keep them out of ps):
`

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels the run, whose running check still puts
		// back what it changed; letting go of the signals leaves a second
		// one its default, which ends the program at once.
		sig := <-signals
		signal.Stop(signals)
		cancel(signalled{sig.(syscall.Signal)})
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// signalled is the cause of a run that a signal cancelled.
type signalled struct{ sig syscall.Signal }

func (s signalled) Error() string { return s.sig.String() + " signal received" }

// interrupted is the exit status of a run cancelled by ctx: what a shell
// reports of a command that the signal killed, 128 plus its number (130 for
// SIGINT, 143 for SIGTERM), so that a script stops as it would for one. A
// cancel without a signal is taken for SIGINT's.
func interrupted(ctx context.Context) int {
	var s signalled
	if errors.As(context.Cause(ctx), &s) {
		return 128 + int(s.sig)
	}
	return 128 + int(syscall.SIGINT)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plannr-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var t conformance.Target
	var asJSON, list, version bool
	var junit string
	timeout := 10 * time.Second
	// Read after the flags are parsed, never as their defaults, which the
	// usage prints: tokens included.
	env := envflag.Vars{}
	envVar := func(p *string, name, variable, usage string) {
		fs.StringVar(p, name, "", usage)
		env[name] = variable
	}
	envVar(&t.BaseURL, "base-url", "PLANNR_BASE_URL", "where the API is, e.g. http://127.0.0.1:8080 or http://host/plannr")
	envVar(&t.Token, "token", "PLANNR_TOKEN", "the first user's bearer token")
	envVar(&t.OtherToken, "other-token", "PLANNR_OTHER_TOKEN", "another user's bearer token")
	envVar(&t.Zone, "zone", "PLANNR_ZONE", "the first user's account time zone, e.g. Europe/London, if known: timestamps are then held to its offset")
	envVar(&t.OtherZone, "other-zone", "PLANNR_OTHER_ZONE", "the other user's account time zone, if known")
	fs.BoolVar(&t.ReadOnly, "readonly", false, "change nothing, not even updated_at: skip the checks that need a change, pace to -budget")
	fs.IntVar(&t.Budget, "budget", 0, fmt.Sprintf("most requests a minute; 0 means %d with -readonly and no limit without; negative, no limit", conformance.DefaultBudget))
	fs.StringVar(&t.Run, "run", "", "run only the checks whose name matches this regular expression; opt-in checks (ratelimit_drive) run only when it matches them")
	fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
	fs.StringVar(&junit, "junit", "", "also write the report as JUnit XML to `FILE`")
	fs.DurationVar(&timeout, "timeout", timeout, "how long one request may take; 0 for no limit")
	fs.BoolVar(&list, "list", false, "list the checks and exit")
	fs.BoolVar(&version, "version", false, "print the version and exit")
	env.Describe(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage, conformance.DefaultBudget)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nChecks, in the order they run:")
		_ = writeChecks(stderr) // nowhere to tell that stderr failed
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// A usage error, or a run that cannot start.
	fail := func(err error) int {
		fmt.Fprintln(stderr, "plannr-conformance:", err)
		return 2
	}
	if err := env.Apply(fs, os.Getenv); err != nil {
		return fail(err)
	}
	// What -version and -list print is all they do: a write that failed (a
	// full disk, /dev/full) is told, and is a failure, as coreutils' is.
	printed := func(err error) int {
		if err != nil {
			fmt.Fprintln(stderr, "plannr-conformance: could not write the output:", err)
			return 1
		}
		return 0
	}
	if version {
		_, err := fmt.Fprintln(stdout, "plannr-conformance", buildinfo.Read())
		return printed(err)
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if list {
		return printed(writeChecks(stdout))
	}
	if err := check(t, timeout); err != nil {
		return fail(err)
	}
	// Created now, so that a path it cannot be written to fails the run
	// before it starts rather than after every check.
	var junitFile *os.File
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			return fail(fmt.Errorf("-junit: %w", err))
		}
		junitFile = f
	}
	t.HTTPClient = &http.Client{Timeout: timeout}
	rep, err := conformance.Execute(ctx, t)
	if err != nil {
		if junitFile != nil {
			// No report, rather than an empty file that reads as one.
			_ = junitFile.Close()
			_ = os.Remove(junit)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "plannr-conformance: interrupted before the checks began")
			return interrupted(ctx)
		}
		return fail(err)
	}
	if err := writeReport(rep, asJSON, stdout, junitFile); err != nil {
		return fail(err)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "plannr-conformance: interrupted: the report holds the checks that finished, and what the one cut off could not put back")
		return interrupted(ctx)
	}
	if !rep.Passed() {
		return 1
	}
	return 0
}

// check refuses what the flags' types let through, before anything is sent:
// a run of no check would pass, having checked nothing.
func check(t conformance.Target, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("-timeout %v is negative", timeout)
	}
	if t.Run != "" {
		re, err := regexp.Compile(t.Run)
		if err != nil {
			return fmt.Errorf("-run: %w", err)
		}
		if !slices.ContainsFunc(conformance.Checks(), func(c conformance.Check) bool { return re.MatchString(c.Name) }) {
			return fmt.Errorf("-run %q matches no check: -list lists them", t.Run)
		}
	}
	if t.BaseURL != "" { // else Execute says that it is required
		if _, err := baseurl.Parse(t.BaseURL); err != nil {
			return fmt.Errorf("-base-url: %w", err)
		}
	}
	return nil
}

func writeChecks(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range conformance.Checks() {
		var notes []string
		if c.Writes {
			notes = append(notes, "skipped by -readonly")
		}
		if c.OptIn {
			notes = append(notes, "opt-in")
		}
		note := ""
		if len(notes) > 0 {
			note = " [" + strings.Join(notes, ", ") + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", c.Name, c.Description, note)
	}
	return tw.Flush()
}

// writeReport writes rep to stdout, as text or JSON, and as JUnit XML to
// junit unless it is nil, which it closes.
func writeReport(rep *conformance.Report, asJSON bool, stdout io.Writer, junit *os.File) error {
	write := rep.WriteText
	if asJSON {
		write = rep.WriteJSON
	}
	err := write(stdout)
	if junit != nil {
		err = errors.Join(err, rep.WriteJUnit(junit), junit.Close())
	}
	return err
}
