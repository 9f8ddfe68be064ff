package postgreslimit_test

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgreslimit"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// replicas opens n stores on one new database, as n server processes would,
// each with a pool of conns connections.
func replicas(t *testing.T, n, conns int) []*store.Postgres {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(conns))
	u.RawQuery = q.Encode()
	out := make([]*store.Postgres, n)
	for i := range out {
		s, err := store.OpenPostgres(t.Context(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// TestExactlyLimitAcrossReplicas sends each user's requests at once, spread
// over three replicas and all their connections: exactly limit are allowed,
// each with its own Remaining, in one window.
func TestExactlyLimitAcrossReplicas(t *testing.T) {
	const (
		limit    = 25
		users    = 3
		requests = 4 * limit // per user
	)
	dbs := replicas(t, 3, 8)
	limiters := make([]*postgreslimit.FixedWindow, len(dbs))
	for i, db := range dbs {
		limiters[i] = postgreslimit.New(db, limit, time.Minute)
	}
	var (
		mu      sync.Mutex
		answers = map[string][]server.RateLimit{}
		wg      sync.WaitGroup
	)
	for i := range users * requests {
		wg.Go(func() {
			key := fmt.Sprint("user-", i%users)
			rl, err := limiters[i%len(limiters)].Allow(t.Context(), key)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			answers[key] = append(answers[key], rl)
			mu.Unlock()
		})
	}
	wg.Wait()
	for key, rls := range answers {
		var remaining []int
		for _, rl := range rls {
			if rl.Reset != rls[0].Reset || rl.Limit != limit {
				t.Errorf("%s: %+v, not in the window of %+v", key, rl, rls[0])
			}
			if rl.Allowed {
				remaining = append(remaining, rl.Remaining)
			} else if rl.Remaining != 0 {
				t.Errorf("%s: refused with Remaining %d", key, rl.Remaining)
			}
		}
		slices.Sort(remaining)
		want := make([]int, limit) // 0 .. limit-1, each once
		for i := range want {
			want[i] = i
		}
		if !slices.Equal(remaining, want) {
			t.Errorf("%s: %d of %d requests allowed with Remaining %v, want exactly %d with %v",
				key, len(remaining), len(rls), remaining, limit, want)
		}
	}
}

// TestWindowOpensAtFirstRequest follows one caller through a full window into
// the next, which opens at the first request after the last one closed, not
// on a clock boundary, as Laravel's throttle does.
func TestWindowOpensAtFirstRequest(t *testing.T) {
	const window = time.Second
	db := replicas(t, 1, 2)[0]
	l := postgreslimit.New(db, 2, window)
	allow := func(key string) server.RateLimit {
		t.Helper()
		rl, err := l.Allow(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return rl
	}
	before := time.Now()
	first := allow("alice")
	if d := first.Reset.Sub(before); d < window-100*time.Millisecond || d > window+time.Second {
		t.Errorf("the first request's window closes %v after it, want %v", d, window)
	}
	steps := []struct {
		key       string
		allowed   bool
		remaining int
	}{
		{"alice", true, 0},
		{"alice", false, 0},
		{"alice", false, 0},
		{"bob", true, 1}, // a window of his own
	}
	for i, s := range steps {
		rl := allow(s.key)
		if rl.Allowed != s.allowed || rl.Remaining != s.remaining || (s.key == "alice" && rl.Reset != first.Reset) {
			t.Errorf("step %d (%s): %+v, want allowed %v, remaining %d, reset %v", i, s.key, rl, s.allowed, s.remaining, first.Reset)
		}
	}

	time.Sleep(time.Until(first.Reset) + 50*time.Millisecond)
	next := allow("alice")
	if !next.Allowed || next.Remaining != 1 || !next.Reset.After(first.Reset.Add(40*time.Millisecond)) {
		t.Errorf("after the window: %+v, want a new window of 2 opened now (reset after %v)", next, first.Reset)
	}
}
