package plannroauth_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

func TestTimestampsAsPlannrWritesThem(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	winter := time.Date(2026, 12, 2, 15, 46, 57, 817436543, london)
	summer := time.Date(2025, 6, 25, 15, 10, 48, 0, london)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"a zero offset is +00:00, never Z", plannroauth.Timestamp{Time: winter}, `"2026-12-02T15:46:57+00:00"`},
		{"the account's offset, whole seconds", plannroauth.Timestamp{Time: summer}, `"2025-06-25T15:10:48+01:00"`},
		{"a negative offset", plannroauth.Timestamp{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(9*3600+30*60)))}, `"2025-01-02T03:04:05-09:30"`},
		{"an expiry in UTC with six digits", plannroauth.Expiry{Time: time.Date(2025, 6, 25, 19, 10, 48, 890170000, london)}, `"2025-06-25T18:10:48.890170Z"`},
		{"an expiry without a fraction", plannroauth.Expiry{Time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, `"2027-01-01T00:00:00.000000Z"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.name, b, err, tt.want)
		}
	}
	for _, v := range []any{
		plannroauth.Timestamp{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		// Year 0 in its own offset, but an expiry is written in UTC: year -1.
		plannroauth.Expiry{Time: time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))},
	} {
		if b, err := json.Marshal(v); err == nil {
			t.Errorf("a year RFC 3339 cannot write was written: %s", b)
		}
	}
	var back struct {
		T plannroauth.Timestamp `json:"t"`
		E plannroauth.Expiry    `json:"e"`
	}
	if err := json.Unmarshal([]byte(`{"t":"2026-12-02T15:46:57Z","e":"2025-06-25T18:10:48.89Z"}`), &back); err != nil {
		t.Fatal(err)
	}
	if !back.T.Equal(time.Date(2026, 12, 2, 15, 46, 57, 0, time.UTC)) || back.E.Nanosecond() != 890000000 {
		t.Errorf("read back %v, %v", back.T, back.E)
	}
	if s := (plannroauth.Timestamp{Time: winter}).String(); s != "2026-12-02T15:46:57+00:00" {
		t.Errorf("String() = %s", s)
	}
}

func TestTrim(t *testing.T) {
	tests := []struct {
		in   string
		want string
		kept bool
	}{
		{"  My label \t", "My label", true},
		{"", "", false},
		{" \n ", "", false},
		{"\x00", "", false},
		{"\x00a\x00", "a", true},
		{"a\x00b", "a\x00b", true}, // inside: the label's pattern refuses it
		{"\u180Ea\u180E", "a", true},
		{"\uFEFF\u200Ba\u200E", "a", true},
		{"\u00A0a\u3000", "a", true},
		{"a b", "a b", true},
	}
	for _, tt := range tests {
		if got, kept := plannroauth.Trim(tt.in); got != tt.want || kept != tt.kept {
			t.Errorf("Trim(%q) = %q, %v; want %q, %v", tt.in, got, kept, tt.want, tt.kept)
		}
	}
}

func TestCheckLabel(t *testing.T) {
	max := plannroauth.LabelMaxLength()
	messages := apispec.MessagesOf().Validation
	tests := []struct {
		label string
		want  string // the error; "" for none
	}{
		{strings.Repeat("é", max), ""},
		{strings.Repeat("x", max+1), apispec.Format(messages["maxLength"], "attribute", "label", "max", strconv.Itoa(max))},
		{"a\x00b", apispec.Format(messages["pattern"], "attribute", "label")},
		// JSON would carry U+FFFD in place of the bad byte: another label.
		{"a\xffb", "not valid UTF-8 (byte 0xff at 1)"},
		{"\xe2\x82", "not valid UTF-8 (byte 0xe2 at 0)"},
		// What the API would have trimmed, or stored as null.
		{"  padded  ", "not trimmed"},
		{"a\x00", "not trimmed"},
		{" " + strings.Repeat("x", max), "not trimmed"},
		{"", "blank"},
		{"\u200b", "blank"},
	}
	for _, tt := range tests {
		err := plannroauth.CheckLabel(tt.label)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("CheckLabel(%.20q…): %v, want %q", tt.label, err, tt.want)
		}
	}
}

// TestUpdate is the rule of an update: the label as the change says, and
// updated_at stamped in the account's zone, never back; created_at stays.
func TestUpdate(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	created := time.Date(2025, 6, 25, 15, 10, 48, 0, london)
	label := "Old"
	now := time.Date(2026, 12, 2, 10, 0, 0, 500, time.UTC)
	tests := []struct {
		name   string
		change plannroauth.LabelChange
		now    time.Time
		want   *string
		stamp  string
	}{
		{"set", plannroauth.LabelChange{Label: new("New")}, now, new("New"), "2026-12-02T10:00:00Z"},
		{"keep", plannroauth.LabelChange{Keep: true, Label: new("ignored")}, now, &label, "2026-12-02T10:00:00Z"},
		{"clear", plannroauth.LabelChange{}, now, nil, "2026-12-02T10:00:00Z"},
		{"a clock behind", plannroauth.LabelChange{Keep: true}, created.Add(-time.Hour), &label, "2025-06-25T15:10:48+01:00"},
	}
	for _, tt := range tests {
		c := plannroauth.Connection{UUID: uuid.New(), Label: &label, CreatedAt: created, UpdatedAt: created}
		c.Update(tt.change, tt.now, london)
		if got := c.UpdatedAt.Format(time.RFC3339Nano); got != tt.stamp || !c.CreatedAt.Equal(created) {
			t.Errorf("%s: updated_at %s created_at %s, want %s and %s", tt.name, got, c.CreatedAt, tt.stamp, created)
		}
		if (c.Label == nil) != (tt.want == nil) || c.Label != nil && *c.Label != *tt.want {
			t.Errorf("%s: label %v, want %v", tt.name, c.Label, tt.want)
		}
		if !tt.change.Keep && c.Label != tt.change.Label {
			t.Errorf("%s: the connection keeps a copy of the change's label, not the label itself", tt.name)
		}
	}
}

func TestCloneSharesNothing(t *testing.T) {
	at := time.Now()
	c := plannroauth.Connection{Label: new("a"), AccessTokenExpiresAt: &at, RefreshTokenExpiresAt: &at}
	d := c.Clone()
	*d.Label, *d.AccessTokenExpiresAt, *d.RefreshTokenExpiresAt = "b", time.Time{}, time.Time{}
	if *c.Label != "a" || !c.AccessTokenExpiresAt.Equal(at) || !c.RefreshTokenExpiresAt.Equal(at) {
		t.Errorf("writing into the clone changed the original: %+v", c)
	}
}

func TestRefreshAuthorizationURL(t *testing.T) {
	c := plannroauth.Connection{UUID: uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"),
		Provider: plannroauth.Provider{AuthorizationURL: "https://api.plannrcrm.com/oauth/fundment/authorize"}}
	if got := c.RefreshAuthorizationURL(); got != "https://api.plannrcrm.com/oauth/fundment/authorize/7b29add1-9028-4c1e-a87b-3c80a2e495fe" {
		t.Errorf("RefreshAuthorizationURL() = %s", got)
	}
}

// TestAppendTimestampAsTheLayout: the timestamps written digit by digit are
// what time.Time.AppendFormat writes with the layouts they stand for, in any
// zone, with any offset (also of seconds, as old local mean times have), and
// any year.
func TestAppendTimestampAsTheLayout(t *testing.T) {
	var zones []*time.Location
	for _, name := range []string{"UTC", "Europe/London", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati", "America/Los_Angeles"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, loc)
	}
	for _, offset := range []int{-30, 30, -3601, 3599, -(12*3600 + 45*60)} {
		zones = append(zones, time.FixedZone("", offset))
	}
	times := []time.Time{
		time.Date(2025, 6, 25, 15, 10, 48, 890172999, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1800, 1, 1, 0, 0, 0, 1000, time.UTC), // London's LMT: -00:01:15
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 3, 4, 5, 6, 7, 8, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for i := range 200 { // a spread of instants over the years the API meets
		times = append(times, time.Unix(int64(i)*15_552_007_001%4_102_444_800, int64(i)*7_919_999%1_000_000_000))
	}
	for _, tm := range times {
		for _, loc := range zones {
			in := tm.In(loc)
			if got, want := string(plannroauth.AppendTimestamp(nil, in)), in.Format("2006-01-02T15:04:05-07:00"); got != want {
				t.Errorf("AppendTimestamp(%v) = %s, layout %s", in, got, want)
			}
			if got, want := string(plannroauth.AppendExpiry(nil, in)), in.UTC().Format("2006-01-02T15:04:05.000000Z"); got != want {
				t.Errorf("AppendExpiry(%v) = %s, layout %s", in, got, want)
			}
		}
	}
}

func BenchmarkAppendTimestamp(b *testing.B) {
	london, _ := time.LoadLocation("Europe/London")
	t := time.Date(2025, 6, 25, 15, 10, 48, 890172999, london)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = plannroauth.AppendExpiry(plannroauth.AppendTimestamp(buf[:0], t), t)
	}
}
