// Package tcpproxy is the L4 proxy, network filter "tcp_proxy": each
// downstream connection is paired with one upstream connection, to a host of
// the cluster its route chooses, and bytes are relayed both ways without a
// codec.
//
// Relaying copies nothing: a read buffer is handed to the other connection's
// write queue as it is. Back-pressure comes from the queues: when one side's
// queue passes its buffer limit, reading from the other side pauses until it
// drains, so a slow reader costs at most about two buffer limits of memory.
// Half-close is relayed (a FIN on one side becomes a FIN on the other) and an
// idle connection pair holds its two sockets, two small goroutines and no
// buffers.
package tcpproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/proxy"
	"github.com/sidecar-mesh/mosn/pkg/upstream"
)

func init() {
	proxy.RegisterNetworkFilter(config.FilterTCPProxy, New)
}

type route struct {
	cluster  string
	src, dst []config.AddrRange // empty matches everything
}

func (r *route) matches(src, dst netip.AddrPort) bool {
	return matchAny(r.src, src) && matchAny(r.dst, dst)
}

func matchAny(ranges []config.AddrRange, ap netip.AddrPort) bool {
	if len(ranges) == 0 {
		return true
	}
	for _, r := range ranges {
		if r.Contains(ap) {
			return true
		}
	}
	return false
}

// Filter is a configured tcp_proxy, shared by all connections of a listener.
type Filter struct {
	routes      []route // tried in order; then defaultCluster
	fallback    string
	idleTimeout time.Duration
	attempts    int
	clusters    *upstream.Manager
	log         *slog.Logger
}

var _ proxy.ChainFactory = (*Filter)(nil)

// New builds a tcp_proxy from its config.
func New(path string, raw json.RawMessage, deps proxy.Deps) (proxy.ChainFactory, error) {
	cfg, problems := config.DecodeTCPProxy(path, raw)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	f := &Filter{
		fallback: cfg.Cluster,
		attempts: max(1, int(cfg.MaxConnectAttempts)),
		clusters: deps.Clusters,
		log:      deps.Logger.With("component", "tcp_proxy"),
	}
	if cfg.IdleTimeout != nil {
		f.idleTimeout = cfg.IdleTimeout.D()
	}
	for i, rc := range cfg.Routes {
		src, dst, err := rc.Ranges()
		if err != nil {
			return nil, fmt.Errorf("%s.routes[%d]: %w", path, i, err)
		}
		f.routes = append(f.routes, route{cluster: rc.Cluster, src: src, dst: dst})
	}
	return f, nil
}

// clusterFor returns the cluster for a connection from src to dst: the first
// matching route's, else the default one ("" when there is none).
func (f *Filter) clusterFor(src, dst netip.AddrPort) string {
	for i := range f.routes {
		if f.routes[i].matches(src, dst) {
			return f.routes[i].cluster
		}
	}
	return f.fallback
}

// Install pairs the new downstream connection with a session.
func (f *Filter) Install(c *network.Conn) error {
	c.EnableHalfClose()
	if f.idleTimeout > 0 {
		c.SetIdleTimeout(f.idleTimeout)
	}
	s := &session{f: f, down: c}
	c.AddReadFilter(s)
	c.AddEventListener(s)
	return nil
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// session relays one downstream connection to one upstream connection.
type session struct {
	f       *Filter
	down    *network.Conn
	up      atomic.Pointer[network.Conn] // replaced by a connect retry
	cluster *upstream.Cluster
	tries   int // touched only by the goroutine that reports the last attempt
}

// OnNewConnection picks the upstream and starts connecting. Downstream bytes
// wait in the kernel until the upstream is connected.
func (s *session) OnNewConnection(c *network.Conn) network.FilterStatus {
	name := s.f.clusterFor(addrPort(c.RemoteAddr()), addrPort(c.LocalAddr()))
	if name == "" {
		s.f.log.Warn("no route for connection; closing", "remote", c.RemoteAddr(), "local", c.LocalAddr())
		c.Close(network.CloseNoFlush)
		return network.Stop
	}
	if s.cluster = s.f.clusters.Get(name); s.cluster == nil {
		s.f.log.Warn("route names an unknown cluster; closing", "cluster", name, "remote", c.RemoteAddr())
		c.Close(network.CloseNoFlush)
		return network.Stop
	}
	c.SetReadDisable(true)
	s.connect()
	return network.Stop
}

// connect makes the next connect attempt, or gives up and closes downstream.
func (s *session) connect() {
	s.tries++
	host := s.cluster.ChooseHost()
	if host == nil {
		s.fail(errors.New("no host in cluster"))
		return
	}
	up, err := s.cluster.NewConn(host)
	if err != nil {
		s.fail(err)
		return
	}
	if s.f.idleTimeout > 0 {
		up.SetIdleTimeout(s.f.idleTimeout)
	}
	up.SetAffinity(s.down) // under the event-loop model, one loop serves both
	up.EnableHalfClose()
	up.AddReadFilter(upstreamReader{s})
	up.AddEventListener(s)
	s.up.Store(up)
	if s.down.Closed() { // closed during a retry, after its close event looked for s.up
		up.Close(network.CloseNoFlush)
		return
	}
	up.Connect(s.cluster.ConnectTimeout())
}

func (s *session) fail(err error) {
	s.f.log.Warn("upstream unavailable; closing downstream",
		"cluster", s.cluster.Name(), "remote", s.down.RemoteAddr(), "attempts", s.tries, "err", err)
	s.down.Close(network.CloseNoFlush)
}

// OnData relays downstream bytes upstream.
func (s *session) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	relay(buf, end, s.up.Load())
	return network.Stop
}

func relay(buf *network.Buffer, end bool, to *network.Conn) {
	if buf.Len() > 0 {
		to.Write(buf.Retain())
		buf.Drain(buf.Len())
	}
	if end {
		to.CloseWrite()
	}
}

// upstreamReader relays upstream bytes downstream.
type upstreamReader struct{ s *session }

func (upstreamReader) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

func (r upstreamReader) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	relay(buf, end, r.s.down)
	return network.Stop
}

// OnEvent ties the two connections' lives together.
func (s *session) OnEvent(c *network.Conn, e network.Event) {
	if c == s.down {
		s.downstreamEvent(e)
		return
	}
	if c != s.up.Load() {
		return // an earlier, failed attempt
	}
	switch e {
	case network.EventConnected:
		s.down.SetReadDisable(false)
	case network.EventConnectFailed, network.EventConnectTimeout:
		if s.tries < s.f.attempts && !s.down.Closed() {
			s.connect()
			return
		}
		s.fail(errors.New(e.String()))
	case network.EventRemoteClose, network.EventLocalClose:
		s.down.Close(network.CloseFlush)
	case network.EventWriteBufferHigh:
		s.down.SetReadDisable(true)
	case network.EventWriteBufferLow:
		s.down.SetReadDisable(false)
	}
}

func (s *session) downstreamEvent(e network.Event) {
	up := s.up.Load()
	if up == nil {
		return
	}
	switch {
	case e.IsClose():
		up.Close(network.CloseFlush)
	case e == network.EventWriteBufferHigh:
		up.SetReadDisable(true)
	case e == network.EventWriteBufferLow:
		up.SetReadDisable(false)
	}
}
