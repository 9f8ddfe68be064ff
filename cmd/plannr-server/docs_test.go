package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/mdtable"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// TestREADMEFlagTable holds the README's table of the server's flags to the
// flags parseFlags defines: the same flags, each with its environment
// variable and its default (as the flag reads it: "1m" is 1m0s), so that a
// default changed in the code cannot leave the table telling the old one.
func TestREADMEFlagTable(t *testing.T) {
	fs, env := flagSet(new(config))
	table, err := mdtable.Rows("../../README.md", "| flag | environment | default | meaning |")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, cells := range table {
		name, envName, def := strings.TrimPrefix(cells[0], "-"), cells[1], cells[2]
		f := fs.Lookup(name)
		switch {
		case f == nil:
			t.Errorf("README: a row for -%s, which is no flag", name)
			continue
		case rows[name]:
			t.Errorf("README: -%s has two rows", name)
		case envName != env[name]:
			t.Errorf("README: -%s's environment variable is %q; the code's is %q", name, envName, env[name])
		}
		rows[name] = true
		if _, isSwitch := f.Value.(interface{ IsBoolFlag() bool }); isSwitch {
			if def != "" {
				t.Errorf("README: -%s, a switch, has a default %q", name, def)
			}
			continue
		}
		told, _ := flagSet(new(config))
		if err := told.Set(name, def); err != nil || told.Lookup(name).Value.String() != f.DefValue {
			t.Errorf("README: -%s's default is %q; the code's is %q", name, def, f.DefValue)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !rows[f.Name] {
			t.Errorf("README: no row for -%s", f.Name)
		}
	})
}

// TestDocsTellTheDefaults holds what README.md and RELIABILITY.md say of the
// server's built-in limits in prose to the values the code has, the spec's
// x-limits and the Go that go.mod asks for among them.
func TestDocsTellTheDefaults(t *testing.T) {
	l := defaultLimits
	window, ok := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour"}[server.DefaultRateWindow]
	if !ok {
		t.Fatalf("the README tells the rate limit a minute; the spec's window is %v", server.DefaultRateWindow)
	}
	for _, c := range []struct{ doc, says string }{
		{"README.md", fmt.Sprintf("A connection silent for %s, or idle for %s between requests, is closed; "+
			"a request whose body takes over %s, or whose answer over %s, is cut off (each up to %s late",
			seconds(l.readHeader), seconds(l.idle), seconds(l.read), seconds(l.write), seconds(l.precision()))},
		{"README.md", fmt.Sprintf("written out every %d ms and on exit: SIGINT and SIGTERM lose no line, a SIGKILL at most the last %[1]d ms",
			logFlushInterval.Milliseconds())},
		{"README.md", fmt.Sprintf("`-request-timeout` (%s) before its 503", seconds(server.DefaultTimeout))},
		{"RELIABILITY.md", fmt.Sprintf("`-max-conns` (default %d, env `PLANNR_MAX_CONNS`", DefaultMaxConns)},
		{"RELIABILITY.md", fmt.Sprintf("one is closed (`ReadHeaderTimeout`, %s) or an idle kept-alive one is (`IdleTimeout`, %s). "+
			"An attacker holding %d connections", seconds(l.readHeader), seconds(l.idle), DefaultMaxConns)},
		{"RELIABILITY.md", fmt.Sprintf("These timeouts (`ReadHeaderTimeout` %s, `ReadTimeout` %s, `WriteTimeout` %s, `IdleTimeout` %s) "+
			"cut a connection off up to a tenth of the shortest (%s) late",
			seconds(l.readHeader), seconds(l.read), seconds(l.write), seconds(l.idle), seconds(l.precision()))},
		{"RELIABILITY.md", fmt.Sprintf("at `ReadHeaderTimeout` (300 ms in the test, %s by default)", seconds(l.readHeader))},
		{"RELIABILITY.md", fmt.Sprintf("at `ReadTimeout` (600 ms in the test, %s by default)", seconds(l.read))},
		{"RELIABILITY.md", fmt.Sprintf("is covered by `-request-timeout` (%s)", seconds(server.DefaultTimeout))},
		// The Go that go.mod asks for.
		{"README.md", fmt.Sprintf("Both need Go %s or later", goVersion(t))},
		{"README.md", fmt.Sprintf("once the module is published (Go %s or later)", goVersion(t))},
		// The spec's x-limits, as the README tells them.
		{"README.md", fmt.Sprintf("Plannr's %d a %s in a fixed window per caller", server.DefaultRateLimit, window)},
		{"README.md", fmt.Sprintf("Plannr allows %d requests a %s per user.", server.DefaultRateLimit, window)},
		{"README.md", fmt.Sprintf("body over the spec's `x-limits.requestBodyBytes` (%d KiB)", server.DefaultMaxBody>>10)},
	} {
		if !strings.Contains(strings.Join(strings.Fields(readDoc(t, c.doc)), " "), c.says) {
			t.Errorf("%s does not say, as the code has it: %s", c.doc, c.says)
		}
	}
}

