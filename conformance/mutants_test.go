package conformance_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// mutant is our server with one rule of the spec broken, by a wrapper in
// front of it or by its options.
type mutant struct {
	name string
	// caughtBy is the check that must fail on the mutant; it passes on our
	// server (TestOurServer).
	caughtBy string
	wrap     wrapper
	opts     []plannrtest.Option
	// expected, when set, is what the check's failures say they expected,
	// in order: the fault told once, and no right answer failed.
	expected []string
}

var msgs = apispec.MessagesOf()

// labelOf is the label a request body sets, if it is a string.
func labelOf(m map[string]any) (string, bool) {
	s, ok := m["label"].(string)
	return s, ok
}

// the item path's last segment, a UUID, as the server would parse it
func pathUUID(r *http.Request) (uuid.UUID, error) { return uuid.Parse(path.Base(r.URL.Path)) }

// leaky shows every user's connections in every user's list.
func leaky(next http.Handler, _ *plannrtest.Server) http.Handler {
	return onAnswer(func(r *http.Request, a *answer) {
		if r.Method != http.MethodGet || r.URL.Path != listPath || a.status != http.StatusOK {
			return
		}
		var merged []any
		for _, tok := range []string{firstToken, otherToken} {
			req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, listPath, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, req)
			var l struct{ Data []any }
			_ = json.Unmarshal(rec.Body.Bytes(), &l)
			merged = append(merged, l.Data...)
		}
		a.body = mustJSON(map[string]any{"data": merged})
	})(next, nil)
}

// echo writes the request's Authorization into every answer: in an error's
// message as PHP's json_encode writes it (a slash as \/), as the field a
// 422's error is under, which a failure names, and in headers, as is,
// percent-encoded and in base64.
var echo = onAnswer(func(r *http.Request, a *answer) {
	auth := strings.Join(r.Header.Values("Authorization"), " | ")
	a.header.Set("X-Echo", auth)
	a.header.Set("X-Echo-Query", "?auth="+url.QueryEscape(auth))
	a.header.Set("X-Echo-Base64", base64.StdEncoding.EncodeToString([]byte(auth)))
	if a.status >= 400 && r.Method != http.MethodHead {
		e := map[string]any{"message": msgs.Unauthenticated + " (" + auth + ")"}
		if a.status == http.StatusUnprocessableEntity {
			e["errors"] = map[string][]string{auth: {e["message"].(string)}}
		}
		a.body = bytes.ReplaceAll(mustJSON(e), []byte("/"), []byte(`\/`))
	}
})

// noContentType is what the rules of every answer (observe.go) expect of
// one without a Content-Type: the 200, and the same answer to its UUID in
// upper case.
const noContentType = `an answer the spec allows; got: Content-Type "", want application/json`

// uuidAnswered has edit change the 404 of a PUT on a UUID of the spec's
// format (in either case) when wellFormed, of a PUT on any other when not,
// and no other answer. The first is the answer of an implementation whose
// update fails: the server refuses a malformed UUID before it.
func uuidAnswered(wellFormed bool, edit func(a *answer)) wrapper {
	return onAnswer(func(r *http.Request, a *answer) {
		id, err := pathUUID(r)
		if r.Method == http.MethodPut && path.Dir(r.URL.Path) == listPath && a.status == http.StatusNotFound &&
			(err == nil && strings.EqualFold(id.String(), path.Base(r.URL.Path))) == wellFormed {
			edit(a)
		}
	})
}

// caseInsensitive takes a member of a request body whose name is one of the
// spec's in another case as that member, where the body has none of the name.
var caseInsensitive = onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
	editBody(r, func(m map[string]any) {
		for k, v := range m {
			if _, ok := m[strings.ToLower(k)]; !ok {
				m[strings.ToLower(k)] = v
			}
		}
	})
	return false
})

// decodesSlash routes the decoded path, as Laravel's router does: an
// encoded slash becomes a separator.
var decodesSlash = onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
	r.URL.RawPath = ""
	return false
})

