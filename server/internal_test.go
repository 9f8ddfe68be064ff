package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER a-b.c_d~e+f/g==", "a-b.c_d~e+f/g==", true},
		{"Bearer  abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer ===", "", false},
		{"Bearer a b", "", false},
		{"Bearer a=b", "", false},
		{"Bearer tök", "", false},
		{"Basic YTpi", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		token, ok := bearerToken(tt.header)
		if token != tt.token || ok != tt.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.token, tt.ok)
		}
	}
}

// nopImpl answers every operation with an empty success.
type nopImpl struct{}

func (nopImpl) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	return gen.ListOAuthConnections200JSONResponse{}, nil
}

func (nopImpl) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	return gen.DeleteOAuthConnection204Response{}, nil
}

func (nopImpl) UpdateOAuthConnection(context.Context, gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	return gen.UpdateOAuthConnection200JSONResponse{}, nil
}

// TestCheckResponses feeds the wrapper of WithResponseValidation
// answers that break the spec, and checks that each fails the test while the
// client still receives the answer unchanged.
func TestCheckResponses(t *testing.T) {
	t.Parallel()
	s, err := New(nopImpl{}, WithAuth(func(context.Context, string) (Identity, error) { return Identity{}, nil }), WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	const list = `{"data":[]}`
	tests := []struct {
		name, path  string
		status      int
		contentType string
		body        string
		wantError   string // in the failure; none if empty
	}{
		{name: "valid list", path: "/api/v1/oauth/connections", status: 200, contentType: "application/json", body: list},
		{name: "valid 404 off the API", path: "/nowhere", status: 404, contentType: "application/json", body: `{"message":"Not Found"}`},
		{name: "list of the wrong shape", path: "/api/v1/oauth/connections", status: 200, contentType: "application/json", body: `{"data":"none"}`, wantError: "response 200 violates the spec"},
		{name: "not JSON", path: "/api/v1/oauth/connections", status: 200, contentType: "text/plain", body: list, wantError: "Content-Type"},
		{name: "undeclared status", path: "/api/v1/oauth/connections", status: 418, contentType: "application/json", body: `{"message":"teapot"}`, wantError: "does not declare 418"},
		{name: "nothing written", path: "/api/v1/oauth/connections", wantError: "response 200 violates the spec"},
		{name: "404 off the API without the Error body", path: "/nowhere", status: 404, contentType: "application/json", body: `{}`, wantError: "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 0 {
					return
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				// Too late: neither the check nor the client may see it.
				w.Header().Set("X-After", "1")
				_, _ = io.WriteString(w, tt.body)
			})
			var errs []string
			report := func(_ *http.Request, err error) { errs = append(errs, err.Error()) }
			rec := httptest.NewRecorder()
			checkResponses(answer, s.checkResponse, &ResponseValidation{Report: report}, nil).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))

			switch {
			case tt.wantError == "" && len(errs) != 0:
				t.Errorf("reported %q, want nothing", errs)
			case tt.wantError != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.wantError)):
				t.Errorf("reported %q, want one failure about %q", errs, tt.wantError)
			}
			if got, want := rec.Code, max(tt.status, 200); got != want {
				t.Errorf("client got %d, want %d", got, want)
			}
			if rec.Body.String() != tt.body || rec.Header().Get("Content-Type") != tt.contentType || rec.Header().Get("X-After") != "" {
				t.Errorf("client got %v %q, want the handler's answer", rec.Header(), rec.Body)
			}
		})
	}
}

// TestDeadlineContext holds deadlineContext to context.WithDeadline: after the
// same steps, both have the same deadline, error, values, and Done closed or
// open.
func TestDeadlineContext(t *testing.T) {
	type key struct{}
	const (
		wait         = "wait"          // something calls Done
		stop         = "stop"          // the request ends: its CancelFunc
		cancelParent = "cancel parent" // the client goes away
		observe      = "observe"       // compare the two here too
	)
	hour, past := time.Hour, -time.Millisecond
	for _, tt := range []struct {
		name     string
		in       time.Duration // the deadline, from now
		parentIn time.Duration // the parent's deadline, from now; 0 for none
		steps    []string
	}{
		{"running", hour, 0, nil},
		{"running, something waits", hour, 0, []string{wait}},
		{"deadline passed, nothing waited", past, 0, nil},
		{"deadline passed, something waits", past, 0, []string{wait}},
		{"parent cancelled", hour, 0, []string{cancelParent}},
		{"parent cancelled, then stopped", hour, 0, []string{cancelParent, observe, stop}},
		{"stopped", hour, 0, []string{stop}},
		{"stopped, then something waits", hour, 0, []string{stop, observe, wait}},
		{"waited on, then stopped", hour, 0, []string{wait, observe, stop}},
		{"stopped after the deadline passed", past, 0, []string{stop, observe, wait}},
		{"the parent's deadline is earlier", hour, time.Minute, []string{observe, stop}},
		{"the parent's deadline is later", time.Minute, hour, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			parent, cancelP := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			defer cancelP()
			if tt.parentIn != 0 {
				var cancel context.CancelFunc
				parent, cancel = context.WithDeadline(parent, now.Add(tt.parentIn))
				defer cancel()
			}
			want, wantCancel := context.WithDeadline(parent, now.Add(tt.in))
			defer wantCancel()
			got := &deadlineContext{Context: parent, deadline: now.Add(tt.in)}
			defer got.stop()
			compare := func(when string) {
				t.Helper()
				gd, gok := got.Deadline()
				wd, wok := want.Deadline()
				if gd != wd || gok != wok || got.Err() != want.Err() || got.Value(key{}) != want.Value(key{}) || closed(got) != closed(want) {
					t.Errorf("%s: deadline %v %v, err %v, value %v, done %v; WithDeadline's %v %v, %v, %v, %v", when,
						gd, gok, got.Err(), got.Value(key{}), closed(got), wd, wok, want.Err(), want.Value(key{}), closed(want))
				}
			}
			for _, step := range tt.steps {
				switch step {
				case wait:
					got.Done()
					want.Done()
				case stop:
					got.stop()
					wantCancel()
				case cancelParent:
					cancelP()
				case observe:
					compare("before " + step)
				}
			}
			compare("at the end")
			// context.AfterFunc (which asks for Done) runs once the context
			// ends, however it ended.
			ran := make(chan bool, 1)
			defer context.AfterFunc(got, func() { ran <- true })()
			if want.Err() != nil {
				<-ran
			}
		})
	}
}

// closed reports whether ctx's Done channel is closed.
func closed(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
