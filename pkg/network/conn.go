package network

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/hwaccel"
)

// ErrClosed is returned by writes to a closed or write-shut connection.
var ErrClosed = errors.New("connection closed")

const (
	readSize      = 16 << 10 // the buffer a read starts with
	minReadSpace  = 4 << 10  // free room a read wants after unconsumed bytes
	maxIovecs     = 64       // buffers one writev sends at most
	flushDeadline = 5 * time.Second
)

// CloseMode says what happens to bytes still waiting to be written.
type CloseMode uint8

const (
	// CloseNoFlush drops them and closes at once.
	CloseNoFlush CloseMode = iota
	// CloseFlush writes them first (for at most a few seconds), then closes.
	CloseFlush
)

type connState uint8

const (
	stateConnecting connState = iota
	stateOpen
	stateClosed
)

// Options configure a connection. The zero value is usable.
type Options struct {
	// BufferLimit is the number of bytes waiting to be written above which
	// EventWriteBufferHigh fires. 0 means no limit.
	BufferLimit int
	// IdleTimeout closes the connection when nothing has been read or
	// written for this long. 0 means never.
	IdleTimeout time.Duration
	// Stats receives byte counts; nil means none.
	Stats *IOStats
	// Model drives reads; nil means the goroutine-per-connection model.
	Model IOModel
	// Logger is the component logger; nil means slog.Default().
	Logger *slog.Logger
}

// IOStats counts bytes moved by a set of connections. Safe for concurrent use.
type IOStats struct {
	BytesRead    atomic.Int64
	BytesWritten atomic.Int64
	// BytesBuffered is a gauge: bytes queued for writing and not yet written,
	// what back-pressure bounds.
	BytesBuffered atomic.Int64
}

// pendingWrite is a span queued for writing and the buffer it belongs to.
type pendingWrite struct {
	p     []byte
	owner *Buffer
}

var connIDs atomic.Uint64

// Conn is one TCP connection with its filter chains. Reads are delivered to
// the read filters by the connection's IOModel; writes may come from any
// goroutine and are sent with one writev per batch, in order.
//
// Writes never block the caller: a write goes out at once when the socket has
// room, and otherwise waits in a queue that a background flush drains. The
// queued size is reported with EventWriteBufferHigh/Low so that producers can
// pause, which is how back-pressure crosses from one connection to another.
type Conn struct {
	id     uint64
	opts   Options
	log    *slog.Logger
	model  IOModel
	loop   *eventLoop // the event loop reading this connection; nil under other models
	pio    hwaccel.PacketIO
	remote string // dial target of a client connection

	nc  net.Conn
	raw syscall.RawConn // nil when nc has no socket of its own (TLS, pipes)

	readFilters  []ReadFilter  // set before Start
	writeFilters []WriteFilter // set before Start
	halfClose    bool          // set before Start

	// Read side, owned by the reading goroutine.
	rbuf       *Buffer
	rerr       error
	readFn     func(fd uintptr) bool
	lastActive atomic.Int64 // unix nanoseconds; kept only with an idle timeout
	rdisable   atomic.Int32
	reading    atomic.Bool // a read goroutine runs (between Start and its end)
	resume     chan struct{}
	done       chan struct{} // closed when the connection closes
	lp         loopState     // owned by the event loop, under EventLoopModel

	// Write side.
	mu           sync.Mutex
	state        connState
	listeners    []EventListener // copy-on-write
	pending      []pendingWrite
	pendingBytes atomic.Int64
	writing      bool // a flush is in progress; only its goroutine writes
	flushClose   bool // close once the queue is empty
	flushShut    bool // shut the write side once the queue is empty
	readShut     bool // the peer finished sending
	writeShut    bool // we finished sending
	onClose      func(*Conn)

	// Owned by the goroutine that holds writing.
	iov       []syscall.Iovec
	nbufs     net.Buffers
	wn        int
	werr      error
	wblocking bool
	writeFn   func(fd uintptr) bool

	wmMu      sync.Mutex
	aboveHigh bool
}

var errWouldBlock = errors.New("would block")

