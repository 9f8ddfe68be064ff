package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/internal/mdtable"
)

// TestREADMEFlagTable holds the README's table of plannr's flags to the
// flags plannr takes, and the defaults it tells to the code's.
func TestREADMEFlagTable(t *testing.T) {
	table, err := mdtable.Rows("../../README.md", "| flag (before or after the command) | environment | meaning |")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // a flag's meaning, by its name
	for _, cells := range table {
		for _, m := range regexp.MustCompile("--([a-z-]+)").FindAllStringSubmatch(cells[0], -1) {
			rows[m[1]] = cells[2]
		}
	}

	flags := append(slices.Clone(globalFlags), "version")
	for _, cmd := range commands {
		flags = append(flags, cmd.flags...)
	}
	for _, name := range flags {
		if _, ok := rows[name]; !ok {
			t.Errorf("README: no row for --%s", name)
		}
	}
	for name := range rows {
		if !slices.Contains(flags, name) {
			t.Errorf("README: a row for --%s, which is no flag", name)
		}
	}

	if m := regexp.MustCompile("\\(default `([^`]+)`\\)").FindStringSubmatch(rows["timeout"]); m == nil {
		t.Errorf("README: --timeout's row tells no default")
	} else if d, err := time.ParseDuration(m[1]); err != nil || d != defaultTimeout {
		t.Errorf("README: --timeout's default is %s; the code's is %s", m[1], defaultTimeout)
	}
	if want := "`" + client.DefaultBaseURL + "` by default"; !strings.Contains(rows["base-url"], want) {
		t.Errorf("README: --base-url's row does not say %s", want)
	}
}
