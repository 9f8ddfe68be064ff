// Package client sets up the generated Plannr CRM client (package gen) for
// production use. It is not a second client: New returns a
// *gen.ClientWithResponses, and its methods, request bodies and typed
// responses are gen's.
//
// What New adds to every request:
//
//   - the base URL, DefaultBaseURL unless WithBaseURL says otherwise;
//   - Authorization: Bearer <token>, only to the base URL's origin (scheme,
//     host and port): never on a redirect elsewhere, such as from https to
//     http on the same host, whatever http.Client WithHTTPClient gives;
//   - Accept: application/json, and a User-Agent of
//     plannr-oauth-go/<this module's version>;
//   - a body that a 307 or 308 redirect sends again, whatever reader gave it;
//   - pacing, so that requests do not run into the rate limit (below);
//   - a check of the label an update sets: one that is not valid UTF-8 is
//     refused before anything is sent, rather than sent with U+FFFD in
//     place of its invalid bytes, as encoding/json would;
//   - a timeout of DefaultTimeout per attempt (WithHTTPClient replaces it);
//   - answers of at most DefaultMaxAnswerBody bytes, a larger one failing the
//     call with ErrAnswerTooLarge, unretried (WithMaxAnswerBody);
//   - retries, with github.com/hashicorp/go-retryablehttp, of a 429, a 500,
//     502, 503 or 504 and a connection error: at most 4 retries
//     (DefaultMaxRetries), exponential back-off from 1 s to 30 s with jitter,
//     or the Retry-After of a 429 or 503, never less than 1 s
//     (DefaultMinWait), and no retry that would end later than 2 minutes
//     (DefaultMaxElapsed) after the call started, nor one that would end
//     past the context's deadline: the call then returns at once what its
//     last attempt got (an error saying so when that was no answer).
//     Cancelling the call's context stops it at once. See RetryPolicy.
//
// # Staying under the rate limit
//
// Plannr allows each user a number of requests a window (the spec's x-limits,
// in api/openapi.yaml). Each client paces its requests so that none is
// refused: it counts each request before sending it, learns X-RateLimit-Limit
// and X-RateLimit-Remaining from each answer, and once the window is spent
// holds requests until it ends, rather than send one that would be refused.
// Requests go at once up to what the window has left, first come, first sent:
// those that wait when a window is spent go first in the next, so that no
// goroutine is starved, and none waits while the window has room.
//
// Plannr's window is fixed: it opens with the first request after the last one
// closed, and lasts DefaultRateWindow. When it ends is learned from the
// answers: X-RateLimit-Reset against the answer's Date (Plannr says Reset only
// on a 429; plannr-server and the fake of plannrtest on every answer), a 429's
// Retry-After, and a count that starts afresh, which shows how long windows
// last at most. Until the answers say, a window is held to last
// WithRateWindow's length, by default DefaultRateWindow. When the answer to
// the request that opened a window says Reset, the window likely lasts the
// whole seconds from Date to Reset, less the one that Reset was rounded up by:
// once the window is spent, one request asks then whether it has ended. A
// server whose windows are not whole seconds may refuse it (the 429 is
// retried); the length it refused is ruled out, and the pacer waits longer
// from then on. Before the first answer, and after each window ends until an
// answer tells the next one's state, one request goes alone. An answer without
// the rate-limit headers (a proxy's 502, an HTML page, even with a 200)
// changes nothing; the API's own success without them (a JSON 200, a
// delete's 204) means the server limits no one, and nothing is paced until an
// answer states a limit. One that states X-RateLimit-Limit but no readable
// X-RateLimit-Remaining changes nothing either: pacing goes on. The Pacer
// type tells the whole of it.
//
// What is shared is shared on purpose: each client has its own Pacer, and
// clients of one token that should share its budget are given one with
// WithPacer(NewPacer(window)). Two clients of one token with pacers of their
// own each take the other's requests for another process's, and may run
// into 429s, which are retried.
//
// The wait honours the call's context: a call whose context has already
// ended is not sent and spends nothing of the budget, and when the window
// reopens only after its deadline, the call fails at once with a
// *RateLimitedError, which wraps ErrRateLimited. A 429 that still comes, because another process uses the
// same token, is retried after its Retry-After, within the call's context
// and RetryPolicy; when Retry-After ends after the context's deadline, the
// call fails at once the same way, the error holding the 429. WithoutPacing
// turns pacing off. RateLimitOf reads what one answer said of the limit;
// Pacer.Budget shows a pacer's budget.
//
// # Options for one call
//
// AttemptTimeout, CallRetryPolicy and CallHeader are gen.RequestEditorFn
// values, which every generated method takes after its other arguments, and
// change that call only:
//
//	resp, err := c.ListOAuthConnectionsWithResponse(ctx, client.AttemptTimeout(5*time.Second), client.CallHeader("X-Request-Id", id))
//
// # Retries and errors
//
// Retrying is always safe here because every operation of this API is
// idempotent: listing reads, updating sets the label to a given value, and
// deleting a connection twice leaves it deleted. One consequence: a delete
// whose first answer was lost on the way back is retried and answered 404.
//
// When the retries run out, the call returns the last response, typed by gen
// (its JSON429 or JSONDefault filled), not an error: an error means there was
// no answer at all, the context ended, or the budget could not wait. One
// exception: a non-2xx answer that says it is JSON but is not the API's
// error shape (empty, an HTML page, a 422 whose errors is an array), which
// gen could not decode, comes back as an *APIError error with its status.
// A header that the spec types as an integer, and that gen could not parse,
// does not cost the answer either: a Retry-After given as an HTTP date is
// rewritten in seconds, counted from the answer's Date (not the local clock)
// and rounded up, and any other value that is not an integer is removed.
// CheckResponse and Check turn any non-2xx response into an *APIError:
//
//	c, err := client.New(os.Getenv("PLANNR_TOKEN"))
//	if err != nil {
//		return err
//	}
//	body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("Fundment")}
//	resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity {
//		return fmt.Errorf("label rejected: %v", apiErr.Errors["label"])
//	} else if err != nil {
//		return err
//	}
//	fmt.Println(resp.JSON200.UpdatedAt)
package client