func newConn(opts Options) *Conn {
	c := &Conn{
		id:     connIDs.Add(1),
		opts:   opts,
		log:    opts.Logger,
		model:  opts.Model,
		resume: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.useModel(c.model)
	c.lp.slot = -1
	c.readFn = c.readFd
	c.writeFn = c.writevFd
	return c
}

// NewServerConn wraps an accepted connection. Add filters and listeners, then
// call Start.
func NewServerConn(nc net.Conn, opts Options) *Conn {
	c := newConn(opts)
	c.setNetConn(nc)
	c.state = stateOpen
	return c
}

// NewClientConn makes a connection to address that connects when Connect is
// called, through pio (nil means the kernel's sockets).
func NewClientConn(address string, pio hwaccel.PacketIO, opts Options) *Conn {
	c := newConn(opts)
	c.remote = address
	c.pio = pio
	if c.pio == nil {
		c.pio = hwaccel.Kernel{}
	}
	return c
}

func (c *Conn) setNetConn(nc net.Conn) {
	c.nc = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	if c.opts.IdleTimeout > 0 {
		c.touch()
	}
}

// useModel sets the model that will drive c's reads. Under EventLoopModel
// that is one of its loops, chosen now.
func (c *Conn) useModel(m IOModel) {
	c.loop = nil
	switch m := m.(type) {
	case nil:
		c.model = GoroutineModel{}
	case *EventLoopModel:
		if c.loop = m.pick(); c.loop != nil {
			c.model = c.loop
		} else {
			c.model = GoroutineModel{}
		}
	case *eventLoop:
		c.loop, c.model = m, m
	default:
		c.model = m
	}
}

// IOModel is the model that drives c's reads: under EventLoopModel, the one
// loop c is on. A connection made with it in its Options joins that loop.
func (c *Conn) IOModel() IOModel { return c.model }

// SetAffinity puts c on the same event loop as peer when both are under
// EventLoopModel (a proxy's upstream connection next to the downstream one
// that made it, so that a request and its response are served by one
// goroutine); otherwise it does nothing. Call before Start or Connect.
func (c *Conn) SetAffinity(peer *Conn) {
	if c.loop != nil && peer.loop != nil {
		c.useModel(peer.loop)
	}
}

// ID is unique among the process's connections.
func (c *Conn) ID() uint64 { return c.id }

// LocalAddr is the local address, nil before a client connection connects.
func (c *Conn) LocalAddr() net.Addr {
	if c.nc == nil {
		return nil
	}
	return c.nc.LocalAddr()
}

// RemoteAddr is the peer's address, nil before a client connection connects.
func (c *Conn) RemoteAddr() net.Addr {
	if c.nc == nil {
		return nil
	}
	return c.nc.RemoteAddr()
}

// SetIdleTimeout replaces the idle timeout given in Options. Call before
// Start or Connect.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.opts.IdleTimeout = d
	if d > 0 {
		c.touch()
	}
}

// AddReadFilter appends f to the read chain. Call before Start, or from a
// read filter's OnData on the read goroutine: a filter added then is offered
// the same bytes in the same pass (its OnNewConnection is not called). That
// is how a protocol sniffer hands the connection to the protocol it found.
func (c *Conn) AddReadFilter(f ReadFilter) { c.readFilters = append(c.readFilters, f) }

// AddWriteFilter appends f to the write chain. Call before Start.
func (c *Conn) AddWriteFilter(f WriteFilter) { c.writeFilters = append(c.writeFilters, f) }

// EnableHalfClose makes the end of the peer's data an event for the read
// filters (endStream) instead of a close: the connection stays open for
// writing until CloseWrite, and closes when both directions are done. Call
// before Start.
func (c *Conn) EnableHalfClose() { c.halfClose = true }

// AddEventListener registers l for this connection's events. Safe at any
// time; a listener added after the connection closed is never called.
func (c *Conn) AddEventListener(l EventListener) {
	c.mu.Lock()
	ls := make([]EventListener, len(c.listeners), len(c.listeners)+1)
	copy(ls, c.listeners)
	c.listeners = append(ls, l)
	c.mu.Unlock()
}

