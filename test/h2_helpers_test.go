package test

// Helpers of the HTTP/2 and gRPC tests (h2_*_test.go): the config they
// start from, h2c backends (Go net/http with prior knowledge), h2c clients,
// and lookups of the external peers (curl, h2load, nghttpd). They depend
// only on helpers_test.go.

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http2"
)

// h2Config is listener "h2" on 127.0.0.1:0 with a proxy filter from down
// to up (protocol names) over router "r", whose virtual host takes every
// domain and sends every path to cluster "c" (hosts), then patches.
// routeExtra adds route fields (JSON object members, or "").
func h2Config(t *testing.T, down, up, routeExtra string, hosts []string, patches ...patch) string {
	t.Helper()
	var hs string
	for i, h := range hosts {
		if i > 0 {
			hs += ", "
		}
		hs += `{"address": ` + strconv.Quote(h) + `}`
	}
	route := `{"cluster_name": "c"`
	if routeExtra != "" {
		route += ", " + routeExtra
	}
	route += "}"
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
        "routers": [{"match": {"prefix": "/"}, "route": ` + route + `}]
      }]
    }],
    "listeners": [{
      "name": "h2",
      "address": "127.0.0.1:0",
      "bind_port": true,
      "connection_idle_timeout": "1h",
      "filter_chains": [{"filters": [{"type": "proxy", "config": {
        "downstream_protocol": ` + strconv.Quote(down) + `,
        "upstream_protocol": ` + strconv.Quote(up) + `,
        "router_config_name": "r"
      }}]}]
    }]
  }],
  "cluster_manager": {"clusters": [{"name": "c", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN",
    "connect_timeout": "5s", "circuit_breakers": [{"max_connections": 100000, "max_requests": 100000}],
    "hosts": [` + hs + `]}]}
}`
	return patchJSON(t, doc, patches...)
}

// h2Backend is a Go net/http server on 127.0.0.1:0 speaking HTTP/1.1 and
// h2c with prior knowledge; it counts requests and connections.
type h2Backend struct {
	srv      *http.Server
	ln       net.Listener
	requests atomic.Int64
	conns    atomic.Int64
}

// startH2Backend starts h on a backend; cleanup closes it.
func startH2Backend(t *testing.T, h http.HandlerFunc) *h2Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &h2Backend{ln: ln}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.requests.Add(1)
			h(w, r)
		}),
		Protocols: &p,
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: 1000},
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *h2Backend) addr() string { return b.ln.Addr().String() }

// h2Client is an HTTP/2 client with prior knowledge (x/net's Transport
// over plain TCP) with waitBound on everything. Each client has its own
// connections.
func h2Client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitBound}
}

// needBinary returns the path of an external peer, skipping the test when
// it is not installed (scripts/install-deps.sh installs it for CI).
func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (scripts/install-deps.sh test installs it)", name)
	}
	return p
}

// freePort reserves a loopback port for a peer that cannot listen on port
// 0 and report it; the small race with other processes is accepted only
// for such peers (nghttpd).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening polls until something accepts on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	waitUntil(t, addr+" listening", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// counter is a concurrency-safe tally of strings (status codes, errors).
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k]++
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
