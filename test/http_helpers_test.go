package test

// Helpers of the HTTP/1.1 proxy tests (http_*_test.go): the config they start
// from, net/http backends that count what reaches them, a net/http client
// that keeps connections alive and follows no redirect, a raw wire-level
// client, and a reader of a process's peak memory. Like the rest of the
// suite, nothing here sleeps: waits are reads under deadlines, channels or
// waitUntil polls, all bounded by waitBound.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	// The in-process server needs the L7 filters the binary compiles in
	// (cmd/mosn/imports.go); helpers_test.go imports tcp_proxy.
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/fault"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
)

// Paths into the configs built by httpConfig.
const (
	proxyConf = filter0 + ".config"
	routers   = "servers[0].routers"
	vhost0    = routers + "[0].virtual_hosts[0]"
	clusters  = "cluster_manager.clusters"
)

// httpConfig is the HTTP/1.1 config the L7 tests start from: listener "http"
// on 127.0.0.1:0 with a "proxy" filter over router "r", whose one virtual
// host "v" takes every domain and sends every path to cluster "c"
// (LB_ROUNDROBIN, one host: host), then patches. The route timeout of 20s is
// below the clients' waitBound, so that a request the proxy never finishes
// comes back as a 504 that names the problem rather than a client timeout.
func httpConfig(t *testing.T, host string, patches ...patch) string {
	t.Helper()
	doc := `{
  "servers": [{
    "default_log_path": "stdout",
    "default_log_level": "INFO",
    "graceful_timeout": "5s",
    "routers": [{
      "router_config_name": "r",
      "virtual_hosts": [{
        "name": "v",
        "domains": ["*"],
        "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "c", "timeout": "20s"}}]
      }]
    }],
    "listeners": [{
      "name": "http",
      "address": "127.0.0.1:0",
      "bind_port": true,
      "connection_idle_timeout": "1h",
      "filter_chains": [{"filters": [{"type": "proxy", "config": {
        "downstream_protocol": "Http1",
        "upstream_protocol": "Http1",
        "router_config_name": "r"
      }}]}]
    }]
  }],
  "cluster_manager": {"clusters": [` + clusterJSON("c", "LB_ROUNDROBIN", host) + `]}
}`
	return patchJSON(t, doc, patches...)
}

// clusterJSON is a SIMPLE cluster of the given hosts (weight 1 each) with a
// 5s connect timeout and a circuit breaker no test reaches by accident.
func clusterJSON(name, lb string, hosts ...string) string {
	var hs []string
	for _, h := range hosts {
		hs = append(hs, `{"address": `+strconv.Quote(h)+`}`)
	}
	return `{"name": ` + strconv.Quote(name) + `, "type": "SIMPLE", "lb_type": ` + strconv.Quote(lb) +
		`, "connect_timeout": "5s", "circuit_breakers": [{"max_connections": 100000}], "hosts": [` + strings.Join(hs, ", ") + `]}`
}

// forward is a route of the prefix to cluster, with extra route fields (a
// JSON object's members, or "").
func forward(prefix, cluster, extra string) string {
	r := `{"match": {"prefix": ` + strconv.Quote(prefix) + `}, "route": {"cluster_name": ` + strconv.Quote(cluster) + `, "timeout": "20s"`
	if extra != "" {
		r += ", " + extra
	}
	return r + "}}"
}

// routesPatch replaces the routes of the one virtual host.
func routesPatch(routes ...string) patch {
	return patch{vhost0 + ".routers", "[" + strings.Join(routes, ",\n") + "]"}
}

// clustersPatch replaces the clusters.
func clustersPatch(cs ...string) patch {
	return patch{clusters, "[" + strings.Join(cs, ",\n") + "]"}
}

// httpBackend is a net/http server on 127.0.0.1:0 (httptest) that counts the
// requests reaching it and the client addresses (the proxy's upstream
// connections) they came on, then runs its handler.
type httpBackend struct {
	srv      *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	remotes  []string // RemoteAddr of each request, in arrival order
}

