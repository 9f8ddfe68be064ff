// Package metricstest reads a Prometheus /metrics page for tests, so that they
// compare the exact samples a scrape gets.
package metricstest

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are a scrape's values keyed name{label="value",...}, labels in name
// order; a histogram gives its count of observations, as name_count{...}.
type Samples map[string]float64

// Scrape GETs the /metrics page at url and returns the samples of the metrics
// whose names start with prefix.
func Scrape(t testing.TB, url, prefix string) Samples {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	got := Samples{}
	for name, f := range families {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range f.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			series := "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				got[name+series] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[name+series] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[name+"_count"+series] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return got
}

// String lists the samples one a line, sorted, for a failure message.
func (s Samples) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s)) {
		b.WriteString(k + " " + strconv.FormatFloat(s[k], 'g', -1, 64) + "\n")
	}
	return b.String()
}
