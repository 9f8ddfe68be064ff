package memory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memory.New() })
}

func BenchmarkMemory(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) store.Store { return memory.New() })
}

// BenchmarkSeed seeds a fresh store, as a large fixtures file does, with n
// connections newest first (each older than all before it), of one user or
// spread over many.
func BenchmarkSeed(b *testing.B) {
	for _, n := range []int{10_000, 40_000} {
		for _, users := range []int{1, n / 10} {
			b.Run(fmt.Sprintf("connections=%d/users=%d", n, users), func(b *testing.B) {
				data := connections(b, n, users)
				for b.Loop() {
					if err := memory.New().Seed(b.Context(), data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// connections is a Seed of n connections, newest first, dealt out to users
// in Europe/London in turn.
func connections(b *testing.B, n, users int) plannroauth.Data {
	london, err := plannroauth.LoadZone("Europe/London")
	if err != nil {
		b.Fatal(err)
	}
	p := plannroauth.Provider{Name: "acme", Label: "Acme", LogoURL: "https://acme.example/logo.png", AuthorizationURL: "https://acme.example/authorize"}
	d := plannroauth.Data{Providers: []plannroauth.Provider{p}, Accounts: make([]plannroauth.Account, users)}
	for i := range d.Accounts {
		d.Accounts[i] = plannroauth.Account{Token: fmt.Sprintf("token-%d", i), Location: london}
	}
	newest := time.Date(2025, 6, 25, 15, 10, 48, 0, london)
	for i := range n {
		created := newest.Add(-time.Duration(i) * time.Second)
		a := &d.Accounts[i%users]
		a.Connections = append(a.Connections, plannroauth.Connection{UUID: uuid.New(), Provider: p, CreatedAt: created, UpdatedAt: created})
	}
	return d
}
