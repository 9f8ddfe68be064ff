package server

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// WithOperationMiddleware runs mw around each operation, first given
// outermost, as oapi-codegen's strict server runs its middleware: each gets
// the operation's name (its generated method's, "UpdateOAuthConnection"),
// the typed request object and the typed response, after the kit's checks
// and before the response is written. Use it for what an implementation does
// around every operation: an audit line, a span, a transaction. Nil entries
// are skipped.
func WithOperationMiddleware(mw ...gen.StrictMiddlewareFunc) Option {
	return func(c *config) error {
		for _, m := range mw {
			if m != nil {
				c.middlewares = append(c.middlewares, m)
			}
		}
		return nil
	}
}

// operations returns the handler of each operation of impl, by "METHOD
// /path", as the generated gen.HandlerWithOptions registers them: the
// generated parameter binding, then the generated strict handler with
// middlewares, which binds the body and calls impl. The generated ServeMux
// is not used, since the server has matched the request already, on the
// escaped path, and answers misses in JSON. Where fastOperations has an
// operation, its handler stands in front of the generated one.
func operations(impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc) map[string]http.HandlerFunc {
	strict := gen.NewStrictHandlerWithOptions(impl, middlewares, gen.StrictHTTPServerOptions{
		// The validator has checked the body, so a decoding failure here is a
		// body the schema allows and Go cannot hold: still the client's error.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, validation.InvalidJSON)
		},
		ResponseErrorHandlerFunc: WriteError,
	})
	handlers := routeTable{}
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter: handlers,
		// Parameters were validated already; a binding failure is a malformed UUID.
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, plannroauth.ErrNotFound)
		},
	})
	for _, op := range apispec.Operations() {
		key := op.Method + " " + op.Path
		if fast := fastOperations[op.ID]; fast != nil && handlers[key] != nil {
			handlers[key] = fast(impl, middlewares, handlers[key])
		}
	}
	return handlers
}

// routeTable records what gen.HandlerWithOptions registers: the generated
// handler of each operation, by its ServeMux pattern, "METHOD /path".
type routeTable map[string]http.HandlerFunc

func (t routeTable) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	t[pattern] = h
}

// ServeHTTP is never called: the server dispatches on the table itself.
func (routeTable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, validation.RouteNotFound)
}

// fastOperations are the handlers, by operationId, that stand in front of an
// operation's generated one for a request the compiled checks accepted, and
// pass any other on to it. The generated strict handler binds a JSON body
// with runtime.BindJSONBody, which turns a nullable.Nullable field back into
// JSON to decode it again; an operation with a JSON body binds the fields the
// compiled checks found instead. TestEveryBodyIsBoundFast fails when the spec
// has an operation with a JSON body that is not here, so that adding one is
// a choice.
var fastOperations = map[string]func(impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc, generated http.HandlerFunc) http.HandlerFunc{
	"updateOAuthConnection": updateConnection,
}

// updateConnection is the PUT's fast handler: the accepted body bound to the
// generated type, and impl called as the generated strict handler calls it:
// the same request object, through the same middleware with the same
// operation name, the response visited, errors to WriteError.
func updateConnection(impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc, generated http.HandlerFunc) http.HandlerFunc {
	bind := newBinder[gen.UpdateOAuthConnectionJSONRequestBody]()
	if bind == nil {
		return generated // a field of a type binder does not know
	}
	var chain gen.StrictHandlerFunc // nil without middleware: impl is called as it is
	if len(middlewares) > 0 {
		chain = func(ctx context.Context, _ http.ResponseWriter, _ *http.Request, req any) (any, error) {
			return impl.UpdateOAuthConnection(ctx, req.(gen.UpdateOAuthConnectionRequestObject))
		}
		for _, m := range middlewares {
			chain = m(chain, "UpdateOAuthConnection")
		}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		fields, ok := validation.CompiledFields(r)
		// The parameter was validated as a UUID in its canonical form, which
		// uuid.Parse reads as the generated binding would.
		id, err := uuid.Parse(r.PathValue("oauthConnection_uuid"))
		if !ok || err != nil {
			generated(w, r)
			return
		}
		req := gen.UpdateOAuthConnectionRequestObject{OAuthConnectionUUID: id, Body: bind.bind(fields)}
		var resp any
		if chain == nil {
			resp, err = impl.UpdateOAuthConnection(r.Context(), req)
		} else {
			resp, err = chain(r.Context(), w, r, req)
		}
		if err == nil {
			if v, ok := resp.(gen.UpdateOAuthConnectionResponseObject); ok {
				err = v.VisitUpdateOAuthConnectionResponse(w)
			} else if resp != nil {
				err = fmt.Errorf("unexpected response type: %T", resp)
			}
		}
		if err != nil {
			WriteError(w, r, err)
		}
	}
}

// binder binds the fields of a body the compiled checks accepted to T, a
// generated struct, as runtime.BindJSONValue would bind the value they
// describe: by exact JSON name, a property T lacks ignored, null as
// encoding/json decodes it.
type binder[T any] struct {
	fields []boundField
}

type boundField struct {
	name  string
	index int
}

// newBinder returns the binder of T, or nil if T has a field other than a
// string, a *string or a nullable.Nullable[string] with a JSON name.
func newBinder[T any]() *binder[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil
	}
	b := &binder[T]{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || f.Anonymous || name == "" || name == "-":
			return nil
		case f.Type != reflect.TypeFor[string]() && f.Type != reflect.TypeFor[*string]() && f.Type != reflect.TypeFor[nullable.Nullable[string]]():
			return nil
		}
		b.fields = append(b.fields, boundField{name: name, index: i})
	}
	return b
}

func (b *binder[T]) bind(fields []validation.Field) *T {
	body := new(T)
	v := reflect.ValueOf(body).Elem()
	for _, f := range fields {
		for _, bf := range b.fields {
			if bf.name != f.Name {
				continue
			}
			switch p := v.Field(bf.index).Addr().Interface().(type) {
			case *nullable.Nullable[string]:
				if f.Null {
					p.SetNull()
				} else {
					p.Set(f.Value)
				}
			case **string:
				if f.Null {
					*p = nil
				} else {
					s := f.Value
					*p = &s
				}
			case *string:
				if !f.Null { // null leaves a string as it is
					*p = f.Value
				}
			}
		}
	}
	return body
}
