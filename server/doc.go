// Package server builds the whole HTTP server of Plannr's OAuth2-connections
// API around any implementation of gen.StrictServerInterface: a team that
// implements the API writes the three operations and a token lookup, and gets
// every other answer from here.
//
//	h, err := server.New(impl, server.WithAuth(lookup))
//	...
//	ln, err := net.Listen("tcp", addr)
//	...
//	srv := &http.Server{Handler: h, DisableGeneralOptionsHandler: true}
//	srv.Serve(h.Listener(ln)) // net/http's own 400, 417, 431, 501, 505 in JSON too, logged and counted
//
// A request takes one path, and is matched against the spec once:
//
//	log line, request ID, no-store/nosniff, panic -> JSON 500   (every request)
//	  -> match method and path: 404, 405 with Allow; OPTIONS -> 204 with Allow; HEAD as GET
//	     (no path of the spec: the server's pages, /healthz, /readyz, /openapi.yaml,
//	     /docs/, WithHandler's, or 404)
//	  -> bearer token -> AuthFunc: 401 with WWW-Authenticate, before the body is read
//	  -> RateLimiter: X-RateLimit-Limit, -Remaining, -Reset; 429 with Retry-After
//	  -> validation against the spec (kin-openapi): 400, 413, 415, 422, and 404 for a malformed UUID
//	  -> the generated handler of the operation, binding the validated body
//	  -> WithOperationMiddleware's middleware -> your operation
//
// and every error on the way, and any your operation returns, is JSON in the
// API's format: {"message": ...}, with "errors" by field for a 422, in
// Laravel's words, which are the spec's (its x-messages). WriteError is the
// one place where an error becomes a status. With WithResponseValidation,
// every answer is checked against the spec on its way out.
//
// Every option follows one rule: a zero or nil value means the option's
// default, and an option named Without... turns a default off. A nil pointer
// inside an interface (a nil *FixedWindow to WithRateLimiter) is no such nil:
// it would panic on every request, and New and Wrap refuse it, as they refuse
// a nil implementation or handler.
//
// The traps of assembling this from the generator's parts alone, which the
// kit closes:
//
//   - The generated binder matches JSON member names case-insensitively, so
//     {"Label": "x"}, which the schema ignores as an unknown property, would
//     set the label. The kit hands the binder the value it validated.
//   - kin-openapi's router tells 405 only for literal paths, and refuses every
//     request whose Host is not the spec's server; the generated ServeMux
//     answers its misses in text/plain. The kit matches once, on the escaped
//     path, and answers every miss in JSON.
//   - The strict handler and the validation middleware each have their own
//     error hook, text/plain by default. Here both go through one renderer
//     (WriteError).
//   - A nullable time that an operation never set goes out as
//     "0001-01-01T00:00:00Z", valid RFC 3339 that no check would notice.
//     Response validation refuses it.
//   - Invalid UTF-8 and lone surrogate escapes, which encoding/json would
//     quietly store as U+FFFD, are refused with 400.
//
// Inputs are also normalised as Plannr (a Laravel application) does before
// validation: strings are trimmed, and blank ones become null.
//
// For a program that keeps its own router and handlers, Wrap puts the same
// path in front of any http.Handler.
//
// WithMetrics counts every request for Prometheus, by the route it matched,
// never its raw path. The same route is left in the request's Pattern, as
// http.ServeMux leaves its own, for middleware in front of the server, such
// as OpenTelemetry's otelhttp, to name the request by.
package server
