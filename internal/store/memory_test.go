package store_test

import (
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, now func() time.Time) store.Store { return store.NewMemory(store.WithClock(now)) })
}

func BenchmarkMemory(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) store.Store { return store.NewMemory() })
}
