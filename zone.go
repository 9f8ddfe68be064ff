package plannroauth

import (
	"fmt"
	"regexp"
	"time"
)

// zoneName is the shape of an IANA zone name: UTC, or Area/Location with
// perhaps a further part (America/Argentina/Buenos_Aires), each part
// capitalised (Etc/GMT+5, America/Port-au-Prince).
var zoneName = regexp.MustCompile(`^(UTC|[A-Z][A-Za-z0-9_+-]*(/[A-Z][A-Za-z0-9_+-]*)+)$`)

// LoadZone loads an account's time zone by its IANA name: Area/Location
// (Europe/London) or UTC. It refuses what time.LoadLocation takes but names
// no zone, or none that every machine has alike: "" and "Local", a path
// ("./Europe/London"), a file of the zone database (posixrules, a right/
// zone) and the legacy names (EST, GB). The error names the value. The zone
// data is the system's, or time/tzdata's if the program imports it.
func LoadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || !zoneName.MatchString(name) {
		return nil, fmt.Errorf("%q is not an IANA time zone name (Area/Location, such as Europe/London, or UTC)", name)
	}
	return loc, nil
}
