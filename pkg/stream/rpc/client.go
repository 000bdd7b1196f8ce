package rpc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// Config shapes a Pool. Zero values mean the defaults.
type Config struct {
	// Conns is the number of connections per host. Default 1.
	Conns int
	// HeartbeatInterval is how long a connection may read nothing before
	// it sends a heartbeat. Default 15s.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a connection then waits for any byte
	// before it gives up on the connection. Default HeartbeatInterval.
	HeartbeatTimeout time.Duration
}

// Default configuration.
const (
	DefaultConns             = 1
	DefaultHeartbeatInterval = 15 * time.Second
)

// Pool is a multiplexed pool of one host's connections (package doc).
type Pool struct {
	codec  rpc.Codec
	opts   stream.PoolOptions
	cfg    Config
	limits rpc.Limits

	mu     sync.Mutex
	conns  []*clientConn // open and taking requests
	next   int
	closed bool
}

var _ stream.ConnPool = (*Pool)(nil)

// NewPool makes an empty pool speaking codec c.
func NewPool(c rpc.Codec, o stream.PoolOptions, cfg Config) *Pool {
	if cfg.Conns <= 0 {
		cfg.Conns = DefaultConns
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = cfg.HeartbeatInterval
	}
	return &Pool{codec: c, opts: o, cfg: cfg, limits: limitsOf(o.Limits)}
}

// NewStream starts a request on one of the host's connections, dialing
// one if there are fewer than Config.Conns.
func (p *Pool) NewStream(r stream.Receiver) (stream.ClientStream, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, stream.ErrPoolClosed
	}
	var cc *clientConn
	if len(p.conns) < p.cfg.Conns {
		// Dialing only makes the connection (it connects in the
		// background), so it happens under the lock: callers that arrive
		// together must not each open one.
		var err error
		if cc, err = p.dial(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.conns = append(p.conns, cc)
	} else {
		p.next = (p.next + 1) % len(p.conns)
		cc = p.conns[p.next]
	}
	st := cc.newStream(r)
	p.mu.Unlock()
	return st, nil
}

// dial makes a connection and starts connecting it. p.mu is held.
func (p *Pool) dial() (*clientConn, error) {
	conn, timeout, err := p.opts.Dial()
	if err != nil {
		return nil, err
	}
	cc := &clientConn{pool: p, conn: conn, streams: make(map[uint64]*ClientStream)}
	conn.AddReadFilter(cc)
	conn.AddEventListener(cc)
	cc.mu.Lock()
	cc.hb = time.AfterFunc(p.cfg.HeartbeatInterval, cc.onIdle)
	cc.mu.Unlock()
	conn.Connect(timeout)
	return cc, nil
}

// retire takes cc out of rotation. p.mu is held.
func (p *Pool) retireLocked(cc *clientConn) {
	for i, c := range p.conns {
		if c == cc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

// Close closes idle connections now and the others when their last
// answer arrives; later NewStream calls fail.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, cc := range conns {
		cc.drain()
	}
}

// Conns is the number of connections taking requests.
func (p *Pool) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// clientConn is one multiplexed upstream connection.
type clientConn struct {
	pool  *Pool
	conn  *network.Conn
	frame rpc.Frame // decoded into on the read goroutine
	hb    *time.Timer
	read  atomic.Bool // something arrived since the last heartbeat check

	mu        sync.Mutex
	streams   map[uint64]*ClientStream
	nextID    uint64
	requests  int
	hbPending bool // a heartbeat went out with nothing read since
	hbSent    time.Time
	draining  bool // no new requests; close when streams is empty
	closed    bool
	failed    bool // it never connected
}

// newStream registers a request under a fresh id. cc.pool.mu is held.
func (cc *clientConn) newStream(r stream.Receiver) *ClientStream {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	max := cc.pool.codec.MaxID()
	for {
		cc.nextID++
		if cc.nextID > max {
			cc.nextID = 1
		}
		if _, busy := cc.streams[cc.nextID]; !busy {
			break
		}
	}
	st := &ClientStream{cc: cc, id: cc.nextID, receiver: r}
	if cc.closed {
		st.dead = true // reported by SendHeaders, once the caller holds st
		return st
	}
	cc.streams[st.id] = st
	cc.requests++
	if m := cc.pool.opts.MaxRequestsPerConn; m > 0 && cc.requests >= m {
		cc.draining = true
		cc.pool.retireLocked(cc)
	}
	return st
}

