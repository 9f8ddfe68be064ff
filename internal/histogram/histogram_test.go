package histogram_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/plannr-toolkit/plannr-oauth/internal/histogram"
)

var bounds = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// exposition is reg's scrape in the text format.
func exposition(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestSameExposition holds a Vec to the scrape a prometheus.HistogramVec
// given the same observations gives: on a bound, between bounds, above the
// last, zero, negative, and series that were made but never observed.
func TestSameExposition(t *testing.T) {
	type obs struct {
		op string
		d  time.Duration
	}
	tests := []struct {
		name string
		made []string // series made before any observation
		obs  []obs
	}{
		{name: "no series"},
		{name: "made, never observed", made: []string{"a", "b"}},
		{name: "on bounds", obs: []obs{{"a", 500 * time.Microsecond}, {"a", time.Millisecond}, {"a", 10 * time.Second}}},
		{name: "between and beyond", obs: []obs{{"a", 501 * time.Microsecond}, {"b", 3 * time.Millisecond}, {"a", time.Minute}, {"b", 11 * time.Second}}},
		{name: "zero and negative", obs: []obs{{"a", 0}, {"a", -time.Millisecond}, {"a", 2 * time.Millisecond}}},
		{name: "fractions of a microsecond", obs: []obs{{"a", 1234567}, {"a", 7}, {"a", 499999}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours, theirs := prometheus.NewRegistry(), prometheus.NewRegistry()
			v := histogram.New("x_seconds", "Time of x.", bounds, "op")
			p := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "Time of x.", Buckets: bounds}, []string{"op"})
			ours.MustRegister(v)
			theirs.MustRegister(p)
			for _, op := range tt.made {
				v.With(op)
				p.WithLabelValues(op)
			}
			for _, o := range tt.obs {
				v.With(o.op).Observe(o.d)
				p.WithLabelValues(o.op).Observe(o.d.Seconds())
			}
			if got, want := exposition(t, ours), exposition(t, theirs); got != want {
				t.Errorf("scrape:\n%s\nprometheus.HistogramVec's:\n%s", got, want)
			}
		})
	}
}

// TestConcurrentObservations: observations from many goroutines at once
// are all counted, in their buckets and in the sum.
func TestConcurrentObservations(t *testing.T) {
	v := histogram.New("x_seconds", "Time of x.", bounds)
	s := v.With()
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				s.Observe(700 * time.Microsecond)
			}
		})
	}
	wg.Wait()
	reg := prometheus.NewRegistry()
	reg.MustRegister(v)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	h := families[0].Metric[0].Histogram
	if got, want := h.GetSampleCount(), uint64(goroutines*each); got != want {
		t.Errorf("count %d, want %d", got, want)
	}
	if got, want := h.GetSampleSum(), goroutines*each*0.0007; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("sum %v, want %v", got, want)
	}
	if got := h.Bucket[0].GetCumulativeCount(); got != 0 {
		t.Errorf("le=0.0005 has %d, want 0", got)
	}
	if got := h.Bucket[1].GetCumulativeCount(); got != goroutines*each {
		t.Errorf("le=0.001 has %d, want %d", got, goroutines*each)
	}
}

func TestWithWrongLabelCount(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("With with two values for one label did not panic")
		}
	}()
	histogram.New("x_seconds", "Time of x.", bounds, "op").With("a", "b")
}

// TestInvalidLabelValue: a label value that is not UTF-8 fails the scrape
// and does not take the process down (prometheus.HistogramVec panics at
// WithLabelValues).
func TestInvalidLabelValue(t *testing.T) {
	v := histogram.New("x_seconds", "Time of x.", bounds, "op")
	v.With("\xff").Observe(time.Millisecond)
	reg := prometheus.NewRegistry()
	reg.MustRegister(v)
	if _, err := reg.Gather(); err == nil {
		t.Error("a scrape with a label value that is not UTF-8 succeeded")
	}
}

// BenchmarkObserve compares an observation here with prometheus.Histogram's;
// run with -cpu 1,2 to see what cores observing at once cost each.
func BenchmarkObserve(b *testing.B) {
	b.Run("histogram", func(b *testing.B) {
		s := histogram.New("x_seconds", "Time of x.", bounds, "op").With("a")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Observe(700 * time.Microsecond)
			}
		})
	})
	b.Run("prometheus", func(b *testing.B) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Buckets: bounds}, []string{"op"}).WithLabelValues("a")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe((700 * time.Microsecond).Seconds())
			}
		})
	})
}
