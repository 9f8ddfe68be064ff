package auth_test

import (
	"context"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/auth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
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

func TestUserFrom(t *testing.T) {
	if _, ok := auth.UserFrom(context.Background()); ok {
		t.Error("a user in an empty context")
	}
	type other struct{}
	ctx := auth.WithUser(context.WithValue(context.Background(), other{}, "kept"), store.User{ID: 1})
	ctx, cancel := context.WithCancel(auth.WithUser(ctx, store.User{ID: 2}))
	defer cancel()
	if u, ok := auth.UserFrom(context.WithValue(ctx, other{}, "shadow")); !ok || u.ID != 2 {
		t.Errorf("UserFrom = %v, %v; want the innermost user, 2", u, ok)
	}
	if ctx.Value(other{}) != "kept" {
		t.Error("the user's context hides its parent's values")
	}
	cancel()
	if ctx.Err() == nil {
		t.Error("a context derived from the user's does not cancel")
	}
}