// PendingBytes is the number of bytes queued and not yet written.
func (c *Conn) PendingBytes() int { return int(c.pendingBytes.Load()) }

// Closed reports whether the connection has closed.
func (c *Conn) Closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Done is closed when the connection closes.
func (c *Conn) Done() <-chan struct{} { return c.done }

func (c *Conn) fire(e Event) {
	c.mu.Lock()
	ls := c.listeners
	c.mu.Unlock()
	for _, l := range ls {
		l.OnEvent(c, e)
	}
}

// Start runs the read filters' OnNewConnection and begins reading.
func (c *Conn) Start() {
	c.reading.Store(true)
	c.model.Start(c)
}

// Connect dials in the background. The outcome is EventConnected, after
// which reading starts, or EventConnectFailed/EventConnectTimeout.
func (c *Conn) Connect(timeout time.Duration) {
	go c.connect(timeout)
}

func (c *Conn) connect(timeout time.Duration) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := c.pio.Dial(ctx, c.remote)
	if err != nil {
		ev := EventConnectFailed
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			ev = EventConnectTimeout
		}
		c.log.Debug("connect failed", "conn", c.id, "address", c.remote, "err", err)
		c.closeWith(ev)
		return
	}
	c.mu.Lock()
	if c.state == stateClosed { // closed while connecting
		c.mu.Unlock()
		nc.Close()
		return
	}
	c.setNetConn(nc)
	c.state = stateOpen
	flush := len(c.pending) > 0 && !c.writing
	c.writing = c.writing || flush
	c.mu.Unlock()
	c.fire(EventConnected)
	if flush {
		c.flush(false)
	}
	c.Start()
}

// SetReadDisable pauses (true) or resumes (false) reading. Calls nest: reading
// resumes when every pause has been matched by a resume.
func (c *Conn) SetReadDisable(disable bool) {
	if disable {
		c.rdisable.Add(1)
		return
	}
	n := c.rdisable.Add(-1)
	if n < 0 {
		panic("network: SetReadDisable(false) without a matching pause")
	}
	if n == 0 {
		if c.loop != nil {
			c.loop.kick(c)
		}
		select {
		case c.resume <- struct{}{}:
		default:
		}
	}
}

// ReadDisabled reports whether reading is paused.
func (c *Conn) ReadDisabled() bool { return c.rdisable.Load() > 0 }

// waitReadable blocks while reading is paused; false means the connection
// closed meanwhile. Bytes that were read but not consumed before the pause
// are offered to the filters again on resume: a filter that pauses reading
// until it can take more (an HTTP/1 server between pipelined requests)
// finds them there without waiting for new bytes.
func (c *Conn) waitReadable() bool {
	for {
		if c.Closed() {
			return false
		}
		paused := false
		for c.rdisable.Load() > 0 {
			paused = true
			select {
			case <-c.resume:
			case <-c.done:
				return false
			}
		}
		if !paused || c.rbuf == nil || c.rbuf.Len() == 0 {
			return true
		}
		c.deliver(false)
	}
}