// take removes and returns the stream of id.
func (cc *clientConn) take(id uint64) *ClientStream {
	cc.mu.Lock()
	st := cc.streams[id]
	if st != nil {
		delete(cc.streams, id)
	}
	closeNow := cc.draining && len(cc.streams) == 0
	cc.mu.Unlock()
	if closeNow {
		cc.conn.Close(network.CloseFlush)
	}
	return st
}

// drain closes cc once its requests are answered.
func (cc *clientConn) drain() {
	cc.mu.Lock()
	cc.draining = true
	empty := len(cc.streams) == 0
	cc.mu.Unlock()
	if empty {
		cc.conn.Close(network.CloseFlush)
	}
}

// onIdle runs every heartbeat interval: a connection that read nothing
// sends a heartbeat, and one that read nothing for HeartbeatTimeout after
// it closes.
func (cc *clientConn) onIdle() {
	if cc.read.Swap(false) {
		cc.mu.Lock()
		cc.hbPending = false
		if !cc.closed {
			cc.hb.Reset(cc.pool.cfg.HeartbeatInterval)
		}
		cc.mu.Unlock()
		return
	}
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	if cc.hbPending && time.Since(cc.hbSent) < cc.pool.cfg.HeartbeatTimeout {
		cc.hb.Reset(cc.pool.cfg.HeartbeatInterval)
		cc.mu.Unlock()
		return
	}
	if cc.hbPending {
		cc.mu.Unlock()
		logger.Warn("upstream connection did not answer a heartbeat; closing", "protocol", cc.pool.codec.Name(), "conn", cc.conn.ID())
		cc.conn.Close(network.CloseNoFlush)
		return
	}
	cc.hbPending = true
	cc.hbSent = time.Now()
	cc.nextID++
	if cc.nextID > cc.pool.codec.MaxID() {
		cc.nextID = 1
	}
	id := cc.nextID
	cc.hb.Reset(cc.pool.cfg.HeartbeatInterval)
	cc.mu.Unlock()
	cc.conn.Write(cc.pool.codec.EncodeHeartbeat(id))
}

// OnNewConnection implements network.ReadFilter.
func (cc *clientConn) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decodes responses and hands each to the request with its id.
func (cc *clientConn) OnData(_ *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	if buf.Len() > 0 {
		cc.read.Store(true)
	}
	for {
		n, err := cc.pool.codec.Decode(buf.Bytes(), &cc.frame, cc.pool.limits)
		if err == rpc.ErrNeedMore {
			if end {
				buf.Drain(buf.Len())
				cc.conn.Close(network.CloseNoFlush)
			}
			return network.Stop
		}
		if err != nil {
			logger.Warn("closing upstream connection on a bad frame", "protocol", cc.pool.codec.Name(), "conn", cc.conn.ID(), "err", err)
			cc.fail(stream.ResetProtocolError)
			buf.Drain(buf.Len())
			cc.conn.Close(network.CloseNoFlush)
			return network.Stop
		}
		f := &cc.frame
		switch f.Kind {
		case rpc.KindResponse:
			if st := cc.take(f.ID); st != nil {
				st.deliver(f)
			}
		case rpc.KindHeartbeat:
			cc.conn.Write(cc.pool.codec.EncodeHeartbeatAck(f))
		}
		buf.Drain(n)
	}
}

// fail resets every request on cc with reason.
func (cc *clientConn) fail(reason stream.ResetReason) {
	cc.mu.Lock()
	streams := cc.streams
	cc.streams = map[uint64]*ClientStream{}
	cc.mu.Unlock()
	for _, st := range streams {
		st.receiver.OnReset(reason)
	}
}