// goVersion is the version of go.mod's go line.
func goVersion(t *testing.T) string {
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readDoc(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return m[1]
}

// seconds writes d as the docs do: "5 s", "0.5 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocsQuoteTheSpecsMessages holds every error body that the project's
// docs show, {"message": ...}, to the spec's x-messages, which the README says
// it shows word for word: each is one of them, its :placeholders filled in
// ("..." standing for a message in the README's own example). The docs are
// the Markdown files at the top, the scripts of scripts/ and .ci/, and the Go
// code's comments (tests, gen/ and testdata aside).
func TestDocsQuoteTheSpecsMessages(t *testing.T) {
	m := apispec.MessagesOf()
	var templates []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[apispec.Messages]()) {
		if f.Type.Kind() == reflect.String {
			templates = append(templates, reflect.ValueOf(*m).FieldByIndex(f.Index).String())
		}
	}
	for keyword, v := range m.Validation {
		if keyword != "more" {
			templates = append(templates, v)
			continue
		}
		// A 422's message: its first error, then one of the forms of "more".
		for form := range strings.SplitSeq(v, "|") {
			templates = append(templates, ":first "+form)
		}
	}
	alternatives := make([]string, len(templates))
	for i, tmpl := range templates {
		alternatives[i] = placeholder.ReplaceAllString(regexp.QuoteMeta(tmpl), `.+`)
	}
	pattern := regexp.MustCompile(`^(` + strings.Join(alternatives, "|") + `)$`)
	quoted := regexp.MustCompile(`"message": ?"([^"]*)"`)
	for _, doc := range quotingDocs(t) {
		for _, q := range quoted.FindAllStringSubmatch(readDoc(t, doc), -1) {
			if q[1] != "..." && !pattern.MatchString(q[1]) { // "..." alone stands for any message
				t.Errorf("%s quotes %q, none of the spec's x-messages", doc, q[1])
			}
		}
	}
	if want := apispec.Format(m.BodyTooLarge, "max", strconv.FormatInt(server.DefaultMaxBody, 10)); !strings.Contains(readDoc(t, "README.md"), want) {
		t.Errorf("the README's 413 does not say %q", want)
	}
}

// quotingDocs lists the files TestDocsQuoteTheSpecsMessages reads, by their
// path from the module's root.
func quotingDocs(t *testing.T) []string {
	t.Helper()
	var docs []string
	for _, glob := range []string{"../../*.md", "../../scripts/*", "../../.ci/*"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
				docs = append(docs, f)
			}
		}
	}
	for i, doc := range docs {
		docs[i] = strings.TrimPrefix(doc, "../../")
	}
	return append(docs, goFiles(t, false)...)
}

// goFiles lists the module's own Go files, by their path from the module's
// root: its tests, or the rest (gen/, testdata and node_modules aside).
func goFiles(t *testing.T, tests bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "gen" || d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != "../.."):
			return filepath.SkipDir
		case strings.HasSuffix(path, ".go") && strings.HasSuffix(path, "_test.go") == tests:
			files = append(files, strings.TrimPrefix(path, "../../"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestExamplesRun holds every Example of the module's tests to an output
// comment go test runs it against: one without (as when another comment
// comes first in the group that holds "Output:") compiles and never runs, so
// the documentation it shows may be wrong.
func TestExamplesRun(t *testing.T) {
	fset := token.NewFileSet()
	dirs := map[string][]*ast.File{}
	for _, name := range goFiles(t, true) {
		f, err := parser.ParseFile(fset, "../../"+name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		dirs[filepath.Dir(name)] = append(dirs[filepath.Dir(name)], f)
	}
	examples := 0
	for dir, files := range dirs {
		for _, ex := range doc.Examples(files...) {
			examples++
			if ex.Output == "" && !ex.EmptyOutput {
				t.Errorf("%s: Example%s has no output comment, so go test never runs it", dir, ex.Name)
			}
		}
	}
	if examples == 0 {
		t.Fatal("the module's tests hold no Example")
	}
}

// placeholder is a message's :name, which the server fills in.
var placeholder = regexp.MustCompile(`:[a-z]+`)

// TestDocsNameTheSpecsPaths holds every API path the docs and scripts write
// (the files that TestDocsQuoteTheSpecsMessages reads) to the spec's: a path
// template of an operation, or a path one of them matches. A line that says
// "no path of the spec's" names one on purpose (a check of the 404).
func TestDocsNameTheSpecsPaths(t *testing.T) {
	path := regexp.MustCompile("/api/[^\\s`\"')]+")
	named := 0
	for _, doc := range quotingDocs(t) {
		for line := range strings.Lines(readDoc(t, doc)) {
			if strings.Contains(line, "no path of the spec's") {
				continue
			}
			for _, p := range path.FindAllString(line, -1) {
				p = strings.TrimRight(p, ".,:;") // the sentence's, not the path's
				named++
				if !slices.ContainsFunc(apispec.Operations(), func(op apispec.Operation) bool {
					_, ok := apispec.OperationAt(op.Method, p)
					return op.Path == p || ok
				}) {
					t.Errorf("%s names %s, which is no path of the spec's", doc, p)
				}
			}
		}
	}
	if named == 0 {
		t.Fatal("the docs name no API path")
	}
}