func (c *Conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// newConnection runs OnNewConnection over the read chain.
func (c *Conn) newConnection() {
	for _, f := range c.readFilters {
		if f.OnNewConnection(c) == Stop {
			return
		}
	}
}

// readAndDeliver reads and hands what arrives to the read filters until
// reading is paused, the peer finishes, or an error (a deadline, a close)
// ends it. Buffers are taken only once data has arrived, so an idle
// connection holds none.
func (c *Conn) readAndDeliver() error {
	if c.raw != nil {
		c.rerr = nil
		if err := c.raw.Read(c.readFn); err != nil {
			return err
		}
		return c.rerr
	}
	c.reserveRead()
	n, err := c.nc.Read(c.rbuf.spare())
	if n > 0 {
		c.received(n)
	}
	return err
}

func (c *Conn) reserveRead() {
	if c.rbuf == nil {
		c.rbuf = GetBuffer(readSize)
	} else {
		c.rbuf.Reserve(minReadSpace)
	}
}

// received counts n bytes just read into the buffer and delivers them.
func (c *Conn) received(n int) {
	c.rbuf.commit(n)
	if c.opts.Stats != nil {
		c.opts.Stats.BytesRead.Add(int64(n))
	}
	if c.opts.IdleTimeout > 0 {
		c.touch()
	}
	c.deliver(false)
}

// readFd runs inside the runtime poller's RawConn.Read with the socket;
// returning false means "wait until readable and call again". It reads until
// EAGAIN even after a short read: the peer's FIN may have come with the last
// data, and the edge-triggered poller would not report it again.
func (c *Conn) readFd(fd uintptr) bool {
	for {
		if c.rdisable.Load() > 0 || c.Closed() {
			return true // go back to the read loop, which waits
		}
		c.reserveRead()
		n, err := syscall.Read(int(fd), c.rbuf.spare())
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.dropEmptyReadBuffer()
			return false
		case err != nil:
			c.rerr = err
			return true
		case n == 0:
			c.rerr = io.EOF
			return true
		}
		c.received(n)
	}
}

func (c *Conn) dropEmptyReadBuffer() {
	if c.rbuf != nil && c.rbuf.Len() == 0 {
		c.rbuf.Release()
		c.rbuf = nil
	}
}

// deliver offers the read buffer to the read filters.
func (c *Conn) deliver(endStream bool) {
	if c.rbuf == nil {
		c.rbuf = GetBuffer(0)
	}
	buf := c.rbuf
	// By index: a filter may append another one (AddReadFilter).
	for i := 0; i < len(c.readFilters); i++ {
		if c.readFilters[i].OnData(c, buf, endStream) == Stop {
			break
		}
	}
	switch {
	case buf.Len() == 0:
		buf.Release()
		c.rbuf = nil
	case buf.Shared():
		// A writer still holds these bytes: keep the unconsumed rest in a
		// buffer of our own rather than append next to theirs.
		rest := GetBuffer(max(buf.Len(), readSize))
		rest.Append(buf.Bytes())
		buf.Release()
		c.rbuf = rest
	}
}

// serve is the read loop of the goroutine-per-connection model.
func (c *Conn) serve() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("connection handler panicked; closing", "conn", c.id, "panic", r)
			c.closeWith(EventLocalClose)
		}
		if c.rbuf != nil {
			c.rbuf.Release()
			c.rbuf = nil
		}
		// A close while we were reading left the socket to us (closeWith).
		c.reading.Store(false)
		if c.Closed() {
			c.nc.Close()
		}
	}()
	c.newConnection()
	if c.opts.IdleTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(c.opts.IdleTimeout))
	}
	for c.waitReadable() {
		err := c.readAndDeliver()
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && c.stillActive() {
			continue
		}
		c.readFailed(err)
		return
	}
}

// stillActive re-arms the idle deadline when something was written since it
// was set (the connection is not idle), and reports whether it did.
func (c *Conn) stillActive() bool {
	idleSince := time.Unix(0, c.lastActive.Load())
	if time.Since(idleSince) >= c.opts.IdleTimeout {
		return false
	}
	c.nc.SetReadDeadline(idleSince.Add(c.opts.IdleTimeout))
	return true
}

