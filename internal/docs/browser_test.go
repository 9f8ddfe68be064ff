package docs_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Chromium on PATH. Without it the browser test is skipped on
// a developer's machine, but fails in CI (CI=true), where a skip would hide that
// the /docs page was never rendered.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "chromium not found: apt-get install chromium to run the /docs browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pageLog gathers, from Chromium's event goroutine, what the page requested and
// what went wrong in it.
type pageLog struct {
	mu       sync.Mutex
	requests []string
	urls     map[network.RequestID]string // to name the URL of a failed request
	problems []string
}

func (l *pageLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.requests = append(l.requests, ev.Request.URL)
		l.urls[ev.RequestID] = ev.Request.URL
	case *network.EventLoadingFailed:
		l.problems = append(l.problems, "request failed: "+l.urls[ev.RequestID]+": "+ev.ErrorText)
	case *runtime.EventExceptionThrown:
		msg := "exception: " + ev.ExceptionDetails.Text
		if ex := ev.ExceptionDetails.Exception; ex != nil {
			msg += " " + ex.Description
		}
		l.problems = append(l.problems, msg)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			for _, arg := range ev.Args {
				l.problems = append(l.problems, "console error: "+string(arg.Value)+arg.Description)
			}
		}
	}
}

func (l *pageLog) snapshot() (requests, problems []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests), slices.Clone(l.problems)
}

// TestBrowserRendersOperations opens /docs/ in headless Chromium and checks that
// Swagger UI fetched the spec and rendered its operations, loading nothing from
// any host but the server's.
func TestBrowserRendersOperations(t *testing.T) {
	chromium := chromiumPath(t)
	srv := newServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Quiet, self-contained Chromium: headless; no sandbox, since tests run as
	// root; no GPU on these machines; and no traffic of its own (QUIC, component
	// updates, sync, first-run and background fetches), so that every request
	// seen below is the page's. A fresh profile keeps runs independent.
	ctx, cancel = chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()

	log := pageLog{urls: map[network.RequestID]string{}}
	if err := chromedp.Listen(ctx, log.listen); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// fatal reports what the page did, which tells why it did not render.
	fatal := func(what string, err error) {
		t.Helper()
		requests, problems := log.snapshot()
		t.Fatalf("%s: %v\npage problems: %q\nrequests: %q", what, err, problems, requests)
	}

	// Swagger UI renders the operations once it has fetched and parsed the spec.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/docs/"),
		chromedp.WaitVisible(chromedp.CSS(".opblock-summary-description")),
	); err != nil {
		fatal("render /docs/", err)
	}
	summaries, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(".opblock-summary-description"), e => e.textContent.trim())`))
	if err != nil {
		fatal("read the operation summaries", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		fatal("read the title", err)
	}
	requests, problems := log.snapshot()

	for _, want := range []string{
		"List all OAuth2 connections",
		"Update an OAuth2 connection",
	} {
		if !slices.Contains(summaries, want) {
			t.Errorf("rendered summaries %q lack %q", summaries, want)
		}
	}
	if want := wantTitle(t); title != want {
		t.Errorf("title = %q, want %q", title, want)
	}
	if len(problems) > 0 {
		t.Errorf("page problems: %q", problems)
	}

	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("unparsable request URL %q: %v", r, err)
			continue
		}
		if u.Scheme != "data" && u.Host != base.Host {
			t.Errorf("page requested %s, off the server", r)
		}
	}
	if !slices.Contains(requests, srv.URL+specPath) {
		t.Errorf("page did not request the spec at %s; requests: %q", specPath, requests)
	}
}
