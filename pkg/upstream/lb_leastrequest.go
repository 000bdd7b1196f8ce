package upstream

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// leastRequestLB is LB_LEAST_REQUEST: the power of two choices. A pick
// draws two distinct hosts uniformly at random and takes the less loaded
// (see lessLoaded), which steers traffic away from slow or busy hosts while
// reading only two counters and taking no lock.
//
// The draw is an ordered pair in which each host is as likely to come first
// as second, so taking the first on a full tie breaks the tie at random.
type leastRequestLB []*Host

func (l leastRequestLB) Pick() *Host {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	// Two indexes from one random draw, each half scaled to its range by
	// multiply-and-shift (skewed by at most len(l) in 2³², which is nothing
	// here); the second skips the first.
	r := rand.Uint64()
	n := uint64(len(l))
	i := int((r >> 32) * n >> 32)
	j := int((r & math.MaxUint32) * (n - 1) >> 32)
	if j >= i {
		j++
	}
	if lessLoaded(l[j], l[i]) {
		return l[j]
	}
	return l[i]
}

// lessLoaded reports whether a is less loaded than b: whether it has fewer
// requests in flight per unit of weight, counting the request about to be
// sent — (active+1)/weight, lower wins — or, on a tie, a greater weight.
// With equal weights this is simply fewer requests in flight.
//
// Envoy's least-request balancer, with unequal weights, scales each host's
// weight by 1/(active+1)^bias, bias 1 by default; this is that with bias 1,
// compared between the two candidates. Counting the request about to be sent
// keeps a heavy host with a request in flight ahead of a light idle one
// (2/128 < 1/1). The cost is at idle, when every count is 0: the heavier of
// the two candidates always wins, so traffic leans to heavy hosts more than
// their weights say, and a host lighter than all others is picked only once
// others are busy. Weight is a capacity here, not a traffic share; for shares,
// use LB_WEIGHTED_ROUNDROBIN.
func lessLoaded(a, b *Host) bool {
	ra, wa := inFlight(a), uint64(max(a.Weight, 1))
	rb, wb := inFlight(b), uint64(max(b.Weight, 1))
	// ra/wa < rb/wb, multiplied out in 128 bits so that nothing overflows.
	ha, la := bits.Mul64(ra, wb)
	hb, lb := bits.Mul64(rb, wa)
	if ha != hb {
		return ha < hb
	}
	if la != lb {
		return la < lb
	}
	return wa > wb
}

// inFlight is the host's requests in flight plus the one being placed; a
// transiently negative count counts as none.
func inFlight(h *Host) uint64 {
	return uint64(max(h.stats.RequestActive.Load(), 0)) + 1
}
