package conformance

// registry is every check, in the order they run: the ones that delete or
// drive the rate limit last, so that the others find the data and the budget
// as they were. Names follow Schemathesis's where one fits.
var registry = []*check{
	{Check{Name: "list_connections", Description: "each user's list is 200, its timestamps RFC 3339 in whole seconds, and no connection is in both users' lists"}, checkList},
	{Check{Name: "ignored_auth", Description: "no token, an unknown token and the Basic scheme are 401 Unauthenticated. with WWW-Authenticate: Bearer, on every operation"}, checkIgnoredAuth},
	{Check{Name: "auth_before_body", Description: "a bad body without a token is 401, not 400, 415 or 422: authentication comes first"}, checkAuthBeforeBody},
	{Check{Name: "duplicate_authorization", Description: "two Authorization headers are 401, never either user"}, checkDuplicateAuthorization},
	{Check{Name: "tenant_isolation", Description: "PUT and DELETE on the other user's connection answer exactly as an unknown UUID does, and change nothing"}, checkTenantIsolation},
	{Check{Name: "label_set", Description: "a string label is set, and the PUT's answer is what the list then shows"}, checkLabelSet},
	{Check{Name: "label_absent_keeps", Description: "a body without label ({}) keeps the label"}, checkLabelAbsent},
	{Check{Name: "label_null_clears", Description: "label null clears the label"}, checkLabelNull},
	{Check{Name: "label_trimmed", Description: "surrounding whitespace is trimmed, and an empty or blank label becomes null (Laravel's TrimStrings and ConvertEmptyStringsToNull)"}, checkLabelTrimmed},
	{Check{Name: "label_max_length", Description: "255 code points pass and 256 are 422 errors.label, in ASCII and in emoji"}, checkLabelMaxLength},
	{Check{Name: "negative_data_rejection", Description: "a label of the wrong type is 422 errors.label, a body that is not an object 422 errors.body, and neither changes anything"}, checkNegativeData},
	{Check{Name: "validation_message", Description: "a 422's message is its first error, followed by (and N more errors) when there are more"}, checkValidationMessage},
	{Check{Name: "unknown_properties_ignored", Description: "body members the spec does not define are ignored; member names are case-sensitive"}, checkUnknownProperties},
	{Check{Name: "timestamps", Description: "created_at never moves; updated_at moves to the time of the update and never back"}, checkTimestamps},
	{Check{Name: "path_uuid", Description: "a malformed or unknown UUID is 404 OAuth2 connection not found.; an upper-case UUID is the same connection"}, checkPathUUID},
	{Check{Name: "unsupported_media_type", Description: "a body not sent as JSON, or as JSON in a charset other than UTF-8, is 415"}, checkMediaType},
	{Check{Name: "body_too_large", Description: "a body over 64 KiB is 413"}, checkBodyTooLarge},
	{Check{Name: "malformed_json", Description: "malformed JSON, trailing data and invalid UTF-8 are 400 and change nothing"}, checkMalformedJSON},
	{Check{Name: "unsupported_method", Description: "another method on a known path is 405 with Allow"}, checkUnsupportedMethod},
	{Check{Name: "head_request", Description: "HEAD on the list is 200 with the GET's headers and no body"}, checkHead},
	{Check{Name: "options_request", Description: "OPTIONS is 204 with Allow, with a token or without"}, checkOptions},
	{Check{Name: "unknown_route", Description: "an unknown path, an encoded slash included, is a JSON 404 and changes nothing"}, checkUnknownRoute},
	{Check{Name: "ratelimit_headers", Description: "authenticated answers carry X-RateLimit-Limit, -Remaining (counting down by one) and -Reset (epoch seconds)"}, checkRateLimitHeaders},
	{Check{Name: "use_after_free", Description: "DELETE is 204, then PUT and DELETE are 404 and the connection is gone from the list", Writes: true}, checkUseAfterFree},
	{Check{Name: "ratelimit_drive", Description: "the first user driven to 429 gets Retry-After and X-RateLimit-Reset; the other user is unaffected", Writes: true, OptIn: true}, checkRateLimitDrive},
}
