package metrics

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, 500 * time.Microsecond, 501 * time.Microsecond, 3 * time.Millisecond, 2 * time.Minute} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 5 {
		t.Fatalf("count %d, want 5", s.Count)
	}
	for bound, want := range map[float64]uint64{0.0005: 2, 0.001: 3, 0.0025: 3, 0.005: 4, 60: 4} {
		if got := s.Buckets[bound]; got != want {
			t.Errorf("bucket le=%v: %d, want %d", bound, got, want)
		}
	}
	wantSum := (501*time.Microsecond + 500*time.Microsecond + 3*time.Millisecond + 2*time.Minute).Seconds()
	if d := s.Sum - wantSum; d > 1e-9 || d < -1e-9 {
		t.Errorf("sum %v, want %v", s.Sum, wantSum)
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	for range 100 {
		h.Observe(7 * time.Millisecond) // bucket (0.005, 0.01]
	}
	s := h.Snapshot()
	if q := s.Quantile(0.5); q <= 0.005 || q > 0.01 {
		t.Errorf("p50 = %v, want in (0.005, 0.01]", q)
	}
	if q := (HistogramSnapshot{}).Quantile(0.99); q != 0 {
		t.Errorf("empty p99 = %v", q)
	}
}

// TestCountingAllocatesNothing holds the hot path's budget: counting a
// request costs no allocation.
func TestCountingAllocatesNothing(t *testing.T) {
	var d Downstream
	var q Requests
	allocs := testing.AllocsPerRun(1000, func() {
		d.Begin()
		d.RequestTime.Observe(3 * time.Millisecond)
		d.RequestActive.Add(-1)
		q.Total.Add(1)
		q.ResponseSuccess.Add(1)
	})
	if allocs != 0 {
		t.Fatalf("counting allocates %v times per request, want 0", allocs)
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				h.Observe(time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			s := h.Snapshot()
			if s.Buckets[Bounds[len(Bounds)-1]] != s.Count {
				t.Errorf("snapshot count %d != its last bucket %d", s.Count, s.Buckets[Bounds[len(Bounds)-1]])
				return
			}
		}
	})
	wg.Wait()
	if c := h.Snapshot().Count; c != 4000 {
		t.Fatalf("count %d, want 4000", c)
	}
}

func TestCollectorNamesAndLabels(t *testing.T) {
	d := new(Downstream)
	d.Begin()
	q := new(Requests)
	q.Total.Add(2)
	hq := new(Requests)
	hq.Total.Add(2)
	var dur Histogram
	dur.Observe(time.Millisecond)
	src := SourceFunc(func() Sample {
		return Sample{
			Listeners: []ListenerSample{{Name: "l", ConnectionTotal: 1, Requests: d}},
			Clusters: []ClusterSample{{Name: "c", RequestPendingOverflow: 3, Requests: q, RequestDuration: &dur,
				Hosts: []HostSample{{Address: "127.0.0.1:1", Healthy: true, Requests: hq}}}},
		}
	})
	reg := NewRegistry(src, BuildInfo{Version: "v1"})
	want := `
# HELP mosn_downstream_request_total Downstream requests begun.
# TYPE mosn_downstream_request_total counter
mosn_downstream_request_total{listener="l"} 1
# HELP mosn_upstream_request_pending_overflow Requests refused by the max_requests circuit breaker.
# TYPE mosn_upstream_request_pending_overflow counter
mosn_upstream_request_pending_overflow{cluster="c"} 3
# HELP mosn_upstream_host_request_total Upstream tries sent.
# TYPE mosn_upstream_host_request_total counter
mosn_upstream_host_request_total{cluster="c",host="127.0.0.1:1"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"mosn_downstream_request_total", "mosn_upstream_request_pending_overflow", "mosn_upstream_host_request_total"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "mosn_build_info", "mosn_upstream_request_duration_time", "mosn_downstream_request_time")
	if err != nil || n != 3 {
		t.Fatalf("build info and histograms: %d series, %v; want 3", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range problems {
			t.Logf("lint (kept for MOSN's names): %s: %s", p.Metric, p.Text)
		}
	}
}

func TestHostSeriesBoundedPerCluster(t *testing.T) {
	hosts := func(n int) []HostSample {
		hs := make([]HostSample, n)
		for i := range hs {
			hs[i] = HostSample{Address: "127.0.0.1:" + strconv.Itoa(i+1), Requests: new(Requests)}
		}
		return hs
	}
	src := SourceFunc(func() Sample {
		return Sample{Clusters: []ClusterSample{
			{Name: "small", Requests: new(Requests), Hosts: hosts(3)},
			{Name: "big", Requests: new(Requests), Hosts: hosts(MaxHostSeries + 1)},
		}}
	})
	n, err := testutil.GatherAndCount(NewRegistry(src, BuildInfo{}), "mosn_upstream_host_request_total")
	if err != nil || n != 3 {
		t.Fatalf("%d host series (%v), want 3: only the small cluster's", n, err)
	}
}
