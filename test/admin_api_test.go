package test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// adminProxy starts the outcome config in-process, sends a few requests,
// and returns the proxy and its admin base URL.
func adminProxy(t *testing.T) (*inproc, string, outcomeBackends) {
	t.Helper()
	b := startOutcomeBackends(t)
	p := startInProcess(t, outcomeConfig(b))
	client := &http.Client{Timeout: waitBound}
	for _, path := range []string{"/ok/a", "/ok/b", "/missing"} {
		resp, err := client.Get("http://" + p.addr(0) + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return p, "http://" + p.Admin().Addr().String(), b
}

// TestAdminEndpointsShape checks the JSON each admin endpoint answers with.
func TestAdminEndpointsShape(t *testing.T) {
	t.Parallel()
	p, base, b := adminProxy(t)

	var version struct {
		Version   string
		GoVersion string `json:"go_version"`
	}
	if code := getJSON(t, base+"/api/v1/version", &version); code != 200 || version.Version == "" || version.GoVersion == "" {
		t.Errorf("version: %d %+v", code, version)
	}

	var dump struct {
		MOSNConfig map[string]any            `json:"mosn_config"`
		Listener   map[string]map[string]any `json:"listener"`
		Routers    map[string]map[string]any `json:"routers"`
		Cluster    map[string]map[string]any `json:"cluster"`
	}
	if code := getJSON(t, base+"/api/v1/config_dump", &dump); code != 200 {
		t.Fatalf("config_dump: %d", code)
	}
	if dump.MOSNConfig["default_log_level"] != "INFO" || dump.MOSNConfig["admin"] == nil {
		t.Errorf("config_dump mosn_config: %v", dump.MOSNConfig)
	}
	// The effective config: the port the listener got, not the 0 asked for.
	if got := dump.Listener["http"]["address"]; got != p.addr(0) {
		t.Errorf("listener address %v, want the bound %s", got, p.addr(0))
	}
	if dump.Routers["r"] == nil || len(dump.Cluster) != 4 || dump.Cluster["ok"]["hosts"] == nil {
		t.Errorf("config_dump routers %v, clusters %v", dump.Routers, dump.Cluster)
	}
	var one map[string]map[string]any
	if code := getJSON(t, base+"/api/v1/config_dump?cluster=ok", &one); code != 200 || len(one) != 1 || len(one["cluster"]) != 1 {
		t.Errorf("config_dump?cluster=ok: %d %v", code, one)
	}
	one = nil
	if code := getJSON(t, base+"/api/v1/config_dump?listener=http", &one); code != 200 || len(one) != 1 || one["listener"]["http"] == nil {
		t.Errorf("config_dump?listener=http: %d %v", code, one)
	}
	one = nil
	if code := getJSON(t, base+"/api/v1/config_dump?router=r", &one); code != 200 || len(one) != 1 || one["routers"]["r"] == nil {
		t.Errorf("config_dump?router=r: %d %v", code, one)
	}
	var e struct{ Error string }
	if code := getJSON(t, base+"/api/v1/config_dump?cluster=nope", &e); code != 404 || !strings.Contains(e.Error, "nope") {
		t.Errorf("config_dump?cluster=nope: %d %+v", code, e)
	}

	var stats map[string][]struct {
		Labels map[string]string
		Value  *float64
		Count  *uint64
		P99    *float64
	}
	if code := getJSON(t, base+"/api/v1/stats?key=downstream_request", &stats); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	waitUntil(t, "request_total 3 in /api/v1/stats", func() bool {
		getJSON(t, base+"/api/v1/stats?key=downstream_request", &stats)
		s := stats["mosn_downstream_request_total"]
		return len(s) == 1 && s[0].Labels["listener"] == "http" && s[0].Value != nil && *s[0].Value == 3
	})
	if h := stats["mosn_downstream_request_time"]; len(h) != 1 || h[0].Count == nil || *h[0].Count != 3 || h[0].P99 == nil {
		t.Errorf("stats request_time: %+v", h)
	}
	for name := range stats {
		if !strings.HasPrefix(name, "mosn_downstream_request") {
			t.Errorf("stats?key=downstream_request returned %s", name)
		}
	}

	var level struct {
		LogLevel string `json:"log_level"`
	}
	if code := getJSON(t, base+"/api/v1/get_loglevel", &level); code != 200 || level.LogLevel != "INFO" {
		t.Errorf("get_loglevel: %d %+v", code, level)
	}

	var states struct {
		State string
		Pid   int
	}
	if code := getJSON(t, base+"/api/v1/states", &states); code != 200 || states.State != "running" || states.Pid == 0 {
		t.Errorf("states: %d %+v", code, states)
	}

	var clusters struct {
		Clusters []struct {
			Name         string
			RequestTotal int64 `json:"request_total"`
			Hosts        []struct {
				Address         string
				Healthy         bool
				ResponseSuccess int64 `json:"response_success"`
			}
		}
	}
	if code := getJSON(t, base+"/api/v1/clusters", &clusters); code != 200 || len(clusters.Clusters) != 4 {
		t.Fatalf("clusters: %d %+v", code, clusters)
	}
	for _, c := range clusters.Clusters {
		if c.Name == "ok" && (len(c.Hosts) != 1 || c.Hosts[0].Address != b.ok || !c.Hosts[0].Healthy || c.Hosts[0].ResponseSuccess != 2 || c.RequestTotal != 2) {
			t.Errorf("cluster ok: %+v", c)
		}
	}

	for path, want := range map[string]int{"/ready": 200, "/healthz": 200} {
		var s struct{ Status string }
		if code := getJSON(t, base+path, &s); code != want || s.Status == "" {
			t.Errorf("%s: %d %+v", path, code, s)
		}
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	help, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, ep := range []string{"/api/v1/config_dump", "/api/v1/stats", "/api/v1/update_loglevel", "/metrics", "/ready"} {
		if !strings.Contains(string(help), ep) {
			t.Errorf("help page lacks %s:\n%s", ep, help)
		}
	}
}

// TestAdminUpdateLogLevelChangesTheLog checks that update_loglevel changes
// what the running proxy logs, and that bad bodies are refused with 400.
func TestAdminUpdateLogLevelChangesTheLog(t *testing.T) {
	t.Parallel()
	_, base, _ := adminProxy(t)
	post := func(body string) (int, string) {
		resp, err := http.Post(base+"/api/v1/update_loglevel", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"log_level": "ERROR"}`); code != 200 {
		t.Fatalf("update_loglevel: %d %s", code, body)
	}
	var level struct {
		LogLevel string `json:"log_level"`
	}
	if getJSON(t, base+"/api/v1/get_loglevel", &level); level.LogLevel != "ERROR" {
		t.Fatalf("get_loglevel after update: %+v", level)
	}
	for _, bad := range []string{`not json`, `{"log_level": "SHOUT"}`, `{"log_level": 3}`, ``} {
		if code, body := post(bad); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("update_loglevel %q: %d %s; want 400 with a reason", bad, code, body)
		}
	}
}

// TestAdminOnlyOnLoopback checks that the admin listener, configured on
// 127.0.0.1, is bound to that address alone: another loopback address of
// the same port (which a wildcard bind would answer) refuses connections.
func TestAdminOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	p, _, _ := adminProxy(t)
	addr := p.Admin().Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		t.Fatalf("admin bound to %v, want a loopback address", addr)
	}
	other := net.JoinHostPort("127.0.0.2", strconv.Itoa(addr.Port))
	c, err := net.DialTimeout("tcp", other, waitBound)
	if err == nil {
		c.Close()
		t.Fatalf("admin answered on %s: it is bound wider than 127.0.0.1", other)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", other, err)
	}
}

// TestPrometheusSinkServesMetrics checks MOSN's metrics.sinks prometheus
// config: /metrics on a port of its own, at the configured endpoint.
func TestPrometheusSinkServesMetrics(t *testing.T) {
	t.Parallel()
	b := startOutcomeBackends(t)
	var p *inproc
	var port int
	// The sink's port must be given: take a free one, again if another
	// process binds it first.
	for try := 0; ; try++ {
		port = promPort(t)
		cfg := patchJSON(t, outcomeConfig(b), patch{"metrics", `{"sinks": [{"type": "prometheus", "config": {"port": ` + strconv.Itoa(port) + `, "endpoint": "/stats/prometheus"}}]}`})
		var err error
		if p, err = tryInProcess(t, cfg); err == nil {
			break
		} else if !strings.Contains(err.Error(), "address already in use") || try == 4 {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: waitBound}
	resp, err := client.Get("http://" + p.addr(0) + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/stats/prometheus"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_downstream_request_total{listener="http"}`: 1,
		`mosn_upstream_request_total{cluster="ok"}`:      1,
	})
	resp, err = client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the sink serves the admin API: %s", resp.Status)
	}
}

// TestPprofServer checks MOSN's pprof key: Go's profiling endpoints answer
// on 127.0.0.1 only, and not at all without debug.
func TestPprofServer(t *testing.T) {
	t.Parallel()
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {})
	on := startInProcess(t, httpConfig(t, b.addr(), patch{"pprof", `{"debug": true, "port_value": 0}`}))
	addr := on.Pprof().Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		t.Fatalf("pprof bound to %v, want 127.0.0.1", addr)
	}
	client, _ := newClient(t, 1)
	resp, body := request(t, client, "GET", addr.String(), "", "/debug/pprof/goroutine?debug=1", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("GET /debug/pprof/goroutine: %d %.200q", resp.StatusCode, body)
	}
	off := startInProcess(t, httpConfig(t, b.addr(), patch{"pprof", `{"debug": false, "port_value": 0}`}))
	if off.Pprof() != nil {
		t.Fatalf("pprof served with debug false")
	}
}
