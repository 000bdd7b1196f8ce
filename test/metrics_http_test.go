package test

import (
	"testing"
)

// TestMetricsCountHTTPOutcomes drives requests of known outcomes (200s,
// 404 no route, 502 connect failure, a retried 503, a 504 timeout) through
// the in-process proxy and checks the exact counters scraped from the
// admin listener's /metrics, parsed by Prometheus's text parser.
func TestMetricsCountHTTPOutcomes(t *testing.T) {
	t.Parallel()
	b := startOutcomeBackends(t)
	p := startInProcess(t, outcomeConfig(b))
	driveOutcomes(t, p.addr(0))
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	got := waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, expected(b.ok))

	// Histograms: one observation per request, per listener and per cluster.
	for k, want := range map[string]float64{
		`mosn_downstream_request_time_count{listener="http"}`:        8,
		`mosn_upstream_request_duration_time_count{cluster="ok"}`:    3,
		`mosn_upstream_request_duration_time_count{cluster="flaky"}`: 1, // the try that answered
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if got[`mosn_downstream_bytes_read_total{listener="http"}`] == 0 || got[`mosn_downstream_bytes_write_total{listener="http"}`] == 0 {
		t.Error("downstream bytes not counted")
	}
	for _, name := range []string{"mosn_build_info", "go_goroutines", "process_open_fds"} {
		found := false
		for k := range got {
			if k == name || len(k) > len(name) && k[:len(name)+1] == name+"{" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s missing from /metrics", name)
		}
	}
}
