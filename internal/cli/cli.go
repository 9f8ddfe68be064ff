// Package cli is the plannr command: the client of package client for a person
// at a terminal, or a script. cmd/plannr only wires it to the process, so that
// everything here runs in tests against plannrtest.
package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseurl"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
)

// Exit statuses.
const (
	exitOK    = 0
	exitAPI   = 1 // the API refused, failed or did not answer
	exitUsage = 2 // the command line is wrong; nothing was sent
	// exitOutput is help or the version not written (stdout on a full disk).
	exitOutput = 1
	// exitInterrupted is what a shell reports of a command that SIGINT
	// killed (128 + 2), so that a script stops as it would for one.
	exitInterrupted = 130
)

// defaultTimeout bounds a whole command, retries included.
const defaultTimeout = time.Minute

// usageFormat is the help: its verbs are the API's default address, the
// default timeout and the label's maxLength, the spec's.
const usageFormat = `Usage: plannr [flags] connections <command> [UUID] [flags]

Manage the OAuth2 connections of your Plannr CRM account.

Commands:
  connections list                         list your OAuth2 connections
  connections update UUID --label TEXT     change the label of a connection
  connections update UUID --clear-label    remove the label of a connection
  connections delete UUID                  delete a connection
  help                                     print this help

Flags, before or after the command (-flag works as well as --flag):
  --token TOKEN        your Plannr API token (default: $PLANNR_TOKEN, which
                       other users cannot read from the process list)
  --base-url URL       the API's address (default: $PLANNR_BASE_URL, else
                       %s)
  --json               print the API's JSON answer, for scripts; delete prints
                       nothing
  --timeout DURATION   give up after this long, retries included (default %s)
  --label TEXT         update: the new label, at most %d characters
  --clear-label        update: remove the label
  --version            print plannr's version and exit

Environment:
  PLANNR_TOKEN         the token, when --token is not given
  PLANNR_BASE_URL      the API's address, when --base-url is not given

Exit status: 0 on success, 1 when the API refuses or fails or the output cannot
be written, 2 on a usage error, 130 when interrupted (Ctrl-C).
`

// usage is the help, as printed.
var usage = fmt.Sprintf(usageFormat, client.DefaultBaseURL, defaultTimeout, plannroauth.LabelMaxLength())

// errHelp asks for the usage on stdout and a zero exit, errVersion for the
// version.
var (
	errHelp    = errors.New("help")
	errVersion = errors.New("version")
)

// Run runs the plannr command with args (os.Args[1:]) and returns its exit
// status. getenv is os.Getenv in the program and a map in tests.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	inv, err := parse(args, getenv)
	if errors.Is(err, errHelp) {
		_, err := fmt.Fprint(stdout, usage)
		return printed(stderr, err)
	}
	if errors.Is(err, errVersion) {
		_, err := fmt.Fprintln(stdout, "plannr", buildinfo.Read())
		return printed(stderr, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plannr: %v\nRun 'plannr help' for usage.\n", err)
		return exitUsage
	}
	callCtx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	if err := inv.cmd.run(callCtx, inv, stdout); err != nil {
		printError(stderr, err, inv)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitAPI
	}
	return exitOK
}

// printed is the exit status of a command whose work was to print, err its
// write's: one that failed (a full disk, /dev/full) lost what a script would
// read, so it is told, and is a failure, as coreutils' is.
func printed(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "plannr: could not write the output: %v\n", err)
		return exitOutput
	}
	return exitOK
}

// invocation is a parsed, checked command line.
type invocation struct {
	cmd     command
	client  *gen.ClientWithResponses
	answers *answers // what the client's attempts got
	baseURL string   // where the client sends, told when the answer is not the API's
	id      uuid.UUID
	label   nullable.Nullable[string] // update: the new label, or null
	json    bool
	timeout time.Duration
}

// command is one of the connections commands.
type command struct {
	takesID bool
	// flags are the command's own flags; the global ones go with every command.
	flags []string
	run   func(context.Context, invocation, io.Writer) error
}

var commands = map[string]command{
	"list":   {run: list},
	"update": {takesID: true, flags: []string{"label", "clear-label"}, run: update},
	"delete": {takesID: true, run: remove},
}

