// Package retry is the service's one retry policy: a bounded number of
// attempts, a random wait before each attempt after the first (full jitter
// over an exponentially growing ceiling, so writers that collided don't
// collide again in step), cut short by the context and by its deadline.
//
// Every loop that tries again uses it:
//
//	for attempt := range policy.Attempts(ctx) {
//		if done := try(attempt); done {
//			return
//		}
//	}
//	// attempts spent, or no time left
package retry

import (
	"context"
	"iter"
	"math/rand/v2"
	"time"
)

// Policy says how often and how patiently to try.
type Policy struct {
	// MaxAttempts is the most attempts made (the first included).
	MaxAttempts int
	// Base is the ceiling of the wait before the second attempt; it doubles
	// for each attempt after, up to Max.
	Base, Max time.Duration
	// Reserve is the time an attempt needs before the context's deadline:
	// no attempt starts with less than the wait plus Reserve left.
	Reserve time.Duration
}

// Attempts yields 0, 1, … up to p.MaxAttempts-1, waiting before each attempt
// after the first. It stops early, without waiting in vain, when the
// context ends or its deadline is too near for another attempt. The first
// attempt always runs.
func (p Policy) Attempts(ctx context.Context) iter.Seq[int] {
	return func(yield func(int) bool) {
		for attempt := 0; attempt < max(p.MaxAttempts, 1); attempt++ {
			if attempt > 0 && !p.wait(ctx, attempt) {
				return
			}
			if !yield(attempt) {
				return
			}
		}
	}
}

// Wait is the random wait before an attempt (0 for the first).
func (p Policy) Wait(attempt int) time.Duration {
	if attempt == 0 || p.Base <= 0 {
		return 0
	}
	ceiling := p.Base << min(attempt-1, 30)
	if p.Max > 0 && (ceiling > p.Max || ceiling <= 0) {
		ceiling = p.Max
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// wait sleeps before attempt and reports whether it may go ahead.
func (p Policy) wait(ctx context.Context, attempt int) bool {
	d := p.Wait(attempt)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d+p.Reserve {
		return false
	}
	if ctx.Err() != nil {
		return false
	}
	if d == 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
