// Package apispec reads what the API's contract says, once, from the embedded
// api/openapi.yaml: its operations with their routes and statuses, its limits
// and its messages. Every other package asks here rather than write a route, a
// status, a limit or a message a second time, so that an edit of the spec is
// all a change of them takes.
//
// It reads api.Spec, not gen's embedded copy, so that package gen may import
// the domain package, which asks here for the label's rules.
package apispec

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/api"
)

// Doc returns the spec, parsed and validated. The spec is embedded and checked
// by go generate and the contract tests, so a failure here is a broken build:
// it panics.
func Doc() *openapi3.T { return facts().doc }

// Operation is one operation of the spec.
type Operation struct {
	// ID is the operationId, e.g. "updateOAuthConnection".
	ID string
	// Method and Path are its route: "PUT", "/api/v1/oauth/connections/{oauthConnection_uuid}".
	Method, Path string
	// Success lists the 2xx statuses it declares, in order.
	Success []int
	// Envelope holds, by each of those statuses that has a JSON body (and
	// only those), the top-level properties its schema requires (the
	// list's "data"): what tells the API's success from another JSON
	// service's answer.
	Envelope map[int][]string
	// Op is the spec's operation object.
	Op *openapi3.Operation
}

// Operations returns every operation of the spec, by path and method.
func Operations() []Operation { return facts().ops }

// Operation returns the operation of method on the path template, if any.
func OperationOf(method, path string) (Operation, bool) {
	for _, op := range facts().ops {
		if op.Method == method && op.Path == path {
			return op, true
		}
	}
	return Operation{}, false
}

// OperationAt returns the operation of method whose path template the end of
// path matches, segment by segment, a {parameter} matching any one segment:
// the operation a client's request is for, whatever path prefix its base
// URL has.
func OperationAt(method, path string) (Operation, bool) {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, op := range facts().ops {
		if op.Method != method {
			continue
		}
		tmpl := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		if len(tmpl) > len(segs) {
			continue
		}
		tail := segs[len(segs)-len(tmpl):]
		if slices.EqualFunc(tmpl, tail, func(t, s string) bool { return t == s || strings.HasPrefix(t, "{") && s != "" }) {
			return op, true
		}
	}
	return Operation{}, false
}

// PathParams lists the names of the parameters of the operation's path
// template, in order: ["oauthConnection_uuid"].
func (op Operation) PathParams() []string {
	var names []string
	for seg := range strings.SplitSeq(op.Path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			names = append(names, strings.TrimSuffix(name, "}"))
		}
	}
	return names
}

// GoName is the operation's name in the generated code, its operationId
// with a capital, which the generated strict handler hands its middleware:
// "UpdateOAuthConnection".
func (op Operation) GoName() string {
	return strings.ToUpper(op.ID[:1]) + op.ID[1:]
}

// Allow lists the methods of the path template as an Allow header says them:
// sorted, and HEAD wherever GET is, since HEAD is answered as GET (RFC 9110).
func Allow(path string) []string {
	var methods []string
	for _, op := range facts().ops {
		if op.Path == path {
			methods = append(methods, op.Method)
			if op.Method == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
		}
	}
	slices.Sort(methods)
	return methods
}

// Limits are what x-limits fixes.
type Limits struct {
	// RequestBodyBytes is the largest request body the API takes.
	RequestBodyBytes int64
	// RateLimit requests a RateWindow per user.
	RateLimit  int
	RateWindow time.Duration
}

// LimitsOf returns the spec's x-limits.
func LimitsOf() Limits { return facts().limits }

// MaxLength returns the maxLength of the property prop of the component
// schema named schema; ok is false if it has none.
func MaxLength(schema, prop string) (n int, ok bool) {
	s := facts().doc.Components.Schemas[schema]
	if s == nil || s.Value.Properties[prop] == nil || s.Value.Properties[prop].Value.MaxLength == nil {
		return 0, false
	}
	return int(*s.Value.Properties[prop].Value.MaxLength), true
}

// HeaderMinimum returns the minimum of the schema of the component header
// named name; ok is false if it has none.
func HeaderMinimum(name string) (n int64, ok bool) {
	h := facts().doc.Components.Headers[name]
	if h == nil || h.Value.Schema == nil || h.Value.Schema.Value.Min == nil {
		return 0, false
	}
	return int64(*h.Value.Schema.Value.Min), true
}

