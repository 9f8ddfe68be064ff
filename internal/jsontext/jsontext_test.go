package jsontext_test

import (
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/jsontext"
)

func TestValidUnicode(t *testing.T) {
	tests := []struct {
		json string
		want bool
	}{
		{`{"label":"My Fundment Account"}`, true},
		{`{"label":"é😀"}`, true},
		{`{"label":"\u00e9\ud83d\ude00"}`, true}, // a pair, escaped
		{`{"label":"a\\ud800"}`, true},           // an escaped backslash, then text
		{`{"label":"\u0000"}`, true},             // NUL is a character; the schema's pattern refuses it
		{"{\"label\":\"a\xffb\"}", false},
		{"{\"label\":\"\xe2\x82\"}", false},     // a cut character
		{"{\"label\":\"\xed\xa0\x80\"}", false}, // a surrogate encoded in UTF-8
		{`{"label":"\ud800"}`, false},           // a high surrogate alone
		{`{"label":"\udc00"}`, false},           // a low surrogate alone
		{`{"label":"\ud800\u0041"}`, false},     // a high one, then no low one
		{`{"label":"\ud800x"}`, false},
		{`{"\ud800":1}`, false}, // in a key too
	}
	for _, tc := range tests {
		if got := jsontext.ValidUnicode([]byte(tc.json)); got != tc.want {
			t.Errorf("ValidUnicode(%q) = %v, want %v", tc.json, got, tc.want)
		}
	}
}
