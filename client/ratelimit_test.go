package client

import (
	"net/http"
	"testing"
	"time"
)

func TestRateLimitOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header // nil: no response
		want   RateLimit
		wantOK bool
	}{
		{name: "no response"},
		{name: "no headers", header: http.Header{}},
		{
			name:   "every header",
			header: http.Header{"X-Ratelimit-Limit": {"500"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1782393108"}},
			want:   RateLimit{Limit: 500, Remaining: 0, Reset: time.Unix(1782393108, 0)}, wantOK: true,
		},
		{
			name:   "no reset, as Plannr's 2xx",
			header: http.Header{"X-Ratelimit-Limit": {"500"}, "X-Ratelimit-Remaining": {"499"}},
			want:   RateLimit{Limit: 500, Remaining: 499}, wantOK: true,
		},
		{
			name:   "an unreadable reset is none",
			header: http.Header{"X-Ratelimit-Limit": {"500"}, "X-Ratelimit-Remaining": {"499"}, "X-Ratelimit-Reset": {"soon"}},
			want:   RateLimit{Limit: 500, Remaining: 499}, wantOK: true,
		},
		{name: "no limit", header: http.Header{"X-Ratelimit-Remaining": {"499"}}},
		{name: "no remaining", header: http.Header{"X-Ratelimit-Limit": {"500"}}},
		{name: "unreadable limit", header: http.Header{"X-Ratelimit-Limit": {"lots"}, "X-Ratelimit-Remaining": {"499"}}},
		{name: "zero limit", header: http.Header{"X-Ratelimit-Limit": {"0"}, "X-Ratelimit-Remaining": {"0"}}},
		{name: "negative remaining", header: http.Header{"X-Ratelimit-Limit": {"500"}, "X-Ratelimit-Remaining": {"-1"}}},
		{
			name:   "remaining above the limit is the limit",
			header: http.Header{"X-Ratelimit-Limit": {"500"}, "X-Ratelimit-Remaining": {"600"}},
			want:   RateLimit{Limit: 500, Remaining: 500}, wantOK: true,
		},
	}
	for _, tt := range tests {
		var resp *http.Response
		if tt.header != nil {
			resp = &http.Response{StatusCode: http.StatusOK, Header: tt.header}
		}
		got, ok := RateLimitOf(resp)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