func parse(args []string, getenv func(string) string) (invocation, error) {
	inv := invocation{}
	fs := flag.NewFlagSet("plannr", flag.ContinueOnError)
	// Errors and help are printed by Run, in its own words.
	fs.SetOutput(io.Discard)
	token := fs.String("token", "", "")
	baseURL := fs.String("base-url", "", "")
	fs.BoolVar(&inv.json, "json", false, "")
	fs.DurationVar(&inv.timeout, "timeout", defaultTimeout, "")
	newLabel := fs.String("label", "", "")
	clearLabel := fs.Bool("clear-label", false, "")
	version := fs.Bool("version", false, "")

	words, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) || len(words) > 0 && words[0] == "help" {
		return inv, errHelp
	}
	if err != nil {
		return inv, err
	}
	if *version {
		return inv, errVersion
	}
	switch {
	case len(words) == 0:
		return inv, errors.New("missing command")
	case words[0] != "connections":
		return inv, fmt.Errorf("unknown command %q", words[0])
	case len(words) == 1:
		return inv, errors.New("connections: missing command: list, update or delete")
	}
	name := "connections " + words[1]
	cmd, ok := commands[words[1]]
	if !ok {
		return inv, fmt.Errorf("unknown command %q", name)
	}
	inv.cmd = cmd
	args = words[2:]
	if cmd.takesID {
		if len(args) == 0 {
			return inv, fmt.Errorf("%s: missing the connection's UUID", name)
		}
		if inv.id, err = uuid.Parse(args[0]); err != nil {
			return inv, fmt.Errorf("%s: %q is not a UUID", name, args[0])
		}
		args = args[1:]
	}
	if len(args) > 0 {
		return inv, fmt.Errorf("%s: unexpected arguments %q", name, args)
	}
	var refused error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case refused != nil:
		case !slices.Contains(globalFlags, f.Name) && !slices.Contains(cmd.flags, f.Name):
			refused = fmt.Errorf("%s does not take --%s", name, f.Name)
		case (f.Name == "token" || f.Name == "base-url") && f.Value.String() == "":
			// An unset variable in a script, typically: taking the
			// environment's value or the default instead would act for
			// another account, or on production.
			refused = fmt.Errorf("--%s is empty", f.Name)
		}
	})
	if refused != nil {
		return inv, refused
	}
	if words[1] == "update" {
		labelSet := isSet(fs, "label")
		if labelSet == *clearLabel {
			return inv, errors.New("connections update: give exactly one of --label TEXT and --clear-label")
		}
		inv.label = nullable.NewNullNullable[string]()
		// JSON would send each byte that is not UTF-8 as U+FFFD: a label
		// other than the one given, stored without a word.
		if labelSet {
			if err := plannroauth.CheckUTF8(*newLabel); err != nil {
				return inv, fmt.Errorf("connections update: --label is %w", err)
			}
			inv.label = nullable.NewNullableWithValue(*newLabel)
		}
	}
	if inv.timeout <= 0 {
		return inv, fmt.Errorf("--timeout %v is not positive", inv.timeout)
	}
	inv.answers = &answers{}
	inv.baseURL = cmp.Or(fromEnv(*baseURL, getenv("PLANNR_BASE_URL")), client.DefaultBaseURL)
	inv.client, err = newClient(fromEnv(*token, getenv("PLANNR_TOKEN")), inv.baseURL, inv.timeout, inv.answers)
	return inv, err
}

// globalFlags go with every command.
var globalFlags = []string{"token", "base-url", "json", "timeout"}

// parseInterspersed parses the flags of args wherever they are, as in
// "connections update UUID --label TEXT", and returns the other words in order.
// Everything after "--" is a word.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return words, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// fromEnv is a flag's value, or else its environment variable's.
func fromEnv(flagValue, envValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return envValue
}

