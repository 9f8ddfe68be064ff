package auth_test

import (
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/auth"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER a-b.c_d~e+f/g==", "a-b.c_d~e+f/g==", true},
		{"Bearer  abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer ===", "", false},
		{"Bearer a b", "", false},
		{"Bearer a=b", "", false},
		{"Bearer tök", "", false},
		{"Basic YTpi", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		token, ok := auth.BearerToken(tt.header)
		if token != tt.token || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.token, tt.ok)
		}
	}
}
