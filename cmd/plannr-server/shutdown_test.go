package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
)

// heldStore is a memory store whose ListConnections waits for its context to
// end, or for release, and that notes a call still running when it is closed,
// and a call made after.
type heldStore struct {
	*memory.Store
	waiting chan struct{} // receives when a ListConnections waits
	release chan struct{}

	mu       sync.Mutex
	running  int
	closed   bool
	problems []string
}

func newHeldStore() *heldStore {
	return &heldStore{Store: memory.New(), waiting: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *heldStore) ListConnections(ctx context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error) {
	s.mu.Lock()
	if s.closed {
		s.problems = append(s.problems, "ListConnections called after Close")
	}
	s.running++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	s.waiting <- struct{}{}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.release:
		return s.Store.ListConnections(ctx, owner)
	}
}

func (s *heldStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running > 0 {
		s.problems = append(s.problems, fmt.Sprintf("closed under %d running ListConnections", s.running))
	}
	s.closed = true
	return s.Store.Close()
}

// report is what the store noted, and whether it is still open.
func (s *heldStore) report() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		return append(s.problems, "not closed")
	}
	return s.problems
}

// TestShutdownTimeoutClosesNoStoreUnderARequest: a request still running
// when -shutdown-timeout is up, whatever -request-timeout allows it, is cut
// off: its connection is closed unanswered and its context ends. The store is
// closed only once it has returned, and before run does.
func TestShutdownTimeoutClosesNoStoreUnderARequest(t *testing.T) {
	for _, tt := range []struct {
		name           string
		requestTimeout time.Duration
	}{
		{"no request timeout", 0},
		{"a request timeout longer than the shutdown's", time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newHeldStore()
			cfg := config{store: st, fixtures: exampleFixtures, shutdownTimeout: 200 * time.Millisecond, requestTimeout: tt.requestTimeout}
			base, _, shutdown := launch(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			type answer struct {
				code int
				err  error
			}
			answered := make(chan answer, 1)
			go func() {
				code, _, err := do(&http.Client{}, http.MethodGet, base+connections, aliceToken, "")
				answered <- answer{code, err}
			}()
			select {
			case <-st.waiting:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the store")
			}
			if err := shutdown(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("run returned %v, want the shutdown's deadline", err)
			}
			close(st.release) // a request still running goes on now
			select {
			case a := <-answered:
				if a.err == nil {
					t.Errorf("the request cut off was answered %d, want its connection closed unanswered", a.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the request cut off is still running")
			}
			for _, p := range st.report() {
				t.Error(p)
			}
		})
	}
}