func newClient(token, baseURL string, timeout time.Duration, rec *answers) (*gen.ClientWithResponses, error) {
	switch {
	case token == "":
		return nil, errors.New("no token: pass --token or set PLANNR_TOKEN")
	case !plannroauth.ValidToken(token):
		// net/http would refuse it only at the first request, as a failure
		// of the API's. The token stays out of the message, which a terminal
		// or a CI log may keep.
		return nil, fmt.Errorf("the token is %w: check --token or PLANNR_TOKEN", plannroauth.ErrInvalidToken)
	}
	if _, err := baseurl.Parse(baseURL); err != nil {
		return nil, fmt.Errorf("%w: check --base-url or PLANNR_BASE_URL", err)
	}
	// Retries stop within the timeout, so that a long Retry-After ends the
	// command with the API's 429 rather than a bare timeout.
	policy := client.RetryPolicy{MaxRetries: client.DefaultMaxRetries, MaxElapsed: timeout}
	return client.New(token, client.WithBaseURL(baseURL), client.WithRetryPolicy(policy), client.WithUserAgent("plannr-cli"),
		client.WithHTTPClient(newHTTPClient(rec)))
}

func list(ctx context.Context, inv invocation, stdout io.Writer) error {
	resp, err := parsed(gen.ParseListOAuthConnectionsResponse)(inv.client.ListOAuthConnections(ctx))
	if err != nil {
		return err
	}
	if inv.json {
		return writeJSON(stdout, resp.Body)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UUID\tPROVIDER\tLABEL\tUPDATED")
	for _, c := range resp.JSON200.Data {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.UUID, printable(c.Provider.Name), label(c.Label), c.UpdatedAt)
	}
	return tw.Flush()
}

