package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// String renders a failure as WriteText shows it.
func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "field: %s\nexpected: %s\n", f.Field, f.Expected)
	if f.Request == "" {
		return b.String()
	}
	fmt.Fprintf(&b, "request:\n%s\n", indent(f.Request))
	if f.Status == 0 {
		b.WriteString("answer: none\n")
		return b.String()
	}
	fmt.Fprintf(&b, "answer: %d\n", f.Status)
	for _, k := range slices.Sorted(maps.Keys(f.Header)) {
		for _, v := range f.Header[k] {
			fmt.Fprintf(&b, "    %s: %s\n", k, v)
		}
	}
	if f.Body != "" {
		fmt.Fprintf(&b, "\n%s\n", indent(f.Body))
	}
	return b.String()
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// WriteText writes the report for a person: a line per check, the failures in
// full, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	counts := map[Outcome]int{}
	for _, res := range r.Results {
		counts[res.Outcome]++
		fmt.Fprintf(&b, "%-4s %-27s %3d requests %8s", strings.ToUpper(string(res.Outcome)), res.Check, res.Requests, res.Duration.Round(time.Millisecond))
		if res.Reason != "" {
			fmt.Fprintf(&b, "  (%s)", res.Reason)
		}
		b.WriteByte('\n')
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "%s\n", indent(f.String()))
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped; %d requests in %s\n",
		counts[Pass], counts[Fail], counts[Skip], r.Requests, r.Duration.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON object (durations in nanoseconds).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // <token> as a person reads it
	return enc.Encode(r)
}

// WriteJUnit writes the report as JUnit XML, a test case per check, for CI
// systems that show test results.
func (r *Report) WriteJUnit(w io.Writer) error {
	type message struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *message `xml:"failure,omitempty"`
		Skipped   *message `xml:"skipped,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	seconds := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	suite := testsuite{Name: "plannr-conformance", Tests: len(r.Results), Time: seconds(r.Duration)}
	for _, res := range r.Results {
		tc := testcase{Name: res.Check, Classname: "conformance", Time: seconds(res.Duration)}
		switch res.Outcome {
		case Fail:
			suite.Failures++
			var text strings.Builder
			for _, f := range res.Failures {
				text.WriteString(f.String() + "\n")
			}
			first := res.Failures[0]
			tc.Failure = &message{Message: fmt.Sprintf("%d failures; first: %s: %s", len(res.Failures), first.Field, first.Expected), Text: text.String()}
		case Skip:
			suite.Skipped++
			tc.Skipped = &message{Message: res.Reason}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suite); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
