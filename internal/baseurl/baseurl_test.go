package baseurl

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		wantErr string // "" when s is a base URL
	}{
		{in: "https://api.plannrcrm.com"},
		{in: "http://127.0.0.1:8080"},
		{in: "http://host/plannr/"},
		{in: "api.plannrcrm.com", wantErr: "is not an absolute http(s) URL"},
		{in: "ftp://api.plannrcrm.com", wantErr: "is not an absolute http(s) URL"},
		{in: "https://api.plannrcrm.com/%zz", wantErr: "is not an absolute http(s) URL"},
		{in: "https:///plannr", wantErr: "is not an absolute http(s) URL"},
		{in: "https://api.plannrcrm.com/?tenant=1", wantErr: "has a query"},
		{in: "https://api.plannrcrm.com?", wantErr: "has a query"},
		{in: "https://api.plannrcrm.com/#v1", wantErr: "has a fragment"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		switch {
		case tt.wantErr == "" && (err != nil || u.String() != tt.in):
			t.Errorf("Parse(%q) = %v, %v; want it back", tt.in, u, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("Parse(%q) = %v, %v; want an error that it %s", tt.in, u, err, tt.wantErr)
		}
	}
}

// TestParseHidesThePassword: a refused base URL is quoted in the error, which
// a terminal or a CI log keeps; a password in it, parsed or not, is not.
func TestParseHidesThePassword(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"http://plannr:s3cret@127.0.0.1:8080/?tenant=1",
		"http://plannr:s3cret@127.0.0.1:8080/#v1",
		"ftp://plannr:s3cret@127.0.0.1:8080/",
		"http://plannr:s3cret@127.0.0.1:80x0/",
		"http://plannr:s3cret@127.0.0.1:8080/%zz",
		"http://plannr:s3cr/et@127.0.0.1:8080/",
	} {
		_, err := Parse(in)
		if err == nil || strings.Contains(err.Error(), "s3cr") || !strings.Contains(err.Error(), "plannr:xxxxx@") {
			t.Errorf("Parse(%q) = %v; want an error that shows the password as xxxxx", in, err)
		}
	}
}