func update(ctx context.Context, inv invocation, stdout io.Writer) error {
	resp, err := parsed(gen.ParseUpdateOAuthConnectionResponse)(inv.client.UpdateOAuthConnection(ctx, inv.id, gen.UpdateOAuthConnectionRequest{Label: inv.label}))
	if err != nil {
		return err
	}
	if inv.json {
		return writeJSON(stdout, resp.Body)
	}
	c := resp.JSON200
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"uuid", c.UUID.String()},
		{"provider", printable(c.Provider.Name)},
		{"label", label(c.Label)},
		{"created_at", c.CreatedAt.String()},
		{"updated_at", c.UpdatedAt.String()},
		{"access_token_expires_at", expiry(c.AccessTokenExpiresAt)},
		{"refresh_token_expires_at", expiry(c.RefreshTokenExpiresAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

func remove(ctx context.Context, inv invocation, stdout io.Writer) error {
	_, err := parsed(gen.ParseDeleteOAuthConnectionResponse)(inv.client.DeleteOAuthConnection(ctx, inv.id))
	// A retry's 404 after an attempt that may have deleted the connection
	// is that attempt's success: the connection is gone, as asked.
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && inv.answers.earlierMayHaveActed() {
		err = nil
	}
	if err != nil {
		return err
	}
	if !inv.json {
		fmt.Fprintf(stdout, "deleted %s\n", inv.id)
	}
	return nil
}

// parsed makes what gen's ...WithResponse methods make of an answer, then
// checks it as client.Check does; but an answer that parse cannot decode
// becomes an *undecodableError, which says what came, where gen's error
// says only what its decoder met.
func parsed[R client.Response](parse func(*http.Response) (R, error)) func(*http.Response, error) (R, error) {
	return func(resp *http.Response, err error) (R, error) {
		if err != nil {
			var none R
			return none, err
		}
		r, err := parse(resp)
		if err != nil {
			return r, &undecodableError{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), err: err}
		}
		return client.Check(r, nil)
	}
}

// undecodableError is an answer whose body gen could not decode: JSON (gen
// decodes no other) in the envelope the client checks, holding other than
// the spec says.
type undecodableError struct {
	status      int
	contentType string
	err         error
}

func (e *undecodableError) Error() string {
	return fmt.Sprintf("HTTP %d with %s: %v", e.status, e.contentType, e.err)
}

func (e *undecodableError) Unwrap() error { return e.err }

// writeJSON prints an answer's body as it came, on a line of its own.
func writeJSON(w io.Writer, body []byte) error {
	if _, err := w.Write(body); err != nil {
		return err
	}
	if !strings.HasSuffix(string(body), "\n") {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// label shows a label, "<none>" when it is null.
func label(l nullable.Nullable[string]) string {
	if v, err := l.Get(); err == nil {
		return printable(v)
	}
	return "<none>"
}

// expiry shows an expiry as the API writes it; null makes it never.
func expiry(t nullable.Nullable[plannroauth.Expiry]) string {
	if v, err := t.Get(); err == nil {
		return v.String()
	}
	return "never"
}

// printable quotes text a server sent when it is empty or holds a character
// that a terminal would act on or a table would break at (a tab, a newline, an
// escape sequence), so that what is printed is what is stored.
func printable(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// notAPI is the message of an answer unlike the API's, of status %d and body %s.
const notAPI = "plannr: the answer, HTTP %d with %s, is not one Plannr's API sends: is --base-url right?\n"

// printBaseURL follows a message that asks whether --base-url is right with
// the base URL the command used, and where it came from. A password in it
// is not shown.
func printBaseURL(w io.Writer, inv invocation) {
	fmt.Fprintf(w, "  the base URL was %s (--base-url, else PLANNR_BASE_URL, else %s)\n", printable(baseurl.Redacted(inv.baseURL)), client.DefaultBaseURL)
}

// printError explains on stderr why inv's command failed.
func printError(w io.Writer, err error, inv invocation) {
	var apiErr *client.APIError
	var limited *client.RateLimitedError
	var unexpected *client.UnexpectedAnswerError
	var undecodable *undecodableError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode/100 == 3:
		where := "nowhere (no Location)"
		if loc := inv.answers.last().location; loc != "" {
			where = printable(loc)
		}
		fmt.Fprintf(w, "plannr: the answer, HTTP %d, is a redirect to %s, which plannr does not follow: is --base-url right?\n", apiErr.StatusCode, where)
		printBaseURL(w, inv)
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && !strings.Contains(inv.answers.last().contentType, "json"):
		// A web server at the base URL without the API: the API's 404 is
		// JSON, this one is no connection's.
		fmt.Fprintf(w, notAPI, apiErr.StatusCode, printable(cmp.Or(inv.answers.last().contentType, "no stated type")))
		printBaseURL(w, inv)
	case errors.As(err, &apiErr):
		fmt.Fprintf(w, "plannr: %s (HTTP %d)\n", printable(apiErr.Message), apiErr.StatusCode)
		for _, field := range slices.Sorted(maps.Keys(apiErr.Errors)) {
			for _, msg := range apiErr.Errors[field] {
				fmt.Fprintf(w, "  %s: %s\n", printable(field), printable(msg))
			}
		}
		if apiErr.StatusCode == http.StatusUnauthorized {
			fmt.Fprintln(w, "  check --token or PLANNR_TOKEN")
		}
		// A 429 whose Retry-After ends past the timeout: said at once,
		// with when to try again rather than after a wait to no purpose.
		if errors.As(err, &limited) {
			fmt.Fprintf(w, "  the API takes requests again in %v (at %s), after --timeout %v\n",
				time.Until(limited.Until).Round(time.Second), limited.Until.Format(time.DateTime), inv.timeout)
		}
	case errors.As(err, &unexpected):
		// A captive portal, or another server at the base URL.
		fmt.Fprintf(w, notAPI, unexpected.StatusCode, printable(unexpected.What))
		printBaseURL(w, inv)
	case errors.As(err, &undecodable):
		fmt.Fprintf(w, notAPI, undecodable.status, printable(undecodable.contentType))
		printBaseURL(w, inv)
		fmt.Fprintf(w, "  its body could not be read: %v\n", undecodable.err)
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(w, "plannr: no answer within --timeout %v\n", inv.timeout)
		// The client gives up before the deadline when no retry would fit
		// in what is left of it: the last attempt's failure (a refused
		// connection, a name that does not resolve) is then the news.
		var last *url.Error
		if errors.As(err, &last) && !errors.Is(last.Err, context.DeadlineExceeded) {
			fmt.Fprintf(w, "  the last attempt: %v\n", last.Err)
		}
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "plannr: interrupted")
	default:
		fmt.Fprintf(w, "plannr: %v\n", err)
	}
}
