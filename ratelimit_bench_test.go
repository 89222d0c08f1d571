package flymachines

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLimiterLookup: finding a Machine's bucket once 100,000 Machines
// were touched within the idle window, as a platform that runs many
// Machines does. It must not grow with the number of buckets.
func BenchmarkLimiterLookup(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := newLimiter(DefaultRateLimits(), 10*time.Second)
			keys := make([]limitKey, n)
			now := time.Now()
			for i := range keys {
				keys[i] = limitKey{op: "Machines_show", resource: fmt.Sprintf("app/%014x", i)}
				l.get(keys[i], rateClassGetMachine, now)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				l.get(keys[i%n], rateClassGetMachine, now)
			}
		})
	}
}
