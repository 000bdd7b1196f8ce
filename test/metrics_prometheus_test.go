package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promServer is a real Prometheus server (Debian's package) scraping one
// target every 200ms, on a loopback port of its own.
type promServer struct {
	base string // http://127.0.0.1:PORT
	log  *lineLog
}

// startPrometheus runs /usr/bin/prometheus with a scrape config pointed at
// target (host:port, path /metrics) and waits for it to be ready. Without
// the binary the test is skipped, except under CI, where
// scripts/install-deps.sh test installs it.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("prometheus not installed (scripts/install-deps.sh test installs it): %v", err)
		}
		t.Skip("prometheus not installed; scripts/install-deps.sh test installs it")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	doc := fmt.Sprintf(`global:
  scrape_interval: 200ms
  scrape_timeout: 200ms # as long as the interval allows: a slow machine scrapes late, not never
scrape_configs:
  - job_name: mosn
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus takes no port 0: take a free port and try again should
	// another process bind it first.
	for try := 0; ; try++ {
		port := promPort(t)
		log := newLineLog()
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitBound)
		cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
		cmd.Stdout, cmd.Stderr = log, log
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start prometheus: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() { cmd.Process.Kill(); <-done; cancel() }
		p := &promServer{base: "http://127.0.0.1:" + strconv.Itoa(port), log: log}
		if p.waitReady(t, done) {
			t.Cleanup(stop)
			return p
		}
		stop()
		if !strings.Contains(log.String(), "address already in use") || try == 4 {
			t.Fatalf("prometheus did not become ready; its log:\n%s", log)
		}
	}
}

// waitReady polls /-/ready until it answers 200 (true) or the process
// exits (false), failing after waitBound.
func (p *promServer) waitReady(t *testing.T, exited <-chan struct{}) bool {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(waitBound)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if resp, err := c.Get(p.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	t.Fatalf("prometheus not ready within %v; its log:\n%s", waitBound, p.log)
	return false
}

// promPort is a loopback port that was free a moment ago.
func promPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// query runs an instant query and returns its vector as series keys (name
// and labels as series() writes them, without Prometheus's job and
// instance) → value.
func (p *promServer) query(t *testing.T, q string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: waitBound}
	resp, err := c.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s %s", q, err, r.Status, r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		name := s.Metric["__name__"]
		var ls []string
		for k, v := range s.Metric {
			if k != "__name__" && k != "job" && k != "instance" {
				ls = append(ls, k+"="+strconv.Quote(v))
			}
		}
		sort.Strings(ls)
		key := name
		if len(ls) > 0 {
			key += "{" + strings.Join(ls, ",") + "}"
		}
		v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
		out[key] = v
	}
	return out
}

// TestPrometheusScrapesAdminListener runs a real Prometheus against the
// admin listener and checks, through its query API, the exact counts of
// requests of known outcomes: what users of these metrics will see.
func TestPrometheusScrapesAdminListener(t *testing.T) {
	t.Parallel()
	b := startOutcomeBackends(t)
	p := startInProcess(t, outcomeConfig(b))
	prom := startPrometheus(t, p.Admin().Addr().String())
	driveOutcomes(t, p.addr(0))
	want := expected(b.ok)
	// Histogram counts and a percentile, as a dashboard asks for them.
	want[`mosn_downstream_request_time_count{listener="http"}`] = want[`mosn_downstream_request_total{listener="http"}`]
	waitSeries(t, func() map[string]float64 {
		return prom.query(t, `{__name__=~"mosn_(downstream|upstream|upstream_host)_.*", __name__!~".*_bucket|.*_sum"}`)
	}, want)

	// A query of the kind the dashboard runs: the 504 is the one failure
	// of cluster "slow".
	got := prom.query(t, `sum by (cluster) (mosn_upstream_response_failed)`)
	if got[`{cluster="slow"}`] != 1 {
		t.Errorf("sum by (cluster) (mosn_upstream_response_failed) = %v; want slow=1", got)
	}
	q := prom.query(t, `histogram_quantile(0.99, sum by (le) (mosn_upstream_request_duration_time_bucket{cluster="ok"}))`)
	if v := q[""]; !(v > 0 && v <= 60) { // no name, no labels
		t.Errorf("p99 of cluster ok = %v (%v), want within the histogram's range", v, q)
	}
}
