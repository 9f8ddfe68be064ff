package conformance

import (
	"fmt"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// registry is every check, in the order they run: the ones that delete or
// drive the rate limit last, so that the others find the data and the budget
// as they were. Names follow Schemathesis's where one fits. The descriptions
// name the spec's limits as the spec has them now.
var registry = func() []*check {
	maxLen, limits := plannroauth.LabelMaxLength(), apispec.LimitsOf()
	return []*check{
		{Check{Name: "list_connections", Description: "each user's list is 200, oldest first, and no connection is in both users' lists"}, checkList},
		{Check{Name: "ignored_auth", Description: "no token, an unknown token and the Basic scheme are 401 with the spec's message and a Bearer challenge, on every operation and HEAD"}, checkIgnoredAuth},
		{Check{Name: "auth_before_body", Description: "a bad body without a token is 401, not 400, 415 or 422: authentication comes first"}, checkAuthBeforeBody},
		{Check{Name: "duplicate_authorization", Description: "two Authorization headers are 401, never either user"}, checkDuplicateAuthorization},
		{Check{Name: "path_uuid", Description: "malformed and unknown UUIDs are 404, each answered exactly as the others"}, checkPathUUID},
		{Check{Name: "unsupported_media_type", Description: "a body not sent as JSON, or as JSON in a charset other than UTF-8, is 415; charset=utf-8 is JSON"}, checkMediaType},
		{Check{Name: "duplicate_content_type", Description: "a body's Content-Type on two lines, whatever their values, is 400 with the spec's message, and changes nothing"}, checkDuplicateContentType},
		{Check{Name: "body_too_large", Description: fmt.Sprintf("a body over %d bytes (x-limits) is 413, sent with a Content-Length or chunked; one of %[1]d is taken", limits.RequestBodyBytes)}, checkBodyTooLarge},
		{Check{Name: "malformed_json", Description: "malformed JSON, trailing data, invalid UTF-8, a lone surrogate, no body and a blank one are 400 with their messages"}, checkMalformedJSON},
		{Check{Name: "negative_data_rejection", Description: "a label of the wrong type, with a NUL inside or too long, is 422 errors.label, a body that is not an object (null included) 422 errors.body; no message repeats the value"}, checkNegativeData},
		{Check{Name: "validation_message", Description: "a label breaking two rules is 422 with both messages, and the message is the first followed by the count of the other"}, checkValidationMessage},
		{Check{Name: "unsupported_method", Description: "another method on a path of the spec is 405 with its Allow, and a message naming those methods"}, checkUnsupportedMethod},
		{Check{Name: "head_request", Description: "HEAD on the list is the GET's answer without a body"}, checkHead},
		{Check{Name: "options_request", Description: "OPTIONS is 204 with the path's Allow (HEAD where GET), with a token or without"}, checkOptions},
		{Check{Name: "unknown_route", Description: "an unknown path, an encoded slash included, is 404 with the route's message and changes nothing"}, checkUnknownRoute},
		{Check{Name: "ratelimit_headers", Description: "authenticated answers carry X-RateLimit-Limit and -Remaining, counting down with each request; -Reset, if sent, is within the window"}, checkRateLimitHeaders},
		{Check{Name: "tenant_isolation", Description: "PUT and DELETE on the other user's connection answer exactly as an unknown UUID does, and change nothing", Writes: true}, checkTenantIsolation},
		{Check{Name: "label_set", Description: "a string label is set, nothing else but updated_at changes, and the list then shows the PUT's answer", Writes: true}, checkLabelSet},
		{Check{Name: "label_absent_keeps", Description: "a body without label ({}) keeps the label", Writes: true}, checkLabelAbsent},
		{Check{Name: "label_null_clears", Description: "label null clears the label", Writes: true}, checkLabelNull},
		{Check{Name: "label_trimmed", Description: "Laravel's trim set (plannroauth.IsTrimmed) goes at both ends, other characters stay, a blank label becomes null, maxLength counts the trimmed label", Writes: true}, checkLabelTrimmed},
		{Check{Name: "label_max_length", Description: fmt.Sprintf("%d characters (maxLength) pass and %d are 422 errors.label, in ASCII, in é and in emoji", maxLen, maxLen+1), Writes: true}, checkLabelMaxLength},
		{Check{Name: "unknown_properties_ignored", Description: "body members the spec does not define are ignored; member names are case-sensitive", Writes: true}, checkUnknownProperties},
		{Check{Name: "timestamps", Description: "updated_at moves on every update, to its time, a second later past the last; created_at never moves (held on every answer)", Writes: true}, checkTimestamps},
		{Check{Name: "uuid_spellings", Description: "a real connection's UUID in upper case is the same connection (its misspellings are path_uuid's, of an unknown UUID, lest a lax server change a real one)", Writes: true}, checkUUIDSpellings},
		{Check{Name: "use_after_free", Description: "DELETE is 204, then PUT and DELETE are 404 and the connection is gone from the list", Writes: true}, checkUseAfterFree},
		{Check{Name: "ratelimit_drive", Description: "the first user's requests pass, each answer's X-RateLimit-Remaining below the last (it rises only in a new window), until a 429 with Retry-After and X-RateLimit-Reset once the last answer said 0, or said no more than the user's other clients were seen able to spend since; the other user is unaffected", Writes: true, OptIn: true}, checkRateLimitDrive},
	}
}()
