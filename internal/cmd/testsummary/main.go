// Command testsummary prints what go test prints, from the events of
// go test -json on its standard input, and ends with the tests that skipped
// and why, so that a run that prints only "ok" still says what it did not
// test (a PostgreSQL, a browser, the npm tools that were missing):
//
//	go test -json ./... | go run ./internal/cmd/testsummary
//
// As with go test, a package's lines come when it ends: its "ok" line, or the
// output of each test that failed and its FAIL line; build errors come as
// they happen. Whether the run failed is go test's exit status to tell.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
)

func main() {
	module := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		module = info.Main.Path
	}
	if err := summarize(os.Stdin, os.Stdout, module); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
}

// event is what summarize reads of go test -json's TestEvent and BuildEvent.
type event struct {
	Action, Package, Test, Output string
}

// A test is a top-level test under way, with the output of its subtests.
type test struct {
	lines  []line
	result map[string]string // pass, fail or skip, by test or subtest name
	ended  []string          // the names of result, in the order they ended
}

type line struct{ test, text string }

// A skip is a test that skipped, and why.
type skip struct{ pkg, test, reason string }

// summarize copies go test's report from the events of r to w, and ends it
// with the tests that skipped, naming their packages without the prefix
// module. Its error is r's, or one of JSON.
func summarize(r io.Reader, w io.Writer, module string) error {
	var (
		pkgLines = map[string][]string{}         // each package's output, to write when it ends
		running  = map[string]map[string]*test{} // each package's top-level tests under way
		skips    []skip
	)
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Test == "" && e.Action == "output":
			pkgLines[e.Package] = append(pkgLines[e.Package], e.Output)
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			// The package ended: what a test that never ended (a panic, a
			// timeout) printed, then the package's lines.
			var lines []string
			for _, t := range running[e.Package] {
				lines = append(lines, failed(t)...)
			}
			for _, l := range append(lines, pkgLines[e.Package]...) {
				if l != "PASS\n" { // what the test binary says of a package that passed, before go test's "ok"
					fmt.Fprint(w, l)
				}
			}
			delete(pkgLines, e.Package)
			delete(running, e.Package)
		case e.Test != "":
			tests := running[e.Package]
			if tests == nil {
				tests = map[string]*test{}
				running[e.Package] = tests
			}
			root, _, _ := strings.Cut(e.Test, "/")
			t := tests[root]
			if t == nil {
				t = &test{result: map[string]string{}}
				tests[root] = t
			}
			switch e.Action {
			case "output":
				if !strings.HasPrefix(e.Output, "=== ") { // === RUN, PAUSE, CONT, NAME: -v's framing
					t.lines = append(t.lines, line{e.Test, e.Output})
				}
			case "pass", "fail", "skip":
				t.result[e.Test] = e.Action
				t.ended = append(t.ended, e.Test)
				if e.Test != root {
					break
				}
				delete(tests, root)
				if e.Action == "fail" {
					pkgLines[e.Package] = append(pkgLines[e.Package], failed(t)...)
				}
				// The test, or those of its subtests that skipped while it ran.
				for _, name := range t.ended {
					if t.result[name] == "skip" {
						pkg := strings.TrimPrefix(strings.TrimPrefix(e.Package, module), "/")
						skips = append(skips, skip{pkg, name, reason(t.lines, name)})
					}
				}
			}
		}
	}
	writeSkips(w, skips)
	return nil
}

// failed is what a test that failed printed, and what those of its
// subtests that did not pass or skip printed, as go test shows it without -v.
func failed(t *test) []string {
	var lines []string
	for _, l := range t.lines {
		if r := t.result[l.test]; r != "pass" && r != "skip" {
			lines = append(lines, l.text)
		}
	}
	return lines
}

// filePosition is the file:line that t.Log and t.Skip put before a message.
var filePosition = regexp.MustCompile(`^\S+\.go:\d+: `)

// reason is why the test name skipped, from what it printed: its messages
// without their file:line, and without the "--- SKIP" line.
func reason(lines []line, name string) string {
	var msgs []string
	for _, l := range lines {
		text := strings.TrimSpace(l.text)
		if l.test == name && text != "" && !strings.HasPrefix(text, "--- SKIP: ") {
			msgs = append(msgs, filePosition.ReplaceAllString(text, ""))
		}
	}
	if len(msgs) == 0 {
		return "no reason given"
	}
	return strings.Join(msgs, " ")
}

// writeSkips ends the report with the tests that skipped, by reason, and
// within a reason by package, in the order they ended.
func writeSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "no test skipped")
		return
	}
	var reasons []string
	byReason := map[string][]skip{}
	for _, s := range skips {
		if byReason[s.reason] == nil {
			reasons = append(reasons, s.reason)
		}
		byReason[s.reason] = append(byReason[s.reason], s)
	}
	fmt.Fprintf(w, "%d tests skipped:\n", len(skips))
	for _, r := range reasons {
		fmt.Fprintf(w, "  %s:\n", r)
		var pkgs []string
		names := map[string][]string{}
		for _, s := range byReason[r] {
			if names[s.pkg] == nil {
				pkgs = append(pkgs, s.pkg)
			}
			names[s.pkg] = append(names[s.pkg], s.test)
		}
		for _, p := range pkgs {
			fmt.Fprintf(w, "    %s: %s\n", p, strings.Join(names[p], " "))
		}
	}
}
