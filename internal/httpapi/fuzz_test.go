package httpapi_test

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// swappable is a Store whose backing store the fuzz target replaces before
// every input: building a Handler parses the spec, far slower than seeding a
// Memory, so one Handler serves a whole fuzzing process while each input still
// starts from the same state (which keeps the coverage of an input
// reproducible).
type swappable struct{ store.Store }

// FuzzServer sends arbitrary requests through the whole HTTP stack, in-process,
// and checks what every layer promises whatever the input: no panic, no 5xx, an
// answer the spec allows (JSON errors, 204 without a body), the security
// headers, one log line without a token, no change to stored data by a
// request that was refused, and the same answer, byte for byte, from a server
// that validates with kin-openapi alone.
func FuzzServer(f *testing.F) {
	seedRequest, err := os.ReadFile("../../api/testdata/seed-request.json")
	if err != nil {
		f.Fatal(err)
	}
	seedResponse, err := os.ReadFile("../../api/testdata/seed-response.json")
	if err != nil {
		f.Fatal(err)
	}
	alice, bob := "Bearer "+aliceToken, "Bearer "+bobToken
	const jsonType = "application/json"
	// The bad requests of TestRequests, and the good ones they are variations of.
	for _, in := range []struct {
		method, target, authorization, contentType string
		body                                       []byte
	}{
		{"PUT", connPath + aliceConn, alice, jsonType, seedRequest},
		{"PUT", connPath + aliceConn, alice, jsonType, seedResponse},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":null}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"colour":"red"}`)},
		{"PUT", connPath + aliceConn, "bearer " + aliceToken, jsonType, []byte(`{}`)},
		{"PUT", connPath + strings.ToUpper(aliceConn), alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + aliceConn, alice, "application/json; charset=utf-8", []byte(`{}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"` + strings.Repeat("a", plannroauth.LabelMaxLength()+1) + `"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"a\u0000b"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":42}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`["label"]`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":true}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":{"text":"x"}}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"` + strings.Repeat("a", plannroauth.LabelMaxLength()) + `\u0000b"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"` + strings.Repeat("a", plannroauth.LabelMaxLength()+1) + `","label":"ok"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`"label"`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`null`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`" "`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{} {}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, nil},
		{"PUT", connPath + aliceConn, alice, "text/plain", []byte(`label=x`)},
		{"PUT", connPath + aliceConn, alice, "", []byte(`{}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"` + strings.Repeat("a", 70<<10) + `"}`)},
		{"PUT", connPath + aliceConn, "", jsonType, []byte(`{}`)},
		{"PUT", connPath + aliceConn, "", jsonType, []byte(`{"label":`)},
		{"GET", "/api/v1/oauth/connections", "Bearer nobody", "", nil},
		{"GET", "/api/v1/oauth/connections", "Basic YTpi", "", nil},
		{"GET", "/api/v1/oauth/connections", bob, "", nil},
		{"PUT", connPath + "00000000-0000-4000-8000-000000000000", alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + "not-a-uuid", alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + "not-a-uuid", alice, jsonType, []byte(`{"label":42}`)},
		{"PUT", connPath + strings.ReplaceAll(aliceConn, "-", ""), alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + bobConn, alice, jsonType, []byte(`{"label":"mine now"}`)},
		{"DELETE", connPath + bobConn, alice, "", nil},
		{"DELETE", connPath + aliceConn, alice, "", nil},
		{"PATCH", connPath + aliceConn, alice, "", nil},
		{"POST", "/api/v1/oauth/connections", "", "", nil},
		{"GET", "/api/v1/nope", "", "", nil},
		{"GET", "/api/v1/oauth/connections/", alice, "", nil},
		{"GET", "/api//v1/oauth/connections", alice, "", nil},
		{"GET", "/api/v1/oauth/connections?page=2#top", alice, "", nil},
		{"GET", "/healthz", "", "", nil},
		{"HEAD", "/openapi.yaml", "", "", nil},
		{"GET", "/docs/", "", "", nil},
		{"GET", "/docs/nope.js", "", "", nil},
		{"POST", "/healthz", "", "", nil},
		// Issue 10's items 1 to 4: what encoding/json would have changed, paths
		// with encoded characters, HEAD and OPTIONS, two Authorization headers.
		{"PUT", connPath + aliceConn, alice, jsonType, []byte("{\"label\":\"\xff\xfe\"}")},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"\ud800"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"label":"\ud83d\ude00  "}`)},
		{"PUT", connPath + aliceConn, alice, "application/json; charset=iso-8859-1", []byte("{\"label\":\"Caf\xe9\"}")},
		{"PUT", "/api/v1/oauth/connections%2F" + aliceConn, alice, jsonType, []byte(`{}`)},
		{"PUT", connPath + "%37" + aliceConn[1:], alice, jsonType, []byte(`{}`)},
		{"GET", "/api/v1/oauth/%63onnections", alice, "", nil},
		{"GET", "/api/v1/oauth/connections%", alice, "", nil},
		{"HEAD", "/api/v1/oauth/connections", alice, "", nil},
		{"OPTIONS", connPath + aliceConn, "", "", nil},
		{"OPTIONS", "/nope", "", "", nil},
		{"PUT", connPath + aliceConn, alice + "\n" + bob, jsonType, []byte(`{"label":"x"}`)},
		{"PUT", connPath + aliceConn, alice, jsonType + "\n" + jsonType, []byte(`{"label":"x"}`)},
		// What the compiled checks' scanner reads: members of any shape, escapes,
		// a member twice, the characters the trimming removes.
		{"PUT", connPath + aliceConn, alice, jsonType, []byte(`{"x":{"label":[1,"}",null]},"\u006cabel":"a","label":"\ufeff b\u200e"}`)},
	} {
		f.Add(in.method, in.target, in.authorization, in.contentType, in.body)
	}

	st, kinStore := &swappable{}, &swappable{}
	var logs bytes.Buffer
	config := func(st store.Store, opts ...server.Option) httpapi.Config {
		return httpapi.Config{Store: st, Now: func() time.Time { return fixedNow }, Options: append([]server.Option{
			// High enough never to answer 429 (which would hide every layer
			// behind it from the fuzzer), yet on, so that its headers are
			// checked too.
			server.WithRateLimiter(server.NewFixedWindow(1<<30, time.Hour)),
			server.WithDocs(),
		}, opts...)}
	}
	h, err := httpapi.NewHandler(config(st, server.WithLogger(slogTo(&logs))))
	if err != nil {
		f.Fatal(err)
	}
	// The same server with kin-openapi checking every request alone: the
	// compiled checks must answer as it does.
	kin, err := httpapi.NewHandler(config(kinStore, server.WithoutCompiledChecks(), server.WithoutLogging()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, authorization, contentType string, body []byte) {
		req, ok := wireRequest(method, target, authorization, contentType, body)
		if !ok {
			t.Skip("net/http refuses this request before any handler")
		}
		st.Store = seededMemory(t)
		logs.Reset()
		// state needs only the store of a testServer.
		state := (&testServer{store: st}).state
		before := state(t)

		kinReq, _ := wireRequest(method, target, authorization, contentType, body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status, header, got := rec.Code, rec.Header(), rec.Body.Bytes()

		kinStore.Store = seededMemory(t)
		kinRec := httptest.NewRecorder()
		kin.ServeHTTP(kinRec, kinReq)
		if diff := sameAnswer(response{status, header, got}, response{kinRec.Code, kinRec.Header(), kinRec.Body.Bytes()}); diff != "" {
			t.Fatalf("the compiled checks answer otherwise than kin-openapi alone: %s", diff)
		}

		if status >= 500 {
			t.Fatalf("status %d: %s\nlog: %s", status, got, &logs)
		}
		if err := h.CheckResponse(req, status, header, got); err != nil {
			t.Fatalf("response %d violates the spec: %v\nbody: %s", status, err, got)
		}
		if status == http.StatusNoContent && len(got) != 0 {
			t.Fatalf("204 with a body: %q", got)
		}
		if header.Get("Cache-Control") != "no-store" || header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("security headers missing: %v", header)
		}
		if status >= 400 {
			if after := state(t); after != before {
				t.Fatalf("refused with %d, yet the store changed:\nbefore %s\nafter  %s", status, before, after)
			}
		}
		if n := strings.Count(logs.String(), "\n"); n != 1 {
			t.Fatalf("%d log lines, want 1:\n%s", n, &logs)
		}
		// The method is logged as sent; only a token hidden in it may show.
		for _, token := range []string{aliceToken, bobToken} {
			if strings.Contains(logs.String(), token) && !strings.Contains(method, token) {
				t.Fatalf("the log holds a token:\n%s", &logs)
			}
		}
	})
}

// wireRequest builds the request as the server would read it off the wire, so
// that the path is parsed as a request target and not as a URL. It reports false
// for inputs that are not one HTTP request (a line break would make a different
// one) or that net/http's parser refuses itself.
func wireRequest(method, target, authorization, contentType string, body []byte) (*http.Request, bool) {
	if strings.ContainsAny(method+target, "\r\n") || strings.Contains(authorization+contentType, "\r") {
		return nil, false
	}
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: plannr.test\r\n")
	// Lines of authorization are Authorization headers of their own.
	for _, a := range strings.Split(authorization, "\n") {
		if a != "" {
			b.WriteString("Authorization: " + a + "\r\n")
		}
	}
	// So are those of contentType.
	for _, ct := range strings.Split(contentType, "\n") {
		if ct != "" {
			b.WriteString("Content-Type: " + ct + "\r\n")
		}
	}
	if len(body) > 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil {
		return nil, false
	}
	req.RemoteAddr = "127.0.0.1:1234"
	return req, true
}

// seededMemory is a fresh store with alice (the seed's example connection) and
// bob, who has a connection of his own.
func seededMemory(t *testing.T) store.Store {
	t.Helper()
	st := memory.New()
	seed(t, st)
	return st
}
