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
	"sync"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/accesslog"
	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/metrics"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
	"github.com/sidecar-mesh/mosn/pkg/router"
	"github.com/sidecar-mesh/mosn/pkg/stream"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

func init() {
	proxy.RegisterNetworkFilter(config.FilterProxy, New)
}

// defaultProtocol is what an empty downstream_protocol or upstream_protocol means.
const defaultProtocol = "Http1"

// Filter is a configured proxy filter, shared by a listener's connections.
type Filter struct {
	down, up *stream.Protocol // up nil: chosen per connection (handler.Choose)
	table    *router.Table
	clusters *upstream.Manager
	filters  []proxy.StreamFilter
	logs     []*accesslog.Logger
	stats    *metrics.Downstream // nil counts nothing
	limits   stream.Limits
	newPool  func(*upstream.Host) stream.ConnPool // f.makePool, bound once
	routeUps *sync.Map                            // route upstream_protocol name → *routeUpstream
	log      *slog.Logger
}

var _ proxy.ChainFactory = (*Filter)(nil)

// New builds the proxy filter. A protocol name this build has no stream
// layer for is reported as not supported.
func New(path string, raw json.RawMessage, deps proxy.Deps) (proxy.ChainFactory, error) {
	cfg, problems := config.DecodeProxy(path, raw)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	f := &Filter{
		table:    deps.Routers[cfg.RouterConfigName],
		clusters: deps.Clusters,
		filters:  deps.StreamFilters,
		logs:     deps.AccessLogs,
		stats:    deps.Stats,
		limits: stream.Limits{
			MaxHeaderBytes: int(cfg.MaxRequestHeaderBytes),
			MaxBodyBytes:   int64(cfg.MaxRequestBodyBytes),
		},
		log: deps.Logger.With("component", "proxy"),
	}
	var err error
	if f.down, err = lookupProtocol("downstream_protocol", cfg.DownstreamProtocol); err != nil {
		return nil, err
	}
	// Empty or "Auto" behind a detecting downstream (Auto, "Http1,Http2"):
	// each connection's upstream speaks what its client does (Choose).
	detecting := strings.EqualFold(cfg.DownstreamProtocol, "Auto") || strings.Contains(cfg.DownstreamProtocol, ",")
	switch up := cfg.UpstreamProtocol; {
	case detecting && (up == "" || strings.EqualFold(up, "Auto")):
	case strings.EqualFold(up, "Auto"):
		f.up = f.down
	default:
		if f.up, err = lookupProtocol("upstream_protocol", up); err != nil {
			return nil, err
		}
	}
	if f.table == nil {
		return nil, fmt.Errorf("router_config_name: %q: no such router", cfg.RouterConfigName)
	}
	f.newPool = f.makePool
	f.routeUps = new(sync.Map)
	return f, nil
}

func lookupProtocol(key, name string) (*stream.Protocol, error) {
	if name == "" {
		name = defaultProtocol
	}
	if p, ok := stream.Lookup(name); ok {
		return p, nil
	}
	return nil, fmt.Errorf("%s: %q: this build runs %s: %w", key, name, strings.Join(stream.Names(), ", "), proxy.ErrNotSupported)
}

// Install serves the downstream protocol on a new connection.
func (f *Filter) Install(c *network.Conn) error {
	h := &handler{f: f, http: f.down.HTTP}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		h.clientIP = ta.IP.String()
	}
	if len(f.logs) > 0 { // formatted once per connection, not per logged request
		h.localAddr, h.remoteAddr = addrString(c.LocalAddr()), addrString(c.RemoteAddr())
	}
	f.down.Serve(c, f.limits, h)
	return nil
}

// handler starts the requests of one downstream connection.
type handler struct {
	f                     *Filter
	http                  bool   // the downstream protocol is HTTP's
	clientIP              string // for X-Forwarded-For
	localAddr, remoteAddr string // for access logs
}

var _ stream.Chooser = (*handler)(nil)

// Choose implements stream.Chooser: a filter whose upstream follows the
// downstream gets a copy of its own that sends in the protocol detected.
func (h *handler) Choose(p *stream.Protocol) {
	h.http = p.HTTP
	if h.f.up != nil {
		return
	}
	f := new(Filter)
	*f = *h.f
	f.up = p
	f.newPool = f.makePool
	h.f = f
}

// NewStream starts a request.
func (h *handler) NewStream(s stream.ServerStream) stream.Receiver {
	r := newRequest(h, s)
	return &r.downstream
}

// makePool makes a host's pool of the upstream protocol.
func (f *Filter) makePool(h *upstream.Host) stream.ConnPool { return poolOf(f.up, h) }

// routeUpstream is a protocol a route's upstream_protocol names, with its
// pool maker bound once.
type routeUpstream struct {
	p       *stream.Protocol
	newPool func(*upstream.Host) stream.ConnPool
}

// upstreamFor returns the protocol a request on rt is sent in, and the
// maker of its hosts' pools: the route's upstream_protocol when it names
// a registered protocol (other than Auto), else the filter's.
func (f *Filter) upstreamFor(rt *router.Route) (*stream.Protocol, func(*upstream.Host) stream.ConnPool) {
	name := rt.UpstreamProtocol()
	if name == "" || strings.EqualFold(name, "Auto") {
		return f.up, f.newPool
	}
	if v, ok := f.routeUps.Load(name); ok {
		u := v.(*routeUpstream)
		return u.p, u.newPool
	}
	p, ok := stream.Lookup(name)
	if !ok {
		f.log.Warn("route upstream_protocol not in this build; using the filter's", "protocol", name)
		return f.up, f.newPool
	}
	u := &routeUpstream{p: p, newPool: func(h *upstream.Host) stream.ConnPool { return poolOf(p, h) }}
	v, _ := f.routeUps.LoadOrStore(name, u)
	u = v.(*routeUpstream)
	return u.p, u.newPool
}

// poolOf makes a host's pool of protocol p.
func poolOf(p *stream.Protocol, h *upstream.Host) stream.ConnPool {
	c := h.Cluster()
	return p.NewPool(stream.PoolOptions{
		Dial: func() (*network.Conn, time.Duration, error) {
			conn, err := c.NewConn(h)
			return conn, c.ConnectTimeout(), err
		},
		MaxRequestsPerConn: c.MaxRequestsPerConn(),
	})
}
