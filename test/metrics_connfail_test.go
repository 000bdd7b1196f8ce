package test

import (
	"io"
	"net/http"
	"testing"
)

// TestMetricsCountConnectFailure checks the counters of a 502: a host that
// refuses connections.
func TestMetricsCountConnectFailure(t *testing.T) {
	t.Parallel()
	b := startOutcomeBackends(t)
	p := startInProcess(t, outcomeConfig(b))
	client := &http.Client{Timeout: waitBound}
	for range 2 {
		resp, err := client.Get("http://" + p.addr(0) + "/refused")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
	}
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_downstream_request_total{listener="http"}`:     2,
		`mosn_downstream_request_failed{listener="http"}`:    2,
		`mosn_upstream_connection_con_fail{cluster="down"}`:  2,
		`mosn_upstream_connection_active{cluster="down"}`:    0,
		`mosn_upstream_request_total{cluster="down"}`:        2,
		`mosn_upstream_request_remote_reset{cluster="down"}`: 2,
		`mosn_upstream_response_failed{cluster="down"}`:      2,
		`mosn_upstream_response_success{cluster="down"}`:     0,
	})
}