// OnEvent implements network.EventListener.
func (cc *clientConn) OnEvent(_ *network.Conn, e network.Event) {
	if !e.IsClose() {
		return
	}
	reason := stream.ResetConnectionClosed
	cc.mu.Lock()
	cc.hb.Stop()
	cc.closed = true
	if e == network.EventConnectFailed || e == network.EventConnectTimeout {
		cc.failed = true
		reason = stream.ResetConnectFailure
	}
	cc.mu.Unlock()
	p := cc.pool
	p.mu.Lock()
	p.retireLocked(cc)
	p.mu.Unlock()
	cc.fail(reason)
}

// ClientStream is one request on a multiplexed upstream connection.
type ClientStream struct {
	cc       *clientConn
	id       uint64
	receiver stream.Receiver
	head     protocol.Headers // copied by SendHeaders, encoded when the request ends
	body     *network.Buffer
	sent     bool
	dead     bool // its connection had closed when it was made
}

var _ stream.ClientStream = (*ClientStream)(nil)

// ID is the request id on the upstream connection.
func (st *ClientStream) ID() uint64 { return st.id }

// Conn is the upstream connection.
func (st *ClientStream) Conn() *network.Conn { return st.cc.conn }

// SendHeaders takes the request head; the request is encoded and written
// when it ends.
func (st *ClientStream) SendHeaders(h *protocol.Headers, endStream bool) error {
	st.head.CopyFrom(h)
	if endStream {
		return st.send()
	}
	return nil
}

// SendData gathers the request body.
func (st *ClientStream) SendData(data *network.Buffer, endStream bool) error {
	if st.sent {
		if data != nil {
			data.Release()
		}
		return nil
	}
	if appendBody(&st.body, data, st.cc.pool.limits.OrDefault().MaxFrameBytes) {
		// A body from another protocol (an HTTP upload) larger than one
		// frame may be: the request cannot be sent.
		st.Reset()
		go st.receiver.OnReset(stream.ResetLocal)
		return rpc.ErrTooLarge
	}
	if endStream {
		return st.send()
	}
	return nil
}

// SendTrailers ends the request; RPC protocols carry no trailers.
func (st *ClientStream) SendTrailers(*protocol.Headers) error { return st.send() }

func (st *ClientStream) send() error {
	if st.sent {
		return nil
	}
	st.sent = true
	body := st.body
	st.body = nil
	if st.dead {
		if body != nil {
			body.Release()
		}
		go st.receiver.OnReset(stream.ResetConnectionClosed)
		return network.ErrClosed
	}
	oneway := false
	if v, ok := st.head.Get(rpc.HeaderOneway); ok && string(v) == "1" {
		oneway = true
	}
	err := st.cc.conn.Write(st.cc.pool.codec.EncodeRequest(st.id, &st.head, body)...)
	if oneway {
		// Nothing will answer: end the exchange now, off the caller's
		// goroutine, as the receiver takes the caller's lock.
		if st.cc.take(st.id) == st {
			go st.onewayDone()
		}
	}
	return err
}

func (st *ClientStream) onewayDone() {
	var h protocol.Headers
	h.AddString(protocol.Status, "200")
	h.AddString(rpc.HeaderOneway, "1")
	st.receiver.OnHeaders(&h, true)
}

// deliver hands the response in f to the receiver.
func (st *ClientStream) deliver(f *rpc.Frame) {
	if len(f.Body) == 0 {
		st.receiver.OnHeaders(&f.Headers, true)
		return
	}
	st.receiver.OnHeaders(&f.Headers, false)
	st.receiver.OnData(f.Body, true)
}

// ReadDisable does nothing: the connection is shared (package doc).
func (st *ClientStream) ReadDisable(bool) {}

// Reset forgets the request; its answer, if one comes, is dropped.
func (st *ClientStream) Reset() {
	if st.body != nil {
		st.body.Release()
		st.body = nil
	}
	st.sent = true
	st.cc.take(st.id)
}

// Unprocessed reports that the request's connection never connected.
func (st *ClientStream) Unprocessed() bool {
	st.cc.mu.Lock()
	defer st.cc.mu.Unlock()
	return st.cc.failed
}
