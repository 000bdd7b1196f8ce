package metrics

import (
	"sync/atomic"
	"time"
)

// Bounds are the upper bounds of the latency histograms' buckets, in
// seconds: from half a millisecond to a minute.
var Bounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// boundsNS are Bounds in nanoseconds, for Observe.
var boundsNS = func() (b [len(Bounds)]int64) {
	for i, s := range Bounds {
		b[i] = int64(s * float64(time.Second))
	}
	return b
}()

// Histogram is a latency histogram of fixed buckets (Bounds) kept in
// atomics: Observe takes no lock and allocates nothing. The zero value is
// ready to use. Safe for concurrent use.
type Histogram struct {
	counts [len(Bounds) + 1]atomic.Uint64 // the last is above every bound
	sumNS  atomic.Int64
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	ns := int64(d)
	i := 0
	for i < len(boundsNS) && ns > boundsNS[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(ns)
}

// HistogramSnapshot is a histogram read at one moment, in Prometheus's
// shape: cumulative counts by upper bound.
type HistogramSnapshot struct {
	Count   uint64
	Sum     float64            // seconds
	Buckets map[float64]uint64 // upper bound in seconds → observations at or below it
}

// Snapshot reads h. Observations racing with it may be in some buckets and
// not yet in the sum; the count is always the buckets' total.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Buckets: make(map[float64]uint64, len(Bounds))}
	var cum uint64
	for i, b := range Bounds {
		cum += h.counts[i].Load()
		s.Buckets[b] = cum
	}
	s.Count = cum + h.counts[len(Bounds)].Load()
	s.Sum = float64(h.sumNS.Load()) / float64(time.Second)
	return s
}

// Quantile estimates the q-quantile (0 < q < 1) of s in seconds by linear
// interpolation inside the bucket it falls in, as Prometheus's
// histogram_quantile does; 0 for an empty histogram.
func (s HistogramSnapshot) Quantile(q float64) float64 {
	if s.Count == 0 {
		return 0
	}
	rank := q * float64(s.Count)
	lower, below := 0.0, uint64(0)
	for _, b := range Bounds {
		n := s.Buckets[b]
		if float64(n) >= rank {
			if n == below {
				return b
			}
			return lower + (b-lower)*(rank-float64(below))/float64(n-below)
		}
		lower, below = b, n
	}
	return Bounds[len(Bounds)-1]
}
