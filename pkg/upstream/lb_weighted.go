package upstream

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// maxSmoothCycle bounds, in picks, the cycle smoothWRR computes in advance.
// A cycle is the sum of the weights once divided by their greatest common
// divisor: with weights of at most 128, any set of up to 512 hosts fits. The
// bound also keeps host indexes below 1<<16, so a cycle is a []uint16 of at
// most 128 KiB that the garbage collector need not scan.
const maxSmoothCycle = 1 << 16

// newWeightedRoundRobin builds LB_WEIGHTED_ROUNDROBIN: nginx's smooth
// weighted round robin, which takes hosts in proportion to their weights
// and spreads each host's turns through the cycle (weights 5, 1, 1 give
// a a b a c a a, not a a a a a b c).
//
// Picks take no lock. Equal weights need no weighting and get plain round
// robin, which is the order nginx's algorithm gives them too. A cycle up to
// maxSmoothCycle picks long is computed here, once, and a pick is an atomic
// increment and an index into it. Longer cycles, which only sets of more than
// 512 hosts with mixed weights reach, get interleavedWRR: weights still
// exact over a cycle, each host's turns spread less evenly.
//
// A new host set starts a new cycle, from its beginning.
func newWeightedRoundRobin(hosts []*Host) LoadBalancer {
	weights, total := reducedWeights(hosts)
	switch {
	case total == uint64(len(hosts)): // every weight 1 after reduction, or no hosts
		return &roundRobinLB{hosts: hosts}
	case total <= maxSmoothCycle:
		return &smoothWRR{hosts: hosts, cycle: smoothCycle(weights, int(total))}
	default:
		return newInterleavedWRR(hosts, weights, total)
	}
}

// reducedWeights returns the hosts' weights (0 counting as 1) divided by
// their greatest common divisor, and their sum. Dividing every weight by the
// same number divides every current weight in nginx's algorithm by it too,
// so the order of picks is the same and only the cycle is shorter.
func reducedWeights(hosts []*Host) ([]uint32, uint64) {
	weights := make([]uint32, len(hosts))
	var g uint32
	for i, h := range hosts {
		weights[i] = max(h.Weight, 1)
		g = gcd(g, weights[i])
	}
	var total uint64
	for i := range weights {
		weights[i] /= g
		total += uint64(weights[i])
	}
	return weights, total
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// smoothWRR replays one precomputed cycle of nginx's smooth weighted round
// robin. The shared counter hands each pick its own position, so concurrent
// picks together still follow the cycle exactly.
type smoothWRR struct {
	hosts []*Host
	cycle []uint16 // indexes into hosts, in pick order
	next  atomic.Uint64
}

func (s *smoothWRR) Pick() *Host {
	n := s.next.Add(1) - 1
	return s.hosts[s.cycle[n%uint64(len(s.cycle))]]
}

// smoothCycle returns one cycle of nginx's smooth weighted round robin over
// weights, which sum to total; len(weights) <= total <= maxSmoothCycle.
//
// At each step nginx adds every host's weight to the host's current weight
// (all start at 0), picks the host with the greatest current weight (the
// first in order, on a tie), and takes total off the picked host's. At
// step t a host of weight w that has been picked k times so far therefore
// stands at t*w - k*total: hosts of one weight differ only in k, the least
// picked of them leads, and they take their turns in index order. So the
// steps below compare one candidate per distinct weight (at most 128)
// instead of every host, and after total steps every host has been picked
// exactly weight times and the current weights are back at 0.
func smoothCycle(weights []uint32, total int) []uint16 {
	order := make([]uint16, len(weights))
	for i := range order {
		order[i] = uint16(i)
	}
	slices.SortStableFunc(order, func(a, b uint16) int { return cmp.Compare(weights[a], weights[b]) })

	// A group is the hosts of one weight, in index order: hosts[:next] have
	// been picked picked+1 times, hosts[next:] picked times.
	type group struct {
		weight int64
		hosts  []uint16
		next   int
		picked int64
	}
	var groups []group
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && weights[order[j]] == weights[order[i]] {
			j++
		}
		groups = append(groups, group{weight: int64(weights[order[i]]), hosts: order[i:j]})
		i = j
	}

	cycle := make([]uint16, total)
	for t := range cycle {
		step := int64(t) + 1
		var best *group
		var bestCurrent int64
		for i := range groups {
			g := &groups[i]
			current := step*g.weight - g.picked*int64(total)
			if best == nil || current > bestCurrent ||
				current == bestCurrent && g.hosts[g.next] < best.hosts[best.next] {
				best, bestCurrent = g, current
			}
		}
		cycle[t] = best.hosts[best.next]
		if best.next++; best.next == len(best.hosts) {
			best.next, best.picked = 0, best.picked+1
		}
	}
	return cycle
}

// interleavedWRR is weighted round robin in rounds, for cycles too long to
// compute in advance: round r takes, heaviest first, every host whose weight
// is greater than r, so a host of weight w has one turn in each of the first
// w rounds (weights 5, 1, 1 give a b c a a a a). Each host has exactly its
// weight's share of a cycle, and a pick is an atomic increment and a binary
// search over the distinct weights.
type interleavedWRR struct {
	hosts []*Host // heaviest first; a round takes a prefix of them
	spans []wrrSpan
	total uint64 // picks in a cycle
	next  atomic.Uint64
}

// wrrSpan is a run of rounds that take the same hosts.
type wrrSpan struct {
	start uint64 // position in the cycle of the span's first pick
	hosts uint64 // each round takes hosts[:hosts]
}

// newInterleavedWRR builds an interleavedWRR; weights are the hosts'
// reduced weights and total their sum.
func newInterleavedWRR(hosts []*Host, weights []uint32, total uint64) *interleavedWRR {
	order := make([]int, len(hosts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weights[b], weights[a]) })
	l := &interleavedWRR{hosts: make([]*Host, len(hosts)), total: total}
	for i, o := range order {
		l.hosts[i] = hosts[o]
	}
	// From the lightest weight up: rounds below it take every host still
	// counted (all of them at first), then the lightest drop out.
	var pos uint64
	var round uint32
	for n := len(order); n > 0; {
		w := weights[order[n-1]]
		l.spans = append(l.spans, wrrSpan{start: pos, hosts: uint64(n)})
		pos += uint64(w-round) * uint64(n)
		round = w
		for n > 0 && weights[order[n-1]] == w {
			n--
		}
	}
	return l
}

func (l *interleavedWRR) Pick() *Host {
	pos := (l.next.Add(1) - 1) % l.total
	lo, hi := 0, len(l.spans) // l.spans[lo].start <= pos < l.spans[hi].start
	for hi-lo > 1 {
		if m := int(uint(lo+hi) >> 1); l.spans[m].start <= pos {
			lo = m
		} else {
			hi = m
		}
	}
	s := l.spans[lo]
	return l.hosts[(pos-s.start)%s.hosts]
}
