package envflag_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/envflag"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string // -addr after Apply
		wantErr string
	}{
		{name: "default", want: "default"},
		{name: "the variable", env: map[string]string{"ADDR": "from-env"}, want: "from-env"},
		{name: "the flag wins", args: []string{"-addr", "from-flag"}, env: map[string]string{"ADDR": "from-env"}, want: "from-flag"},
		{name: "a bad value names itself, its variable, flag and type", env: map[string]string{"N": "x"}, want: "default", wantErr: `invalid value "x" of N for -n (int): parse error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			addr := fs.String("addr", "default", "where")
			fs.Int("n", 0, "how many")
			vars := envflag.Vars{"addr": "ADDR", "n": "N"}
			vars.Describe(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := vars.Apply(fs, func(k string) string { return tt.env[k] })
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if *addr != tt.want {
				t.Errorf("-addr = %q, want %q", *addr, tt.want)
			}
			if u := fs.Lookup("addr").Usage; u != "where (env ADDR)" {
				t.Errorf("usage %q", u)
			}
		})
	}
}
