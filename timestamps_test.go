package plannroauth_test

import (
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

func TestStamp(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := time.Now()
	tests := []struct {
		name      string
		now, prev time.Time
		want      string
	}{
		{"the account's offset, whole seconds", at("2025-07-01T09:00:00.999Z"), time.Time{}, "2025-07-01T10:00:00+01:00"},
		{"a clock in another zone", at("2025-12-01T04:00:00-05:00"), time.Time{}, "2025-12-01T09:00:00Z"},
		{"after prev", at("2025-07-01T09:00:02Z"), at("2025-07-01T10:00:01+01:00"), "2025-07-01T10:00:02+01:00"},
		{"equal to prev", at("2025-07-01T09:00:01.5Z"), at("2025-07-01T10:00:01+01:00"), "2025-07-01T10:00:01+01:00"},
		{"before prev: prev", at("2025-07-01T08:00:00Z"), at("2025-07-01T09:00:01Z"), "2025-07-01T10:00:01+01:00"},
		{"before a fractional prev: the second after it", at("2025-07-01T09:00:01.2Z"), at("2025-07-01T09:00:01.5Z"), "2025-07-01T10:00:02+01:00"},
		{"a monotonic clock", now, time.Time{}, now.In(london).Truncate(time.Second).Format(time.RFC3339Nano)},
	}
	for _, tt := range tests {
		got := plannroauth.Stamp(tt.now, london, tt.prev)
		if s := got.Format(time.RFC3339Nano); s != tt.want {
			t.Errorf("%s: Stamp = %s, want %s", tt.name, s, tt.want)
		}
		if got != got.Round(0) {
			t.Errorf("%s: Stamp kept a monotonic reading", tt.name)
		}
	}
}

func TestStampExpiry(t *testing.T) {
	for in, want := range map[string]string{
		"2025-06-25T18:10:48.890172Z":         "2025-06-25T18:10:48.890172Z",
		"2025-06-25T20:10:48.890172999+02:00": "2025-06-25T18:10:48.890172Z",
		"2025-06-25T18:10:48.0000009Z":        "2025-06-25T18:10:48Z",
		"2025-06-25T13:10:48-05:00":           "2025-06-25T18:10:48Z",
	} {
		v, err := time.Parse(time.RFC3339Nano, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := plannroauth.StampExpiry(v).Format(time.RFC3339Nano); got != want {
			t.Errorf("StampExpiry(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestParseTime: RFC 3339's date-time and nothing else, though time.Parse
// takes more.
func TestParseTime(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"2025-06-25T15:10:48+01:00", true},
		{"2025-06-25T15:10:48Z", true},
		{"2025-06-25T14:10:48.123456Z", true},
		{"2025-06-25T15:10:48-23:59", true},
		{"2025-06-25T15:10:48,5+01:00", false}, // a comma before the fraction
		{"2025-06-25T5:10:48+01:00", false},    // an hour of one digit
		{"2025-06-25T15:10:48+24:00", false},
		{"2025-06-25T15:10:48-01:60", false},
		{"2025-06-25 15:10:48+01:00", false},
		{"2025-06-25T15:10:48", false},  // no offset
		{"2025-02-30T15:10:48Z", false}, // no such day
		{"2025-06-25T15:10:48.Z", false},
	}
	for _, tt := range tests {
		got, err := plannroauth.ParseTime(tt.s)
		switch {
		case tt.ok && err != nil:
			t.Errorf("ParseTime(%q): %v", tt.s, err)
		case !tt.ok && err == nil:
			t.Errorf("ParseTime(%q) = %v, want an error", tt.s, got)
		}
	}
}
