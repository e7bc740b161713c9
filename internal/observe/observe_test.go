package observe

import (
	"context"
	"testing"
	"time"
)

func TestUpstreamTimeCountsOverlapsOnce(t *testing.T) {
	_, r := Start(context.Background())
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r.spans = []span{{at(0), at(10)}, {at(5), at(20)}, {at(30), at(40)}, {at(32), at(35)}}
	if got := r.UpstreamTime(); got != 30*time.Millisecond {
		t.Fatalf("union %v, want 30ms", got)
	}
}
