// Package envflag lets a command's flags be given by environment variables
// too, the command line winning. A variable is read after the flags are
// parsed, never taken as a flag's default: the usage prints defaults, and a
// variable may hold a token.
package envflag

import (
	"flag"
	"fmt"
)

// Vars names the environment variable of each flag that has one, by the
// flag's name.
type Vars map[string]string

// Describe adds " (env VAR)" to the usage of each flag of vars.
func (vars Vars) Describe(fs *flag.FlagSet) {
	for name, v := range vars {
		fs.Lookup(name).Usage += " (env " + v + ")"
	}
}

// Apply sets each flag of vars that the command line did not give from its
// environment variable, if that is set (getenv is os.Getenv but in tests).
// Call it after fs.Parse.
func (vars Vars) Apply(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, v := range vars {
		if value := getenv(v); value != "" && !given[name] {
			if err := fs.Set(name, value); err != nil {
				// In the words the flag package has for a bad value of the
				// command line, whose own error says only "parse error".
				// Strings, the flags that hold tokens, take any value.
				typ := ""
				if kind, _ := flag.UnquoteUsage(fs.Lookup(name)); kind != "" {
					typ = " (" + kind + ")"
				}
				return fmt.Errorf("invalid value %q of %s for -%s%s: %w", value, v, name, typ, err)
			}
		}
	}
	return nil
}
