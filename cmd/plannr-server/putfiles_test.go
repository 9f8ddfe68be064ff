package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPUTFiles sends PUT_FILES_PUTS PUTs through plannr-server as it runs by
// default (SQLite, the rate limit, metrics, the buffered log), for
// scripts/put-files.sh, which runs it twice with coverage, with one PUT and
// with three, and lists the code that the two more PUTs ran. Without the variable
// it skips: it is a measurement, not a test of behaviour.
func TestPUTFiles(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("PUT_FILES_PUTS"))
	if err != nil {
		t.Skip("scripts/put-files.sh runs it")
	}
	var cfg config
	cfg, err = parseFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.db = filepath.Join(t.TempDir(), "plannr.db")
	logs := newLogWriter(io.Discard, logFlushInterval)
	defer logs.Close()
	base, _, stop := startServerLogging(t, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	defer stop()
	put := func() {
		req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe",
			strings.NewReader(`{"label":"My Fundment Account 2"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultDemoToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT: %d", resp.StatusCode)
		}
	}
	for range n {
		put()
	}
	// Both runs last as long, so that what ticks (the log's flush) ticks as often.
	time.Sleep(250 * time.Millisecond)
}
