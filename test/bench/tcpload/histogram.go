package main

import (
	"math"
	"math/bits"
)

// The histogram is log-linear: values below subCount get one bucket each, and
// every power of two above that is split into subCount equal buckets. With
// subBits = 7 a bucket is at most 1/128 of its lower bound wide, so a value
// read back from a bucket (its midpoint) is within 0.4% of what was recorded.
const (
	subBits     = 7
	subCount    = 1 << subBits
	bucketCount = (64 - subBits + 1) * subCount // covers every uint64
)

// histogram counts non-negative values (nanoseconds here) in fixed buckets.
// Recording never allocates; one histogram is owned by one goroutine and
// merged into another after that goroutine has finished.
type histogram struct {
	counts [bucketCount]uint64
	total  uint64
	max    uint64
}

// bucketOf returns the index of the bucket that holds v.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // v>>shift is in [subCount, 2*subCount)
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketBounds returns the lowest value of bucket i and the bucket's width.
func bucketBounds(i int) (low, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	shift := i/subCount - 1
	mant := uint64(i%subCount + subCount)
	return mant << shift, 1 << shift
}

// record adds one value.
func (h *histogram) record(v uint64) {
	h.counts[bucketOf(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

// merge adds all of o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value below which a fraction q (0..1) of the recorded
// values lie, as the midpoint of the bucket holding it, never above the
// largest value recorded. It returns 0 for an empty histogram.
func (h *histogram) quantile(q float64) float64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketBounds(i)
			return math.Min(float64(low)+float64(width-1)/2, float64(h.max))
		}
	}
	return float64(h.max)
}