// Messages are the API's messages, x-messages word for word; Format fills
// their :placeholders in.
type Messages struct {
	Unauthenticated      string `json:"unauthenticated"`
	NotFound             string `json:"notFound"`
	RouteNotFound        string `json:"routeNotFound"`
	MethodNotAllowed     string `json:"methodNotAllowed"` // :methods
	TooManyAttempts      string `json:"tooManyAttempts"`
	BodyTooLarge         string `json:"bodyTooLarge"` // :max
	UnsupportedMediaType string `json:"unsupportedMediaType"`
	InvalidJSON          string `json:"invalidJSON"`
	BodyMissing          string `json:"bodyMissing"`
	NotUTF8              string `json:"notUTF8"`
	BodyUnreadable       string `json:"bodyUnreadable"`
	InvalidRequest       string `json:"invalidRequest"`
	ServerError          string `json:"serverError"`
	Unavailable          string `json:"unavailable"`
	NotReady             string `json:"notReady"`
	ShuttingDown         string `json:"shuttingDown"`
	// What net/http answers before any handler runs, by its status.
	BadRequest          string `json:"badRequest"`
	HeadersTooLarge     string `json:"headersTooLarge"`
	NotImplemented      string `json:"notImplemented"`
	VersionNotSupported string `json:"versionNotSupported"`
	ExpectationFailed   string `json:"expectationFailed"`
	// Validation holds a 422's messages by the schema keyword that failed
	// ("maxLength", "type.string", ...), "body" for a body that is not an
	// object, "other" for any keyword without its own, and "more", the
	// count of the other errors in the 422's message.
	Validation map[string]string `json:"validation"`
}

// MessagesOf returns the spec's x-messages.
func MessagesOf() *Messages { return &facts().messages }

// Format fills the :name placeholders of message with args, given as name,
// value pairs: Format(m.BodyTooLarge, "max", "65536").
func Format(message string, args ...string) string {
	for i := 0; i+1 < len(args); i += 2 {
		message = strings.ReplaceAll(message, ":"+args[i], args[i+1])
	}
	return message
}

// Plural picks the form of a Laravel trans_choice message ("one|many") for
// count, and fills its :count in.
func Plural(message string, count int) string {
	one, many, found := strings.Cut(message, "|")
	if found && count != 1 {
		one = many
	}
	return Format(one, "count", strconv.Itoa(count))
}

type parsed struct {
	doc      *openapi3.T
	ops      []Operation
	limits   Limits
	messages Messages
}

var facts = sync.OnceValue(func() *parsed {
	p, err := parse(api.Spec)
	if err != nil {
		panic("apispec: the embedded api/openapi.yaml: " + err.Error())
	}
	return p
})

func parse(spec []byte) (*parsed, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, err
	}
	p := &parsed{doc: doc}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := Operation{ID: op.OperationID, Method: method, Path: path, Op: op, Envelope: map[int][]string{}}
			for code, resp := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				if err != nil || n < 200 || n >= 300 {
					continue
				}
				o.Success = append(o.Success, n)
				if mt := resp.Value.Content.Get("application/json"); mt != nil {
					o.Envelope[n] = mt.Schema.Value.Required
				}
			}
			slices.Sort(o.Success)
			p.ops = append(p.ops, o)
		}
	}
	slices.SortFunc(p.ops, func(a, b Operation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	})
	var limits struct {
		RequestBodyBytes int64 `json:"requestBodyBytes"`
		RateLimit        struct {
			Requests      int `json:"requests"`
			WindowSeconds int `json:"windowSeconds"`
		} `json:"rateLimit"`
	}
	if err := extension(doc, "x-limits", &limits); err != nil {
		return nil, err
	}
	p.limits = Limits{
		RequestBodyBytes: limits.RequestBodyBytes,
		RateLimit:        limits.RateLimit.Requests,
		RateWindow:       time.Duration(limits.RateLimit.WindowSeconds) * time.Second,
	}
	if p.limits.RequestBodyBytes <= 0 || p.limits.RateLimit <= 0 || p.limits.RateWindow <= 0 {
		return nil, fmt.Errorf("x-limits: every limit must be positive: %+v", p.limits)
	}
	if err := extension(doc, "x-messages", &p.messages); err != nil {
		return nil, err
	}
	return p, missingMessages(&p.messages)
}

// extension decodes the root extension name of doc into v, refusing members
// that v does not know: a misspelt key would otherwise go unnoticed.
func extension(doc *openapi3.T, name string, v any) error {
	raw, ok := doc.Extensions[name]
	if !ok {
		return fmt.Errorf("%s is missing", name)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// missingMessages refuses an x-messages without every message the API sends.
func missingMessages(m *Messages) error {
	b, _ := json.Marshal(m)
	var all map[string]any
	_ = json.Unmarshal(b, &all)
	for name, v := range all {
		if v == "" {
			return fmt.Errorf("x-messages.%s is missing", name)
		}
	}
	for _, key := range []string{"body", "other", "more"} {
		if m.Validation[key] == "" {
			return fmt.Errorf("x-messages.validation.%s is missing", key)
		}
	}
	return nil
}