// startHTTP starts a backend; cleanup closes it, after the proxies started
// later (cleanups run last in, first out), so that its handlers see their
// connections close rather than block the close.
func startHTTP(t *testing.T, h http.HandlerFunc) *httpBackend {
	t.Helper()
	b := &httpBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		b.mu.Lock()
		b.remotes = append(b.remotes, r.RemoteAddr)
		b.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *httpBackend) addr() string { return b.srv.Listener.Addr().String() }

// conns is the number of distinct connections requests came on.
func (b *httpBackend) conns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range b.remotes {
		seen[r] = true
	}
	return len(seen)
}

// namedHTTP answers every request with its name as the body.
func namedHTTP(t *testing.T, name string) *httpBackend {
	return startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, name)
	})
}

// silent is a backend that reads requests and never answers, until the
// peer closes. accepted counts its connections.
func silent(t *testing.T) (*backend, *atomic.Int64) {
	t.Helper()
	var accepted atomic.Int64
	b := startBackend(t, func(c *net.TCPConn) {
		accepted.Add(1)
		io.Copy(io.Discard, c)
	})
	return b, &accepted
}

// newClient is a net/http client for 127.0.0.1: keep-alive with up to
// maxIdle idle connections, no proxy from the environment, no compression,
// no redirects followed, and waitBound on everything.
func newClient(t *testing.T, maxIdle int) (*http.Client, *http.Transport) {
	t.Helper()
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		DisableCompression:  true,
		IdleConnTimeout:     time.Hour,
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{
		Transport:     tr,
		Timeout:       waitBound,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, tr
}

// request makes a request of method to http://addr+path with the given
// host (if not "") and header lines ("Name: value"), and returns the
// response with its whole body. Any error fails the test.
func request(t *testing.T, c *http.Client, method, addr, host, path string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	resp, data, err := tryRequest(c, method, addr, host, path, body, header...)
	if err != nil {
		t.Fatalf("%s %s (host %q): %v", method, path, host, err)
	}
	return resp, data
}

// tryRequest is request that returns the error instead.
func tryRequest(c *http.Client, method, addr, host, path string, body io.Reader, header ...string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		return nil, "", err
	}
	if host != "" {
		req.Host = host
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, string(data), fmt.Errorf("read body: %w", err)
	}
	return resp, string(data), nil
}

// wire is a raw client connection, for what net/http clients will not send
// or hide: pipelining, malformed requests, interim responses, closes.
type wire struct {
	c  *net.TCPConn
	br *bufio.Reader
}

// dialWire connects to addr; every read and write must finish within
// waitBound of the dial.
func dialWire(t *testing.T, addr string) *wire {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(waitBound))
	return &wire{c: c, br: bufio.NewReader(c)}
}

// send writes s whole.
func (w *wire) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(w.c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// read reads one response to a request of method, with its whole body.
func (w *wire) read(t *testing.T, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(w.br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body (status %d): %v (got %q)", resp.StatusCode, err, body)
	}
	return resp, string(body)
}

// closed waits for the proxy to close the connection: what is left before
// EOF must be nothing.
func (w *wire) closed(t *testing.T) {
	t.Helper()
	if n := w.br.Buffered(); n > 0 {
		b, _ := w.br.Peek(n)
		t.Fatalf("%d unexpected bytes after the response: %q", n, b)
	}
	expectClosed(t, w.c)
}

// get is a raw GET request for path with Host: h.
func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n"
}

// peakRSS returns VmHWM, the peak resident set size, of process pid in
// bytes; ok is false where /proc does not say.
func peakRSS(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := strings.Fields(string(rest)) // "123456 kB"
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10, true
				}
			}
		}
	}
	return 0, false
}

// share formats counts as percentages of total, for failure messages.
func share(counts map[string]int, total int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "%s=%d (%.1f%%) ", k, counts[k], 100*float64(counts[k])/float64(total))
	}
	return strings.TrimSpace(b.String())
}
