package storetest

import (
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Benchmark measures the calls every request makes, on the suite's data; open
// returns an empty store, which Benchmark closes.
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	if err := s.Seed(b.Context(), seed()); err != nil {
		b.Fatal(err)
	}
	a, err := s.UserByToken(b.Context(), alice)
	if err != nil {
		b.Fatal(err)
	}
	relabel := Relabel("Benchmarked")
	calls := []struct {
		name string
		call func() error
	}{
		{"UserByToken", func() error { _, err := s.UserByToken(b.Context(), alice); return err }},
		{"ListConnections", func() error { _, err := s.ListConnections(b.Context(), a.ID); return err }},
		{"UpdateLabel", func() error {
			_, err := s.UpdateConnection(b.Context(), a.ID, aliceSummer.UUID, relabel)
			return err
		}},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
