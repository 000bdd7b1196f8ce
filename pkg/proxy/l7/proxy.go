// Package l7 is the layer-7 proxy, network filter "proxy": it serves a
// downstream protocol through the stream layer, routes each request, picks an
// upstream host, sends the request on a pooled upstream stream and relays
// the response, with timeouts, retries, local replies and an access log.
//
// Each request walks an explicit phase machine:
//
//	receive ─► filter ─► route ─► choose host ─► send upstream ─► await response
//	        ─► respond downstream ─► log
//
// with local replies (404, 502, 503, 504, direct responses, redirects)
// leaving from any phase before the response has started. Events for a
// request come from the downstream read goroutine (request parts), the
// upstream read goroutine (response parts) and timers; a per-request mutex
// orders them, and nothing blocks while holding it: sending only queues bytes.
package l7

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/accesslog"
	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/network"
	codec "github.com/sidecar-mesh/mosn/pkg/protocol/http1"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
	"github.com/sidecar-mesh/mosn/pkg/router"
	"github.com/sidecar-mesh/mosn/pkg/stream"
	shttp1 "github.com/sidecar-mesh/mosn/pkg/stream/http1"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

func init() {
	proxy.RegisterNetworkFilter(config.FilterProxy, New)
}

// protoHTTP1 is the name pools are kept under, and what the access log says.
const protoHTTP1 = "Http1"

// Filter is a configured proxy filter, shared by a listener's connections.
type Filter struct {
	table    *router.Table
	clusters *upstream.Manager
	filters  []proxy.StreamFilter
	logs     []*accesslog.Logger
	limits   codec.Limits
	log      *slog.Logger
}

var _ proxy.ChainFactory = (*Filter)(nil)

// New builds the proxy filter. Only HTTP/1.1 on both sides runs so far;
// other protocols are reported as not supported.
func New(path string, raw json.RawMessage, deps proxy.Deps) (proxy.ChainFactory, error) {
	cfg, problems := config.DecodeProxy(path, raw)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	for _, p := range []struct{ key, value string }{
		{"downstream_protocol", cfg.DownstreamProtocol},
		{"upstream_protocol", cfg.UpstreamProtocol},
	} {
		if p.value != "" && !strings.EqualFold(p.value, protoHTTP1) {
			return nil, fmt.Errorf("%s: %q: only Http1 runs so far: %w", p.key, p.value, proxy.ErrNotSupported)
		}
	}
	table := deps.Routers[cfg.RouterConfigName]
	if table == nil {
		return nil, fmt.Errorf("router_config_name: %q: no such router", cfg.RouterConfigName)
	}
	return &Filter{
		table:    table,
		clusters: deps.Clusters,
		filters:  deps.StreamFilters,
		logs:     deps.AccessLogs,
		limits: codec.Limits{
			MaxHeaderBytes: int(cfg.MaxRequestHeaderBytes),
			MaxBodyBytes:   int64(cfg.MaxRequestBodyBytes),
		},
		log: deps.Logger.With("component", "proxy"),
	}, nil
}

// Install serves HTTP/1.1 on a new downstream connection.
func (f *Filter) Install(c *network.Conn) error {
	h := &handler{f: f}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		h.clientIP = ta.IP.String()
	}
	shttp1.NewServerConn(c, f.limits, h)
	return nil
}

// handler starts the requests of one downstream connection.
type handler struct {
	f        *Filter
	clientIP string
}

// NewStream starts a request.
func (h *handler) NewStream(s *shttp1.ServerStream) stream.Receiver {
	r := newRequest(h.f, s, h.clientIP)
	return &r.downstream
}

// newPool makes a host's HTTP/1.1 pool.
func newPool(h *upstream.Host) stream.ConnPool {
	c := h.Cluster()
	return shttp1.NewPool(shttp1.PoolOptions{
		Dial: func() (*network.Conn, time.Duration, error) {
			conn, err := c.NewConn(h)
			return conn, c.ConnectTimeout(), err
		},
		MaxRequestsPerConn: c.MaxRequestsPerConn(),
	})
}
