// Package client sets up the generated Plannr CRM client (package gen) for
// production use. It is not a second client: New returns a
// *gen.ClientWithResponses, and its methods, request bodies and typed
// responses are gen's.
//
// What New adds to every request:
//
//   - the base URL, DefaultBaseURL unless WithBaseURL says otherwise;
//   - Authorization: Bearer <token>, Accept: application/json, and a
//     User-Agent of plannr-oauth-go/<this module's version>;
//   - a timeout of DefaultTimeout per attempt (WithHTTPClient replaces it);
//   - retries, with github.com/hashicorp/go-retryablehttp, of a 429, a 500,
//     502, 503 or 504 and a connection error: at most 4 retries
//     (DefaultMaxRetries), exponential back-off from 1 s to 30 s with jitter,
//     or exactly the Retry-After of a 429 or 503, and no retry that would
//     end later than 2 minutes (DefaultMaxElapsed) after the call started.
//     Cancelling the call's context stops it at once. See RetryPolicy.
//
// Retrying is always safe here because every operation of this API is
// idempotent: listing reads, updating sets the label to a given value, and
// deleting a connection twice leaves it deleted. One consequence: a delete
// whose first answer was lost on the way back is retried and answered 404.
//
// When the retries run out, the call returns the last response, typed by gen
// (its JSON429 or JSONDefault filled), not an error: an error means there was
// no answer at all, or the context ended. CheckResponse and Check turn any
// non-2xx response into an *APIError:
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
