package test

// Helpers of the metrics and admin tests (metrics_*_test.go,
// admin_*_test.go): a proxy config with an admin listener and one route per
// outcome, a scraper that parses /metrics with Prometheus's own text
// parser, and readers of one series. Waits are bounded polls, never sleeps.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/server"

	// The in-process server needs the L7 filter and the HTTP/1.1 stream
	// layer the binary compiles in (cmd/mosn/imports.go).
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
)

// adminJSON is an admin key on 127.0.0.1 with a free port.
const adminJSON = `{"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}`

// outcomeBackends are the upstreams of outcomeConfig.
type outcomeBackends struct {
	ok, flaky, slow string // addresses
	refused         string
}

// outcomeConfig is an HTTP/1.1 proxy (listener "http") with an admin
// listener whose routes each lead to one outcome: /ok → cluster "ok",
// /flaky → "flaky" (retried once), /slow → "slow" (100ms route timeout),
// /refused → "down" (connections refused); any other path has no route.
func outcomeConfig(b outcomeBackends) string {
	cl := func(name, host string) string {
		return fmt.Sprintf(`{"name": %q, "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "connect_timeout": "5s",
		  "circuit_breakers": [{"max_connections": 100000}], "hosts": [{"address": %q}]}`, name, host)
	}
	route := func(prefix, cluster, extra string) string {
		return fmt.Sprintf(`{"match": {"prefix": %q}, "route": {"cluster_name": %q, "timeout": %s}}`, prefix, cluster, extra)
	}
	return `{
  "servers": [{
    "default_log_path": "stdout",
    "default_log_level": "INFO",
    "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"], "routers": [
      ` + route("/ok", "ok", `"20s"`) + `,
      ` + route("/flaky", "flaky", `"20s", "retry_policy": {"retry_on": true, "num_retries": 1}`) + `,
      ` + route("/slow", "slow", `"100ms"`) + `,
      ` + route("/refused", "down", `"20s"`) + `
    ]}]}],
    "listeners": [{
      "name": "http", "address": "127.0.0.1:0", "bind_port": true, "connection_idle_timeout": "1h",
      "filter_chains": [{"filters": [{"type": "proxy", "config": {
        "downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "r"}}]}]
    }]
  }],
  "cluster_manager": {"clusters": [` + strings.Join([]string{cl("ok", b.ok), cl("flaky", b.flaky), cl("slow", b.slow), cl("down", b.refused)}, ", ") + `]},
  "admin": ` + adminJSON + `
}`
}

// expectedOutcomes are the exact counts after driveOutcomes, by series
// (name and labels in Prometheus's text form).
var expectedOutcomes = map[string]float64{
	`mosn_downstream_request_total{listener="http"}`:    8, // 3 ok + 2 no route + 1 refused + 1 flaky + 1 slow
	`mosn_downstream_request_active{listener="http"}`:   0,
	`mosn_downstream_request_failed{listener="http"}`:   2, // 502 and 504
	`mosn_downstream_request_reset{listener="http"}`:    0,
	`mosn_downstream_connection_total{listener="http"}`: 1,

	`mosn_upstream_request_total{cluster="ok"}`:          3,
	`mosn_upstream_response_success{cluster="ok"}`:       3,
	`mosn_upstream_response_failed{cluster="ok"}`:        0,
	`mosn_upstream_request_total{cluster="flaky"}`:       2, // a 503, then the retry's 200
	`mosn_upstream_request_retry{cluster="flaky"}`:       1,
	`mosn_upstream_response_failed{cluster="flaky"}`:     1,
	`mosn_upstream_response_success{cluster="flaky"}`:    1,
	`mosn_upstream_request_total{cluster="slow"}`:        1,
	`mosn_upstream_request_timeout{cluster="slow"}`:      1,
	`mosn_upstream_request_local_reset{cluster="slow"}`:  1,
	`mosn_upstream_response_failed{cluster="slow"}`:      1,
	`mosn_upstream_connection_con_fail{cluster="down"}`:  1,
	`mosn_upstream_response_failed{cluster="down"}`:      1,
	`mosn_upstream_request_remote_reset{cluster="down"}`: 1,
	`mosn_upstream_request_active{cluster="ok"}`:         0,

	`mosn_upstream_host_request_total{cluster="ok",host="OK"}`:    3,
	`mosn_upstream_host_response_success{cluster="ok",host="OK"}`: 3,
}

