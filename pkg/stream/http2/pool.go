package http2

import (
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Keepalive defaults of a Pool's connections.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 15 * time.Second
)

// PoolConfig tunes a Pool beyond stream.PoolOptions. Zero values mean the
// defaults.
type PoolConfig struct {
	// PingInterval: a connection that has read nothing for this long is
	// sent a PING. Default DefaultPingInterval.
	PingInterval time.Duration
	// PingTimeout: a PING not answered within this closes the connection
	// (its streams are reset). Default DefaultPingTimeout.
	PingTimeout time.Duration
}

// Pool is the multiplexed pool of one upstream host: streams go on the
// first connection with room under the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS (and MaxRequestsPerConn); when none has
// room a new connection is made. A connection that receives GOAWAY, fails
// or is retired leaves the pool at once, finishes its streams and closes;
// the next stream makes a new one.
type Pool struct {
	opts stream.PoolOptions
	cfg  PoolConfig

	mu     sync.Mutex
	conns  []*Conn
	closed bool
}

var _ stream.ConnPool = (*Pool)(nil)

// NewPool makes an empty pool with the default keepalive.
func NewPool(o stream.PoolOptions) *Pool { return NewPoolConfig(o, PoolConfig{}) }

// NewPoolConfig makes an empty pool.
func NewPoolConfig(o stream.PoolOptions, cfg PoolConfig) *Pool {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	return &Pool{opts: o, cfg: cfg}
}

// NewStream reserves a stream on a connection with room, or on a new one
// (whose frames wait in its write queue until it has connected). The
// stream takes its id when its headers are sent.
func (p *Pool) NewStream(r stream.Receiver) (stream.ClientStream, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, stream.ErrPoolClosed
	}
	for _, c := range p.conns {
		if st := c.reserve(r); st != nil {
			p.mu.Unlock()
			return st, nil
		}
	}
	p.mu.Unlock()
	nc, timeout, err := p.opts.Dial()
	if err != nil {
		return nil, err
	}
	c := newConn(nc, false, p.opts.Limits)
	c.pool = p
	c.unsent = make(map[*Stream]struct{})
	st := c.reserve(r)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.Close(0)
		return nil, stream.ErrPoolClosed
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	c.mu.Lock()
	c.keepalive = time.AfterFunc(p.cfg.PingInterval, c.keepaliveTick)
	c.mu.Unlock()
	c.flush()
	nc.Connect(timeout)
	return st, nil
}

// Close stops new streams; each connection closes once its streams end.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.GoAway()
	}
}

// Conns is the number of connections taking new streams.
func (p *Pool) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// remove takes c out of the pool: it takes no new stream.
func (p *Pool) remove(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.conns {
		if x == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

// capacityChanged is told when a connection's room may have changed.
// NewStream looks at every connection, so there is nothing to do yet; a
// queue of waiting streams would be served here.
func (p *Pool) capacityChanged() {}

// reserve takes a stream slot on c, or returns nil when it has none.
func (c *Conn) reserve(r stream.Receiver) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.goingAway || c.open >= c.peerMaxStreams {
		return nil
	}
	c.requests++
	st := &Stream{c: c, receiver: r}
	if w, ok := r.(stream.Watermarks); ok {
		st.watermarks = w
	}
	c.unsent[st] = struct{}{}
	c.open++
	if max := c.pool.opts.MaxRequestsPerConn; max > 0 && c.requests >= max {
		c.goingAway = true // retired: it closes when its streams end
		go c.pool.remove(c)
	}
	return st
}

// keepaliveTick sends a PING on a connection that has been quiet for the
// ping interval, and closes one whose PING went unanswered.
func (c *Conn) keepaliveTick() {
	cfg := c.pool.cfg
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingOut {
		if now.Sub(c.pingSent) >= cfg.PingTimeout {
			c.mu.Unlock()
			c.connError(http2.ErrCodeNo, "ping timeout")
			c.nc.Close(0)
			return
		}
		c.keepalive.Reset(cfg.PingTimeout - now.Sub(c.pingSent))
		c.mu.Unlock()
		return
	}
	quiet := now.Sub(time.Unix(0, c.lastRead.Load()))
	if quiet < cfg.PingInterval {
		c.keepalive.Reset(cfg.PingInterval - quiet)
		c.mu.Unlock()
		return
	}
	c.pingOut = true
	c.pingSent = now
	c.fw.WritePing(false, [8]byte{'k', 'e', 'e', 'p', 'a', 'l', 'i', 'v'})
	c.keepalive.Reset(cfg.PingTimeout)
	c.mu.Unlock()
	c.flush()
}

// clientHeaders handles a response head, an interim response or trailers.
func (c *Conn) clientHeaders(id uint32, end bool) {
	c.mu.Lock()
	st := c.streams[id]
	var got bool
	if st != nil {
		got = st.gotHead
	}
	c.mu.Unlock()
	if st == nil {
		if !c.decode(&c.scratch, blockResponse) {
			return
		}
		if id%2 == 0 || !c.known(id) {
			c.connError(http2.ErrCodeProtocol, "HEADERS on an idle stream")
		}
		return // a stream this side has reset
	}
	if got {
		if !c.decode(&st.trailers, blockTrailers) {
			return
		}
		if !end || c.dec.invalid != "" || c.dec.tooBig || st.declared >= 0 && st.received != st.declared {
			c.streamError(id, http2.ErrCodeProtocol)
			return
		}
		c.mu.Lock()
		st.recvClosed = true
		c.mu.Unlock()
		st.receiver.OnTrailers(&st.trailers)
		c.recvDone(st)
		return
	}
	if !c.decode(&st.headers, blockResponse) {
		return
	}
	if c.dec.invalid != "" || c.dec.tooBig {
		c.streamError(id, http2.ErrCodeProtocol)
		return
	}
	s, _ := st.headers.Get(protocol.Status)
	if len(s) == 3 && s[0] == '1' {
		if end {
			c.streamError(id, http2.ErrCodeProtocol)
		}
		return // interim: the final response follows
	}
	c.mu.Lock()
	headReq := st.headReq
	c.mu.Unlock()
	st.declared = c.dec.length
	if headReq || string(s) == "204" || string(s) == "304" {
		st.declared = -1 // no body, whatever content-length says
	} else if end && st.declared > 0 {
		c.streamError(id, http2.ErrCodeProtocol)
		return
	}
	c.mu.Lock()
	st.gotHead = true
	st.recvClosed = end
	c.mu.Unlock()
	st.forget() // a response began: the request is not replayed
	st.receiver.OnHeaders(&st.headers, end)
	c.flushList = append(c.flushList, st)
	if end {
		c.recvDone(st)
	}
}
