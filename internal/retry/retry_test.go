package retry

import (
	"context"
	"testing"
	"time"
)

func count(ctx context.Context, p Policy, stopAt int) int {
	n := 0
	for a := range p.Attempts(ctx) {
		n++
		if a+1 == stopAt {
			break
		}
	}
	return n
}

func TestAttempts(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	near, cancelNear := context.WithDeadline(context.Background(), time.Now().Add(50*time.Millisecond))
	defer cancelNear()
	tests := []struct {
		name   string
		ctx    context.Context
		p      Policy
		stopAt int
		want   int
	}{
		{"all attempts", context.Background(), Policy{MaxAttempts: 5}, 0, 5},
		{"at least one", context.Background(), Policy{}, 0, 1},
		{"the caller stops", context.Background(), Policy{MaxAttempts: 5}, 2, 2},
		{"a cancelled context: the first attempt only", cancelled, Policy{MaxAttempts: 5}, 0, 1},
		{"too near the deadline for another", near, Policy{MaxAttempts: 5, Reserve: time.Second}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.ctx, tc.p, tc.stopAt); got != tc.want {
				t.Fatalf("%d attempts, want %d", got, tc.want)
			}
		})
	}
}

func TestWaitStaysUnderItsCeiling(t *testing.T) {
	p := Policy{Base: 4 * time.Millisecond, Max: 50 * time.Millisecond}
	for attempt := range 40 {
		ceiling := min(p.Base<<max(attempt-1, 0), p.Max)
		for range 50 {
			if w := p.Wait(attempt); w < 0 || w > ceiling || (attempt == 0 && w != 0) {
				t.Fatalf("attempt %d waited %v, ceiling %v", attempt, w, ceiling)
			}
		}
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}
	done := make(chan int)
	go func() { done <- count(ctx, p, 0) }()
	cancel()
	if n := <-done; n != 1 {
		t.Fatalf("%d attempts after the context ended", n)
	}
}