// readFailed handles the end of reading: the peer finished, reset, went
// idle, or the connection was closed locally.
func (c *Conn) readFailed(err error) {
	switch {
	case c.Closed():
	case errors.Is(err, io.EOF):
		c.deliver(true)
		if !c.halfClose {
			c.closeWith(EventRemoteClose)
			return
		}
		c.mu.Lock()
		c.readShut = true
		both := c.writeShut
		c.mu.Unlock()
		if both {
			c.closeWith(EventRemoteClose)
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("idle timeout", "conn", c.id, "timeout", c.opts.IdleTimeout)
		c.fire(EventIdleTimeout)
		c.Close(CloseFlush)
	default:
		c.log.Debug("read failed", "conn", c.id, "err", err)
		c.closeWith(EventRemoteClose)
	}
}

// Write queues bufs, taking over one reference of each, and sends them as
// soon as the socket takes them. It never blocks. On a closed connection the
// buffers are released and ErrClosed is returned.
func (c *Conn) Write(bufs ...*Buffer) error {
	if len(c.writeFilters) > 0 {
		bufs = c.filterWrites(bufs)
	}
	c.mu.Lock()
	if c.state == stateClosed || c.flushShut || c.flushClose {
		c.mu.Unlock()
		for _, b := range bufs {
			b.Release()
		}
		return ErrClosed
	}
	var n int64
	for _, b := range bufs {
		if b.Len() == 0 {
			b.Release()
			continue
		}
		c.pending = append(c.pending, pendingWrite{p: b.Bytes(), owner: b})
		n += int64(b.Len())
	}
	c.addPending(n)
	if c.writing || c.state == stateConnecting {
		c.mu.Unlock()
		c.checkWatermark()
		return nil
	}
	c.writing = true
	c.mu.Unlock()
	if c.raw == nil {
		go c.flush(true)
	} else {
		c.flush(false)
	}
	return nil
}

// filterWrites runs the write filters over bufs, in place, and returns the
// buffers that are still to be written.
func (c *Conn) filterWrites(bufs []*Buffer) []*Buffer {
	kept := bufs[:0]
next:
	for _, b := range bufs {
		for _, f := range c.writeFilters {
			if f.OnWrite(c, b) == Stop {
				continue next
			}
		}
		kept = append(kept, b)
	}
	return kept
}

// flush writes the queue until it is empty. The caller holds c.writing.
// Without blocking, a full socket hands the rest to a background flush.
func (c *Conn) flush(blocking bool) {
	for {
		c.mu.Lock()
		if c.state == stateClosed {
			c.releasePendingLocked()
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.pending) == 0 {
			c.writing = false
			closeNow, shut := c.flushClose, c.flushShut && !c.writeShut
			c.mu.Unlock()
			c.checkWatermark()
			switch {
			case closeNow:
				c.closeWith(EventLocalClose)
			case shut:
				c.shutdownWrite()
			}
			return
		}
		c.prepareWrite()
		c.mu.Unlock()

		n, err := c.writeOut(blocking)
		if n > 0 {
			if c.opts.Stats != nil {
				c.opts.Stats.BytesWritten.Add(int64(n))
			}
			if c.opts.IdleTimeout > 0 {
				c.touch()
			}
			c.mu.Lock()
			c.consumeLocked(n)
			c.mu.Unlock()
			c.checkWatermark()
		}
		switch {
		case err == errWouldBlock:
			go c.flush(true)
			return
		case err != nil:
			c.log.Debug("write failed", "conn", c.id, "err", err)
			c.mu.Lock()
			c.writing = false
			c.releasePendingLocked()
			c.mu.Unlock()
			c.closeWith(EventRemoteClose)
			return
		}
	}
}

// prepareWrite gathers the head of the queue for one writev. c.mu is held.
func (c *Conn) prepareWrite() {
	k := min(len(c.pending), maxIovecs)
	if c.raw == nil {
		c.nbufs = c.nbufs[:0]
		for _, w := range c.pending[:k] {
			c.nbufs = append(c.nbufs, w.p)
		}
		return
	}
	c.iov = c.iov[:0]
	for _, w := range c.pending[:k] {
		v := syscall.Iovec{Base: &w.p[0]}
		v.SetLen(len(w.p))
		c.iov = append(c.iov, v)
	}
}

func (c *Conn) writeOut(blocking bool) (int, error) {
	if c.raw == nil {
		n, err := c.nbufs.WriteTo(c.nc)
		return int(n), err
	}
	c.wn, c.werr, c.wblocking = 0, nil, blocking
	if err := c.raw.Write(c.writeFn); err != nil {
		return 0, err
	}
	return c.wn, c.werr
}

// writevFd is called by the runtime poller with the socket; returning false
// means "wait until writable and call again".
func (c *Conn) writevFd(fd uintptr) bool {
	for {
		n, err := writev(fd, c.iov)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if c.wblocking {
				return false
			}
			c.werr = errWouldBlock
		case err != nil:
			c.werr = err
		default:
			c.wn = n
		}
		return true
	}
}

