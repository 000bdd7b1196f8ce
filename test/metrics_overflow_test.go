package test

import (
	"io"
	"net/http"
	"sync"
	"testing"
)

// TestMetricsCountOverflow checks the max_requests circuit breaker's
// counter: with one request held in flight, the next is refused (503) and
// counted as a pending overflow.
func TestMetricsCountOverflow(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	held := startHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the backend closes, should the test fail first
	b := startOutcomeBackends(t)
	b.ok = held
	cfg := patchJSON(t, outcomeConfig(b), patch{"cluster_manager.clusters[0].circuit_breakers", `[{"max_connections": 100000, "max_requests": 1}]`})
	p := startInProcess(t, cfg)
	client := &http.Client{Timeout: waitBound}
	first := make(chan int, 1)
	go func() {
		resp, err := client.Get("http://" + p.addr(0) + "/ok/held")
		if err != nil {
			first <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_upstream_request_active{cluster="ok"}`: 1,
	})
	resp, err := client.Get("http://" + p.addr(0) + "/ok/second")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("second request: %d, want 503", resp.StatusCode)
	}
	unblock()
	if code := <-first; code != 200 {
		t.Fatalf("held request: %d, want 200", code)
	}
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_upstream_request_pending_overflow{cluster="ok"}`: 1,
		`mosn_upstream_request_total{cluster="ok"}`:            1,
		`mosn_upstream_request_active{cluster="ok"}`:           0,
		`mosn_downstream_request_total{listener="http"}`:       2,
		`mosn_downstream_request_failed{listener="http"}`:      1,
	})
}