// outcomeStatuses are what driveOutcomes's requests get, in order.
var outcomeStatuses = []struct {
	path   string
	status int
}{
	{"/ok/1", 200}, {"/ok/2", 200}, {"/ok/3", 200},
	{"/nothing", 404}, {"/nothing/else", 404},
	{"/refused", 502},
	{"/flaky", 200},
	{"/slow", 504},
}

// startOutcomeBackends starts the backends of outcomeConfig: "ok" answers
// 200, "flaky" answers its first request 503 and then 200, "slow" never
// answers (until cleanup), "down" refuses connections.
func startOutcomeBackends(t *testing.T) outcomeBackends {
	t.Helper()
	ok := startHTTPServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	var first = make(chan struct{}, 1)
	first <- struct{}{}
	flaky := startHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-first:
			w.WriteHeader(503)
		default:
			io.WriteString(w, "ok at last")
		}
	})
	release := make(chan struct{})
	slow := startHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	return outcomeBackends{ok: ok, flaky: flaky, slow: slow, refused: refusingAddr(t)}
}

// driveOutcomes sends outcomeStatuses's requests, one after another on one
// keep-alive connection, to the proxy at addr, checking each status.
func driveOutcomes(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: waitBound, Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for _, o := range outcomeStatuses {
		resp, err := client.Get("http://" + addr + o.path)
		if err != nil {
			t.Fatalf("GET %s: %v", o.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != o.status {
			t.Fatalf("GET %s: status %d, want %d", o.path, resp.StatusCode, o.status)
		}
	}
}

// expected is expectedOutcomes with the "ok" backend's address for OK.
func expected(okAddr string) map[string]float64 {
	m := map[string]float64{}
	for k, v := range expectedOutcomes {
		m[strings.ReplaceAll(k, `host="OK"`, `host="`+okAddr+`"`)] = v
	}
	return m
}

// startHTTPServer is a net/http backend on 127.0.0.1:0 (closed at cleanup);
// it returns the address.
func startHTTPServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// scrape fetches and parses the Prometheus text at url.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: waitBound}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// series flattens families into "name{l1="v1",l2="v2"}" → value, labels in
// the order they come (sorted by name, as client_golang writes them);
// histograms add name_count and name_sum.
func series(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			key := func(n string) string {
				if len(ls) == 0 {
					return n
				}
				return n + "{" + strings.Join(ls, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key(name)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key(name)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key(name+"_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key(name+"_sum")] = m.GetHistogram().GetSampleSum()
			default:
				out[key(name)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

// mismatches lists the series of want whose value in got differs.
func mismatches(got, want map[string]float64) []string {
	var bad []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, k+": missing")
		case g != v:
			bad = append(bad, fmt.Sprintf("%s = %v, want %v", k, g, v))
		}
	}
	return bad
}

// waitSeries polls read until every series of want has its value, failing
// with the differences after waitBound. Counters are bumped after the
// response is sent, so the last request's may lag its response a little.
func waitSeries(t *testing.T, read func() map[string]float64, want map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		got := read()
		bad := mismatches(got, want)
		if len(bad) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v:\n%s", waitBound, strings.Join(bad, "\n"))
		}
		<-tick.C
	}
}

// getJSON GETs url into v and returns the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	c := &http.Client{Timeout: waitBound}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); v != nil && !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content-type %q, body %s", url, ct, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp.StatusCode
}

// tryInProcess is startInProcess returning Start's error rather than
// failing on it.
func tryInProcess(t *testing.T, cfgJSON string) (*inproc, error) {
	t.Helper()
	cfg, ps := config.Parse([]byte(cfgJSON))
	if len(ps) > 0 {
		t.Fatalf("test config has problems:\n%v\n%s", ps, cfgJSON)
	}
	log := new(syncBuffer)
	srv, ps := server.Build(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	if srv == nil {
		t.Fatalf("server.Build: %v", ps)
	}
	if err := srv.Start(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(srv.Close)
	return &inproc{Server: srv, log: log}, nil
}