// consumeLocked drops n written bytes from the head of the queue.
// addPending adjusts the queued byte count and its gauge.
func (c *Conn) addPending(n int64) {
	c.pendingBytes.Add(n)
	if c.opts.Stats != nil {
		c.opts.Stats.BytesBuffered.Add(n)
	}
}

func (c *Conn) consumeLocked(n int) {
	c.addPending(-int64(n))
	i := 0
	for ; i < len(c.pending) && n >= len(c.pending[i].p); i++ {
		n -= len(c.pending[i].p)
		c.pending[i].owner.Release()
		c.pending[i] = pendingWrite{}
	}
	if i < len(c.pending) {
		c.pending[i].p = c.pending[i].p[n:]
	}
	rest := copy(c.pending, c.pending[i:])
	clear(c.pending[rest:])
	c.pending = c.pending[:rest]
}

func (c *Conn) releasePendingLocked() {
	for i := range c.pending {
		c.pending[i].owner.Release()
		c.pending[i] = pendingWrite{}
	}
	c.pending = c.pending[:0]
	c.addPending(-c.pendingBytes.Load())
}

// checkWatermark fires EventWriteBufferHigh/Low when the queue crosses the
// limit or half of it. Deciding under wmMu from the current size keeps the
// two events alternating even when writers race.
func (c *Conn) checkWatermark() {
	limit := int64(c.opts.BufferLimit)
	if limit <= 0 {
		return
	}
	c.wmMu.Lock()
	defer c.wmMu.Unlock()
	pending := c.pendingBytes.Load()
	switch {
	case !c.aboveHigh && pending > limit:
		c.aboveHigh = true
		c.fire(EventWriteBufferHigh)
	case c.aboveHigh && pending <= limit/2:
		c.aboveHigh = false
		c.fire(EventWriteBufferLow)
	}
}

// CloseWrite sends FIN once the queued bytes are written (TCP half-close).
// Later writes fail with ErrClosed.
func (c *Conn) CloseWrite() {
	c.mu.Lock()
	if c.state != stateOpen || c.flushShut {
		c.mu.Unlock()
		return
	}
	c.flushShut = true
	now := !c.writing && len(c.pending) == 0
	c.mu.Unlock()
	if now {
		c.shutdownWrite()
	}
}

func (c *Conn) shutdownWrite() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.mu.Lock()
	c.writeShut = true
	both := c.readShut || !c.halfClose
	c.mu.Unlock()
	if both {
		c.closeWith(EventLocalClose)
	}
}

// Close closes the connection. With CloseFlush, queued bytes are written
// first, for at most a few seconds; reading stops at once either way.
func (c *Conn) Close(mode CloseMode) {
	if mode == CloseFlush {
		c.mu.Lock()
		if c.state == stateOpen && (c.writing || len(c.pending) > 0) {
			c.flushClose = true
			c.mu.Unlock()
			c.SetReadDisable(true)
			c.nc.SetWriteDeadline(time.Now().Add(flushDeadline))
			return
		}
		c.mu.Unlock()
	}
	c.closeWith(EventLocalClose)
}

// closeWith closes the connection now and reports ev (once).
func (c *Conn) closeWith(ev Event) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.state = stateClosed
	if !c.writing {
		c.releasePendingLocked()
	}
	onClose, nc := c.onClose, c.nc
	c.mu.Unlock()
	close(c.done)
	switch {
	case nc == nil:
	case c.loop != nil && c.raw != nil:
		// Out of the epoll set before the descriptor is closed.
		c.loop.detach(c)
	case c.raw != nil && c.reading.Load():
		// The read goroutine may be inside the poller's RawConn.Read —
		// perhaps this very call comes from its filters — and closing the
		// socket would wait for that read to return. Shut the socket down
		// instead, which wakes the reader, and let it close the socket on
		// its way out.
		c.raw.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
	default:
		nc.Close()
	}
	c.fire(ev)
	if onClose != nil {
		onClose(c)
	}
}