// editStamps applies f to the timestamps names of every connection answered.
func editStamps(f func(time.Time) string, names ...string) wrapper {
	return onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) {
			for _, n := range names {
				timestamp(conn, n, f)
			}
		})
	})
}

// young are users whose connections were all made now.
func young() []plannrtest.Option {
	return []plannrtest.Option{
		plannrtest.WithoutDefaultUser(),
		plannrtest.WithUser(firstToken, plannrtest.Connection{}, plannrtest.Connection{}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{UUID: otherConn}),
	}
}

// refuse answers requests that takes picks with an error of status and
// message, without the server: a rule stricter than the spec's. A 422
// names the label.
func refuse(takes func(r *http.Request, body []byte) bool, status int, message string) wrapper {
	return onRequest(func(w http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !takes(r, body) {
			return false
		}
		e := map[string]any{"message": message}
		if status == http.StatusUnprocessableEntity {
			e["errors"] = map[string][]string{"label": {message}}
		}
		writeError(w, status, e)
		return true
	})
}

func labelRule(f func(label string) bool) func(*http.Request, []byte) bool {
	return func(_ *http.Request, body []byte) bool {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return false
		}
		l, ok := labelOf(m)
		return ok && f(l)
	}
}

var mutants = []mutant{
	// Tenancy.
	{name: "another user's connection answered 403", caughtBy: "tenant_isolation", wrap: onAnswer(func(r *http.Request, a *answer) {
		if a.status == http.StatusNotFound && strings.HasSuffix(r.URL.Path, otherConn.String()) {
			a.setError(http.StatusForbidden, "This action is unauthorized.")
		}
	})},
	{name: "another user's connection told apart by a header", caughtBy: "tenant_isolation", wrap: onAnswer(func(r *http.Request, a *answer) {
		if strings.HasSuffix(r.URL.Path, otherConn.String()) {
			a.header.Set("X-Owner", "another user")
		}
	})},
	// A member the Error schema does not declare, sent only there.
	{name: "another user's connection told apart by a body member", caughtBy: "tenant_isolation", wrap: onAnswer(func(r *http.Request, a *answer) {
		if strings.HasSuffix(r.URL.Path, otherConn.String()) {
			a.body = bytes.Replace(a.body, []byte("{"), []byte(`{"owner":"another user",`), 1)
		}
	})},
	{name: "another user's connection told apart by its Content-Type", caughtBy: "tenant_isolation", wrap: onAnswer(func(r *http.Request, a *answer) {
		if strings.HasSuffix(r.URL.Path, otherConn.String()) {
			a.header.Set("Content-Type", "application/json; charset=utf-8")
		}
	})},
	{name: "a leaky list", caughtBy: "list_connections", wrap: leaky},
	{name: "tenancy broken", caughtBy: "tenant_isolation", wrap: breaksTenancy},
	{name: "an unknown UUID answered 500, another user's connection 404", caughtBy: "tenant_isolation", expected: []string{"404; got 500"}, wrap: onAnswer(func(r *http.Request, a *answer) {
		if r.Method == http.MethodPut && a.status == http.StatusNotFound && !strings.HasSuffix(r.URL.Path, otherConn.String()) {
			a.setError(http.StatusInternalServerError, msgs.ServerError)
		}
	})},
	// Authentication.
	{name: "no WWW-Authenticate", caughtBy: "ignored_auth", wrap: onAnswer(func(_ *http.Request, a *answer) { a.header.Del("WWW-Authenticate") })},
	{name: "a Basic challenge", caughtBy: "ignored_auth", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusUnauthorized {
			a.header.Set("WWW-Authenticate", `Basic realm="api"`)
		}
	})},
	{name: "another 401 message", caughtBy: "ignored_auth", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusUnauthorized {
			a.setError(http.StatusUnauthorized, "Unauthorized.")
		}
	})},
	{name: "a token echoed in an error", caughtBy: "ignored_auth", wrap: echo},
	{name: "authentication ignored", caughtBy: "ignored_auth", wrap: ignoresAuth},
	{name: "HEAD answered without a token", caughtBy: "ignored_auth", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodHead && r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+firstToken)
		}
		return false
	})},
	{name: "the body read before the token", caughtBy: "auth_before_body", wrap: refuse(func(r *http.Request, body []byte) bool {
		return r.Method == http.MethodPut && r.Header.Get("Authorization") == "" && !bytes.HasPrefix(body, []byte("{}"))
	}, http.StatusBadRequest, msgs.InvalidJSON)},
	{name: "two Authorization headers, the first taken", caughtBy: "duplicate_authorization", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if auth := r.Header.Values("Authorization"); len(auth) > 1 {
			r.Header["Authorization"] = auth[:1]
		}
		return false
	})},
	// The path.
	{name: "a text/plain 404", caughtBy: "path_uuid", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusNotFound {
			a.header.Set("Content-Type", "text/plain; charset=utf-8")
			a.body = []byte("404 page not found\n")
		}
	})},
	{name: "another not-found message", caughtBy: "path_uuid", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusNotFound && bytes.Contains(a.body, []byte(msgs.NotFound)) {
			a.setError(http.StatusNotFound, "Not found.")
		}
	})},
	{name: "a malformed UUID answered 422", caughtBy: "path_uuid", wrap: refuse(func(r *http.Request, _ []byte) bool {
		_, err := pathUUID(r)
		return r.Method == http.MethodPut && path.Dir(r.URL.Path) == listPath && err != nil
	}, http.StatusUnprocessableEntity, msgs.InvalidRequest)},
	// An implementation's update that fails answers the unknown UUID, which
	// reaches it, wrongly; the malformed ones, refused before, stay 404.
	{name: "an unknown UUID answered 500", caughtBy: "path_uuid", expected: []string{"404; got 500"}, wrap: uuidAnswered(true, func(a *answer) {
		a.setError(http.StatusInternalServerError, msgs.ServerError)
	})},
	// The default response declares no rate-limit headers: the 500 is told
	// once, not again for lacking them.
	{name: "an unknown UUID answered 500 without rate-limit headers", caughtBy: "path_uuid", expected: []string{"404; got 500"}, wrap: uuidAnswered(true, func(a *answer) {
		a.setError(http.StatusInternalServerError, msgs.ServerError)
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			a.header.Del(h)
		}
	})},
	{name: "an unknown UUID answered 429 without Retry-After", caughtBy: "path_uuid", expected: []string{"404; got 429"}, wrap: uuidAnswered(true, func(a *answer) {
		a.setError(http.StatusTooManyRequests, msgs.TooManyAttempts)
	})},
	// Each malformed UUID (six PUTs) held to the spec, not to the 500.
	{name: "an unknown UUID answered 500, a malformed one as an unknown route", caughtBy: "path_uuid",
		expected: append([]string{"404; got 500"}, slices.Repeat([]string{fmt.Sprintf("%q; got %q", msgs.NotFound, msgs.RouteNotFound)}, 6)...),
		wrap: chain(uuidAnswered(false, func(a *answer) { a.setError(http.StatusNotFound, msgs.RouteNotFound) }), uuidAnswered(true, func(a *answer) {
			a.setError(http.StatusInternalServerError, msgs.ServerError)
		}))},
	{name: "an unknown UUID answered 200 without a body", caughtBy: "path_uuid", expected: []string{noContentType, "404; got 200", noContentType}, wrap: uuidAnswered(true, func(a *answer) {
		a.status, a.body = http.StatusOK, nil
		a.header.Del("Content-Type")
	})},
	// The wrong 404 is told once, each malformed UUID's right one not held to it.
	{name: "an unknown UUID answered 404 in text/plain", caughtBy: "path_uuid",
		expected: slices.Repeat([]string{`an answer the spec allows; got: Content-Type "text/plain; charset=utf-8", want application/json`}, 2),
		wrap:     uuidAnswered(true, func(a *answer) { a.header.Set("Content-Type", "text/plain; charset=utf-8") })},
	{name: "an encoded slash decoded before routing", caughtBy: "unknown_route", wrap: decodesSlash},
	{name: "an unknown path answered with a connection's message", caughtBy: "unknown_route", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusNotFound && bytes.Contains(a.body, []byte(msgs.RouteNotFound)) {
			a.setError(http.StatusNotFound, msgs.NotFound)
		}
	})},
	{name: "Allow without HEAD", caughtBy: "options_request", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if allow := a.header.Get("Allow"); allow != "" {
			a.header.Set("Allow", strings.ReplaceAll(strings.ReplaceAll(allow, ", HEAD", ""), "HEAD, ", ""))
		}
	})},
	{name: "OPTIONS answered 200", caughtBy: "options_request", wrap: onAnswer(func(r *http.Request, a *answer) {
		if r.Method == http.MethodOptions && a.status == http.StatusNoContent {
			a.status = http.StatusOK
		}
	})},
	{name: "OPTIONS needs a token", caughtBy: "options_request", wrap: refuse(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodOptions && r.Header.Get("Authorization") == ""
	}, http.StatusUnauthorized, msgs.Unauthenticated)},
	{name: "HEAD refused", caughtBy: "head_request", wrap: refuse(func(r *http.Request, _ []byte) bool { return r.Method == http.MethodHead }, http.StatusMethodNotAllowed, "")},
	{name: "HEAD answered as text/html", caughtBy: "head_request", wrap: onAnswer(func(r *http.Request, a *answer) {
		if r.Method == http.MethodHead {
			a.header.Set("Content-Type", "text/html; charset=utf-8")
		}
	})},
	{name: "a 405 naming other methods", caughtBy: "unsupported_method", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusMethodNotAllowed && len(a.body) > 0 {
			a.setError(a.status, apispec.Format(msgs.MethodNotAllowed, "methods", "GET"))
		}
	})},
	// Bodies.
	{name: "two Content-Type lines, the first taken", caughtBy: "duplicate_content_type", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if ct := r.Header.Values("Content-Type"); len(ct) > 1 {
			r.Header["Content-Type"] = ct[:1]
		}
		return false
	})},
	{name: "a charset ignored", caughtBy: "unsupported_media_type", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if ct, _, ok := strings.Cut(r.Header.Get("Content-Type"), ";"); ok {
			r.Header.Set("Content-Type", ct)
		}
		return false
	})},
	{name: "any JSON media type taken", caughtBy: "unsupported_media_type", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if ct := r.Header.Get("Content-Type"); strings.HasSuffix(ct, "+json") || ct == "text/json" {
			r.Header.Set("Content-Type", "application/json")
		}
		return false
	})},
	{name: "no Content-Type taken as JSON", caughtBy: "unsupported_media_type", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
		return false
	})},
	{name: "a body limit lower than x-limits'", caughtBy: "body_too_large", wrap: refuse(func(_ *http.Request, body []byte) bool {
		return int64(len(body)) > apispec.LimitsOf().RequestBodyBytes/2
	}, http.StatusRequestEntityTooLarge, apispec.Format(msgs.BodyTooLarge, "max", strconv.FormatInt(apispec.LimitsOf().RequestBodyBytes/2, 10)))},
	// A limit held to Content-Length alone: a chunked body has none.
	{name: "a chunked body not held to the limit", caughtBy: "body_too_large", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.ContentLength < 0 {
			body, _ := io.ReadAll(r.Body)
			body = bytes.TrimRight(body, " ")
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		return false
	})},
	{name: "trailing white space not counted", caughtBy: "body_too_large", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		body = bytes.TrimRight(body, " ")
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return false
	})},
	{name: "a lone surrogate taken", caughtBy: "malformed_json", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		for _, s := range []string{`\ud800`, `\udc00`} {
			body = bytes.ReplaceAll(body, []byte(s), []byte(`\ufffd`))
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return false
	})},
	{name: "an empty body taken as {}", caughtBy: "malformed_json", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && r.ContentLength == 0 {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{}`)), 2
		}
		return false
	})},
	{name: "a null body taken as {}", caughtBy: "negative_data_rejection", wrap: takenAsEmpty(func(body []byte) bool { return string(bytes.TrimSpace(body)) == "null" })},
	{name: "a blank body taken as {}", caughtBy: "malformed_json", wrap: takenAsEmpty(func(body []byte) bool { return len(body) > 0 && len(bytes.TrimSpace(body)) == 0 })},
	{name: "any body taken", caughtBy: "negative_data_rejection", wrap: takesAnyBody},
	{name: "a 422 repeating the value sent", caughtBy: "negative_data_rejection", wrap: func(next http.Handler, _ *plannrtest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var sent any
			editBody(r, func(m map[string]any) { sent = m["label"] })
			onAnswer(func(_ *http.Request, a *answer) {
				var e struct{ Errors map[string][]string }
				if a.status == http.StatusUnprocessableEntity && json.Unmarshal(a.body, &e) == nil && len(e.Errors["label"]) > 0 {
					e.Errors["label"][0] += fmt.Sprintf(" (%v)", sent)
					a.body = mustJSON(map[string]any{"message": e.Errors["label"][0], "errors": e.Errors})
				}
			})(next, nil).ServeHTTP(w, r)
		})
	}},
	{name: "a NUL inside a label taken", caughtBy: "negative_data_rejection", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		editBody(r, func(m map[string]any) {
			if l, ok := labelOf(m); ok {
				m["label"] = strings.ReplaceAll(l, "\x00", " ")
			}
		})
		return false
	})},
	{name: "a 422 message without the count", caughtBy: "validation_message", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusUnprocessableEntity {
			var e struct{ Errors map[string][]string }
			_ = json.Unmarshal(a.body, &e)
			a.body = mustJSON(map[string]any{"message": e.Errors["label"][0], "errors": e.Errors})
		}
	})},
	{name: "a 422 naming failures that did not happen", caughtBy: "negative_data_rejection", wrap: onAnswer(func(_ *http.Request, a *answer) {
		var e struct{ Errors map[string][]string }
		if a.status != http.StatusUnprocessableEntity || json.Unmarshal(a.body, &e) != nil {
			return
		}
		// Each field also "required", and the message counts it.
		n := 0
		for k := range e.Errors {
			e.Errors[k] = append(e.Errors[k], apispec.Format(msgs.Validation["required"], "attribute", k))
			n += len(e.Errors[k])
		}
		first := e.Errors[slices.Sorted(maps.Keys(e.Errors))[0]][0]
		a.body = mustJSON(map[string]any{"message": first + " " + apispec.Plural(msgs.Validation["more"], n-1), "errors": e.Errors})
	})},
	{name: "member names case-insensitive", caughtBy: "unknown_properties_ignored", wrap: caseInsensitive},
	// A strict binder that gives up on a member it does not know, and so
	// on the label beside it: the PUT answers 200 and changes nothing.
	{name: "a body with an unknown member taken as {}", caughtBy: "unknown_properties_ignored", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		editBody(r, func(m map[string]any) {
			for k := range m {
				if k != "label" {
					clear(m)
					return
				}
			}
		})
		return false
	})},
	// Labels.
	{name: "null ignored", caughtBy: "label_null_clears", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		editBody(r, func(m map[string]any) {
			if v, ok := m["label"]; ok && v == nil {
				delete(m, "label")
			}
		})
		return false
	})},
	{name: "an absent label clears", caughtBy: "label_absent_keeps", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut {
			editBody(r, func(m map[string]any) {
				if _, ok := m["label"]; !ok {
					m["label"] = nil
				}
			})
		}
		return false
	})},
	{name: "NUL not trimmed", caughtBy: "label_trimmed", wrap: refuse(labelRule(func(l string) bool {
		return strings.HasPrefix(l, "\x00") || strings.HasSuffix(l, "\x00")
	}), http.StatusUnprocessableEntity, apispec.Format(msgs.Validation["pattern"], "attribute", "label"))},
	{name: "U+180E not trimmed", caughtBy: "label_trimmed", wrap: onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		editBody(r, func(m map[string]any) {
			if l, ok := labelOf(m); ok {
				m["label"] = strings.ReplaceAll(l, "\u180e", "\u00ad")
			}
		})
		return false
	})},
	{name: "maxLength lower than the spec's", caughtBy: "label_max_length", wrap: refuse(labelRule(func(l string) bool {
		l, _ = plannroauth.Trim(l)
		return utf8.RuneCountInString(l) >= plannroauth.LabelMaxLength()
	}), http.StatusUnprocessableEntity, apispec.Format(msgs.Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(plannroauth.LabelMaxLength()-1)))},
	{name: "a PUT that clears the expiries", caughtBy: "label_set", wrap: onAnswer(func(r *http.Request, a *answer) {
		if r.Method == http.MethodPut {
			a.editConnections(func(conn map[string]any) { conn["access_token_expires_at"] = nil })
		}
	})},
	{name: "a PUT answered before it is stored", caughtBy: "label_set", wrap: func(next http.Handler, _ *plannrtest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var label any
			editBody(r, func(m map[string]any) { label = m["label"]; delete(m, "label") })
			onAnswer(func(_ *http.Request, a *answer) {
				a.editConnections(func(conn map[string]any) { conn["label"] = label })
			})(next, nil).ServeHTTP(w, r)
		})
	}},
	// Timestamps and the list.
	{name: "updated_at frozen long ago", caughtBy: "timestamps", opts: append(users(), plannrtest.WithClock(func() time.Time { return summer }))},
	{name: "a young updated_at frozen", caughtBy: "timestamps", opts: young(), wrap: onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) { conn["updated_at"] = conn["created_at"] })
	})},
	{name: "updated_at going back", caughtBy: "timestamps", wrap: onAnswer(func(r *http.Request, a *answer) {
		if r.Method == http.MethodPut {
			a.editConnections(func(conn map[string]any) {
				timestamp(conn, "updated_at", func(t time.Time) string { return t.Add(-time.Hour).Format("2006-01-02T15:04:05-07:00") })
			})
		}
	})},
	{name: "created_at moves", caughtBy: "timestamps", wrap: onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) { conn["created_at"] = conn["updated_at"] })
	})},
	{name: "lists newest first", caughtBy: "list_connections", wrap: onAnswer(func(r *http.Request, a *answer) {
		var l map[string][]any
		if r.Method == http.MethodGet && json.Unmarshal(a.body, &l) == nil && l["data"] != nil {
			slices.Reverse(l["data"])
			a.body = mustJSON(l)
		}
	})},
	{name: "expiries in the account's offset", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.000000-07:00")
	}, "access_token_expires_at", "refresh_token_expires_at")},
	{name: "expiries in milliseconds", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}, "access_token_expires_at", "refresh_token_expires_at")},
	{name: "updated_at in UTC", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.UTC().Format("2006-01-02T15:04:05-07:00")
	}, "updated_at")},
	{name: "every timestamp in UTC", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.UTC().Format("2006-01-02T15:04:05-07:00")
	}, "created_at", "updated_at")},
	{name: "a zero offset as Z", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.Format(time.RFC3339)
	}, "created_at", "updated_at")},
	{name: "fractions of a second", caughtBy: "list_connections", wrap: editStamps(func(t time.Time) string {
		return t.Format("2006-01-02T15:04:05.000-07:00")
	}, "created_at")},
	{name: "a refresh_authorization_url of another connection", caughtBy: "list_connections", wrap: onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) {
			conn["refresh_authorization_url"] = fmt.Sprint(conn["refresh_authorization_url"], "0")
		})
	})},
	{name: "a refresh_authorization_url in upper case", caughtBy: "list_connections", wrap: onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) {
			conn["refresh_authorization_url"] = strings.ToUpper(fmt.Sprint(conn["refresh_authorization_url"]))
		})
	})},
	// Rate limits.
	{name: "rate-limit headers dropped", caughtBy: "ratelimit_headers", wrap: onAnswer(func(_ *http.Request, a *answer) {
		a.header.Del("X-RateLimit-Limit")
		a.header.Del("X-RateLimit-Remaining")
	})},
	{name: "rate-limit headers only on successes", caughtBy: "ratelimit_headers", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status >= 400 {
			a.header.Del("X-RateLimit-Limit")
			a.header.Del("X-RateLimit-Remaining")
		}
	})},
	{name: "no rate-limit headers on a 413", caughtBy: "body_too_large", wrap: onAnswer(func(_ *http.Request, a *answer) {
		if a.status == http.StatusRequestEntityTooLarge {
			a.header.Del("X-RateLimit-Limit")
			a.header.Del("X-RateLimit-Remaining")
		}
	})},
	{name: "a limit of 0", caughtBy: "ratelimit_headers", wrap: rateHeader("X-RateLimit-Limit", func(int64) int64 { return 0 })},
	{name: "X-RateLimit-Remaining stuck", caughtBy: "ratelimit_headers", wrap: rateHeader("X-RateLimit-Remaining", func(int64) int64 { return int64(apispec.LimitsOf().RateLimit) - 2 })},
	// The limit less one looks like a new window on every answer: only a
	// later X-RateLimit-Reset, or the spec's window gone by, makes it one.
	{name: "X-RateLimit-Remaining stuck at the limit less one", caughtBy: "ratelimit_headers", wrap: stuckAtTop},
	{name: "X-RateLimit-Remaining stuck at the limit less one, without X-RateLimit-Reset", caughtBy: "ratelimit_headers", wrap: chain(stuckAtTop, onAnswer(func(_ *http.Request, a *answer) {
		a.header.Del("X-RateLimit-Reset")
	}))},
	{name: "X-RateLimit-Reset in milliseconds", caughtBy: "ratelimit_headers", wrap: rateHeader("X-RateLimit-Reset", func(n int64) int64 { return 1000 * n })},
	{name: "fewer requests than X-RateLimit-Remaining says", caughtBy: "ratelimit_drive", wrap: rateHeader("X-RateLimit-Remaining", func(n int64) int64 {
		return min(n+5, int64(apispec.LimitsOf().RateLimit)-1)
	})},
	{name: "one window for every user", caughtBy: "ratelimit_drive", wrap: func() wrapper {
		var limited sync.Once
		held := make(chan struct{})
		return onAnswer(func(_ *http.Request, a *answer) {
			select {
			case <-held:
				a.setError(http.StatusTooManyRequests, msgs.TooManyAttempts)
				a.header.Set("Retry-After", "60")
			default:
				if a.status == http.StatusTooManyRequests {
					limited.Do(func() { close(held) })
				}
			}
		})
	}()},
	// The drive holds each answer to the one before it, and takes the
	// user's other clients to spend only as the answers show them doing.
	{name: "a limiter that refuses one request early", caughtBy: "ratelimit_drive", wrap: refusesAt(0)},
	{name: "a limiter that refuses with 20 left, beside another client in step", caughtBy: "ratelimit_drive", wrap: chain(refusesAt(20), inStep(1))},
	{name: "a limiter that never refuses", caughtBy: "ratelimit_drive", opts: neverRefuses.opts, wrap: neverRefuses.wrap},
	{name: "a limiter that never refuses, without X-RateLimit-Reset", caughtBy: "ratelimit_drive", opts: neverRefuses.opts, wrap: chain(neverRefuses.wrap, onAnswer(func(_ *http.Request, a *answer) {
		a.header.Del("X-RateLimit-Reset")
	}))},
	{name: "X-RateLimit-Remaining up mid-window", caughtBy: "ratelimit_drive", wrap: remainingUpAt(50, 3)},
	{name: "a Retry-After below its schema's minimum", caughtBy: "ratelimit_drive", wrap: rateHeader("Retry-After", func(int64) int64 { return -1 })},
	{name: "a 429 without Retry-After", caughtBy: "ratelimit_drive", wrap: onAnswer(func(_ *http.Request, a *answer) { a.header.Del("Retry-After") })},
	// Deletes.
	{name: "a DELETE that deletes nothing", caughtBy: "use_after_free", wrap: func(next http.Handler, srv *plannrtest.Server) http.Handler {
		return onRequest(func(w http.ResponseWriter, r *http.Request) bool {
			id, err := pathUUID(r)
			if r.Method != http.MethodDelete || err != nil || !slices.ContainsFunc(srv.Connections(firstToken), func(c plannrtest.Connection) bool { return c.UUID == id }) {
				return false
			}
			w.WriteHeader(http.StatusNoContent)
			return true
		})(next, srv)
	}},
}

// takenAsEmpty sends the server {} in place of a PUT's body that is picks:
// a server that reads it as no change.
func takenAsEmpty(is func(body []byte) bool) wrapper {
	return onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPut && is(body) {
			body = []byte(`{}`)
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return false
	})
}

// stuckAtTop answers every request as the first of a window.
var stuckAtTop = rateHeader("X-RateLimit-Remaining", func(int64) int64 { return int64(apispec.LimitsOf().RateLimit) - 1 })

// rateHeader changes the integer header name of every answer with f.
func rateHeader(name string, f func(int64) int64) wrapper {
	return onAnswer(func(_ *http.Request, a *answer) {
		if n, err := strconv.ParseInt(a.header.Get(name), 10, 64); err == nil {
			a.header.Set(name, strconv.FormatInt(f(n), 10))
		}
	})
}

// TestMutants checks that each mutant is caught by the check named for it,
// and that every failure names the request, the answer, the field and what
// was expected.
func TestMutants(t *testing.T) {
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			run := "^" + m.caughtBy + "$"
			// Data of its own: the check passes on it without the wrapper.
			if m.opts != nil && m.wrap != nil {
				clean := fake(t, nil, m.opts...).target
				clean.Run = run
				if _, got := outcomes(t, clean); !slices.Equal(got[conformance.Pass], []string{m.caughtBy}) {
					t.Fatalf("without the defect: %v, want %s to pass", got, m.caughtBy)
				}
			}
			target := fake(t, m.wrap, m.opts...).target
			target.Run = run
			rep, _ := outcomes(t, target)
			if len(rep.Results) != 1 || rep.Results[0].Outcome != conformance.Fail || rep.Passed() {
				t.Fatalf("with the defect: %+v, want %s to fail", rep.Results, m.caughtBy)
			}
			if m.expected != nil {
				var got []string
				for _, f := range rep.Results[0].Failures {
					got = append(got, f.Expected)
				}
				if !slices.Equal(got, m.expected) {
					t.Errorf("failures expected %q, want %q", got, m.expected)
				}
			}
			for _, f := range rep.Results[0].Failures {
				if f.Request == "" || f.Status == 0 || f.Field == "" || f.Expected == "" || strings.Contains(f.String(), "<nil>") || strings.Contains(f.String(), "%!") {
					t.Errorf("a failure that does not say it all:\n%s", f.String())
				}
			}
			t.Logf("%s: %s: %s", m.caughtBy, rep.Results[0].Failures[0].Field, rep.Results[0].Failures[0].Expected)
		})
	}
}
