package client

import (
	"net/http"
	"strconv"
	"time"
)

// DefaultRateWindow is the length of Plannr's rate-limit window: it allows
// 500 requests a minute per user.
const DefaultRateWindow = time.Minute

// RateLimit is what one answer said of the caller's rate limit, in Plannr's
// (Laravel's) X-RateLimit-* headers.
type RateLimit struct {
	// Limit is how many requests a window allows (X-RateLimit-Limit).
	Limit int
	// Remaining is how many requests the window had left after this one
	// (X-RateLimit-Remaining); 0 on a 429.
	Remaining int
	// Reset is when the window closes (X-RateLimit-Reset, in whole seconds),
	// or zero when the answer did not say: Plannr says it only on a 429.
	Reset time.Time
}

// RateLimitOf reads the rate limit that resp states. ok is false when resp
// is nil or lacks X-RateLimit-Limit or X-RateLimit-Remaining, as an answer
// to an unauthenticated request does. Any generated response carries its
// answer in HTTPResponse:
//
//	resp, err := c.ListOAuthConnectionsWithResponse(ctx)
//	if rl, ok := client.RateLimitOf(resp.HTTPResponse); ok { ... }
func RateLimitOf(resp *http.Response) (rl RateLimit, ok bool) {
	if resp == nil {
		return RateLimit{}, false
	}
	limit, err1 := strconv.Atoi(resp.Header.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	if err1 != nil || err2 != nil || limit <= 0 || remaining < 0 {
		return RateLimit{}, false
	}
	rl = RateLimit{Limit: limit, Remaining: min(remaining, limit)}
	if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && reset > 0 {
		rl.Reset = time.Unix(reset, 0)
	}
	return rl, true
}
