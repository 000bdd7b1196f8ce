package main

import (
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

func TestBucketsAreContiguousAndPrecise(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, v := range sampleValues() {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below the bucket of a smaller value (%d)", v, i, prev)
		}
		prev = i
		if i >= bucketCount {
			t.Fatalf("bucketOf(%d) = %d, out of range %d", v, i, bucketCount)
		}
		low, width := bucketBounds(i)
		if v < low || v-low >= width {
			t.Fatalf("value %d outside its bucket %d [%d, %d+%d)", v, i, low, low, width)
		}
		if v >= subCount && float64(width)/float64(low) > 1.0/subCount {
			t.Fatalf("bucket %d: width %d is more than 1/%d of %d", i, width, subCount, low)
		}
	}
	if got := bucketOf(math.MaxUint64); got != bucketCount-1 {
		t.Fatalf("bucketOf(MaxUint64) = %d, want %d", got, bucketCount-1)
	}
}

// sampleValues returns increasing values around every power of two.
func sampleValues() []uint64 {
	var vs []uint64
	for v := uint64(0); v < 1024; v++ {
		vs = append(vs, v)
	}
	for s := 10; s < 64; s++ {
		p := uint64(1) << s
		vs = append(vs, p-1, p, p+1, p+p/3)
	}
	return vs
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Fatalf("empty quantile = %v, want 0", got)
	}
	// 1..100000 µs in ns, uniformly: the q quantile is q*100000 µs.
	for v := uint64(1); v <= 100000; v++ {
		h.record(v * 1000)
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := q * 100000 * 1000
		got := h.quantile(q)
		if math.Abs(got-want)/want > 0.005 {
			t.Errorf("quantile(%v) = %v, want %v within 0.5%%", q, got, want)
		}
	}
	var m histogram
	m.merge(&h)
	m.merge(&h)
	if m.total != 2*h.total || m.max != h.max || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merge of two copies: total %d max %d p50 %v; want %d %d %v",
			m.total, m.max, m.quantile(0.5), 2*h.total, h.max, h.quantile(0.5))
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h histogram
	v := uint64(12345)
	if n := testing.AllocsPerRun(1000, func() { h.record(v); v += 977 }); n != 0 {
		t.Fatalf("record allocates %v times", n)
	}
}

func TestParseStatTicks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stat string
		want       uint64
		err        string
	}{
		{"plain", "123 (mosn) S 1 123 123 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 8 0 100 0 0\n", 175, ""},
		{"name with spaces and parens", "9 (a b) c)) R 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 10, ""},
		{"no name", "123 mosn S 1", 0, "no ')'"},
		{"short", "1 (x) S 1 2 3", 0, "fields after the name"},
		{"bad utime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 3 0", 0, "utime"},
	}
	for _, tt := range tests {
		got, err := parseStatTicks([]byte(tt.stat))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestParseCoreTicks(t *testing.T) {
	t.Parallel()
	const stat = "cpu  10 0 20 300 4 0 5 1 0 0\n" +
		"cpu0 1 2 3 400 5 6 7 8 0 0\n" +
		"cpu1 9 0 9 100 0 0 9 0 0 0\n" +
		"cpu10 1 1 1 1 1 1 1 1 0 0\n" +
		"cpu2 1 2 3\n" +
		"intr 12345\n"
	tests := []struct {
		core int
		want coreTicks
		err  string
	}{
		{0, coreTicks{busy: 1 + 2 + 3 + 6 + 7, steal: 8}, ""},
		{1, coreTicks{busy: 27}, ""},
		{10, coreTicks{busy: 5, steal: 1}, ""},
		{2, coreTicks{}, "want 8 or more"},
		{3, coreTicks{}, "no line for cpu3"},
	}
	for _, tt := range tests {
		got, err := parseCoreTicks([]byte(stat), tt.core)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("cpu%d: error %v, want one containing %q", tt.core, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cpu%d: got %+v, %v; want %+v", tt.core, got, err, tt.want)
		}
	}
}

func TestParsePIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"", nil, false},
		{"12", []int{12}, false},
		{"12, 34", []int{12, 34}, false},
		{"12,", nil, true},
		{"0", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := parsePIDs(tt.in)
		if (err != nil) != tt.err || len(got) != len(tt.want) {
			t.Errorf("parsePIDs(%q) = %v, %v", tt.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parsePIDs(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

// TestLoadAgainstEcho runs a short load against an in-process echo server,
// then against one that corrupts replies and one that stops answering.
func TestLoadAgainstEcho(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		mode echoMode
	}{{"echo", echoOK}, {"corrupting", echoCorrupt}, {"silent", echoSilent}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go serveTestEcho(ln, tt.mode)
		o := options{addr: ln.Addr().String(), conns: 4, size: 64, duration: 300 * time.Millisecond,
			warmup: 50 * time.Millisecond, stuck: 100 * time.Millisecond, core: 0, clkTck: 100}
		start := time.Now()
		res, err := load(o)
		ln.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: load took %v, want it to stop after warmup+duration", tt.name, took)
		}
		if tt.mode != echoOK {
			if res.errors == 0 {
				t.Errorf("%s: no errors counted", tt.name)
			}
			continue
		}
		if res.errors != 0 || res.hist.total == 0 {
			t.Errorf("%s: %d requests, %d errors (first %v)", tt.name, res.hist.total, res.errors, res.firstErr)
		}
		if line := res.line(o); !strings.HasPrefix(line, "requests=") || !strings.Contains(line, " errors=0") || !strings.Contains(line, " core_pct=") {
			t.Errorf("%s: line %q", tt.name, line)
		}
	}
}

type echoMode int

const (
	echoOK      echoMode = iota
	echoCorrupt          // changes the last byte of every reply
	echoSilent           // reads and never answers
)

func serveTestEcho(ln net.Listener, mode echoMode) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					switch mode {
					case echoCorrupt:
						buf[n-1]++
					case echoSilent:
						continue
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}
