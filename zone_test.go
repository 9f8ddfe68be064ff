package plannroauth_test

import (
	"testing"
	// Embedded zone data, so that the zones load on a machine without tzdata.
	_ "time/tzdata"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// TestLoadZoneTakesEveryShapeOfIANAName: the shape LoadZone holds a name to
// leaves no real zone out, however many parts or signs its name has; the
// names it refuses are fixtures' (TestParseRefuses) and the stores' (storetest).
func TestLoadZoneTakesEveryShapeOfIANAName(t *testing.T) {
	for _, name := range []string{"UTC", "Etc/UTC", "Europe/London", "America/Argentina/Buenos_Aires", "America/Port-au-Prince", "Etc/GMT+5", "Etc/GMT-14"} {
		if loc, err := plannroauth.LoadZone(name); err != nil || loc.String() != name {
			t.Errorf("LoadZone(%q) = %v, %v", name, loc, err)
		}
	}
}
