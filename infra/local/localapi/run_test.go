package localapi

import (
	"testing"
	"time"
)

// The scheduler's ?now= moves time for tests and make dev, within a year of
// the clock: year 9999 is a typo, and is refused with its reason.
func TestRunAtIsWithinAYear(t *testing.T) {
	clock := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", clock, true},
		{"2026-12-20T15:00:00Z", time.Date(2026, 12, 20, 15, 0, 0, 0, time.UTC), true},
		{"2027-12-07T09:00:00Z", time.Date(2027, 12, 7, 9, 0, 0, 0, time.UTC), true},
		{"2025-12-07T09:00:00Z", time.Date(2025, 12, 7, 9, 0, 0, 0, time.UTC), true},
		{"9999-12-31T23:59:59Z", time.Time{}, false},
		{"2028-01-01T00:00:00Z", time.Time{}, false},
		{"0001-01-01T00:00:00Z", time.Time{}, false},
		{"2026-12-20", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"2026-13-01T00:00:00Z", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := runAt(tc.in, clock)
			if (err == nil) != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("runAt(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
