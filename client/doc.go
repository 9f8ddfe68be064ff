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
//   - pacing, so that requests do not run into the rate limit (below);
//   - a timeout of DefaultTimeout per attempt (WithHTTPClient replaces it);
//   - retries, with github.com/hashicorp/go-retryablehttp, of a 429, a 500,
//     502, 503 or 504 and a connection error: at most 4 retries
//     (DefaultMaxRetries), exponential back-off from 1 s to 30 s with jitter,
//     or exactly the Retry-After of a 429 or 503, and no retry that would
//     end later than 2 minutes (DefaultMaxElapsed) after the call started.
//     Cancelling the call's context stops it at once. See RetryPolicy.
//
// # Staying under the rate limit
//
// Plannr allows 500 requests a minute per user. Every client of one token and
// base URL in a process, and every goroutine using them, shares one budget.
// It learns X-RateLimit-Limit and X-RateLimit-Remaining from each answer,
// counts each request before it is sent, and when the next one would exceed
// what is left, holds it until the window reopens, rather than send a request
// that would be refused. Requests go first come, first sent. A request that
// overlaps another still out waits, at most, for what is left of the window's
// time divided by what is left of its budget (120 ms for a fresh Plannr
// window) after the one before, so that goroutines take turns and none gets
// the whole window; a lone request goes at once. Plannr's window is fixed
// and opens with the first request after the last one closed; the budget
// holds it to end one window length (WithRateWindow, by default a minute)
// after the first answer in it, or by the second after X-RateLimit-Reset
// when the answer says that (Plannr does on a 429; the fake of plannrtest on
// every answer), whichever is sooner. Before the first answer, and after each
// window ends until an answer tells the next one's state, one request goes
// alone. A server that states no limit is not paced.
//
// The wait honours the call's context: when the window reopens only after
// its deadline, the call fails at once with a *RateLimitedError, which wraps
// ErrRateLimited. A 429 that still comes, because another process uses the
// same token, is retried after its Retry-After, within the call's context
// and RetryPolicy; when Retry-After ends after the context's deadline, the
// call fails at once the same way, the error holding the 429.
// WithoutPacing turns pacing off. RateLimitOf reads what one answer said of
// the limit; BudgetFor shows the shared budget.
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
