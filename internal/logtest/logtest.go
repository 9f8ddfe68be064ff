// Package logtest holds the logs that tests read while a server writes them.
package logtest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// Buffer is a bytes.Buffer that a server's goroutines may write while a test
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Statuses counts answers by status. As a slog.Handler it counts the server
// kit's request lines, by their "status" attribute; a test's own handler
// calls Add.
type Statuses struct {
	mu sync.Mutex
	n  map[int]int
}

// Add counts one answer of status.
func (s *Statuses) Add(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[int]int{}
	}
	s.n[status]++
}

// Count is how many answers of status were counted.
func (s *Statuses) Count(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[status]
}

func (s *Statuses) Enabled(context.Context, slog.Level) bool { return true }

func (s *Statuses) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" {
			s.Add(int(a.Value.Int64()))
			return false
		}
		return true
	})
	return nil
}

func (s *Statuses) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *Statuses) WithGroup(string) slog.Handler      { return s }
