package http2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// The client connection preface (RFC 9113 3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// What this side advertises and how it manages its receive windows.
const (
	// maxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS a server
	// connection advertises.
	maxConcurrentStreams = 2048
	// streamWindow is the SETTINGS_INITIAL_WINDOW_SIZE this side
	// advertises: how much a read-disabled stream may still receive.
	streamWindow = 256 << 10
	// connWindow is the connection receive window. Received bytes are
	// credited back at once, so it bounds only what is in flight.
	connWindow = 16 << 20
	// maxReadFrame is the largest frame accepted (the default
	// SETTINGS_MAX_FRAME_SIZE, which is not raised).
	maxReadFrame = 16 << 10
	// streamBufferLimit is how much DATA a stream may hold waiting for the
	// peer's credit before its Watermarks say high.
	streamBufferLimit = 256 << 10
	// initialPeerStreams is the peer's concurrency assumed until its
	// SETTINGS arrive.
	initialPeerStreams = 100
	// maxContinuations bounds the CONTINUATION frames of one header block.
	maxContinuations = 64
	// rapidResets: a client that has reset more than this many streams,
	// and more than half of those it opened, is sent GOAWAY.
	rapidResets = 512
	// maxPendingControl: PING and SETTINGS are not answered while more
	// than this is waiting to be written to the peer.
	maxPendingControl = 4 << 20
)

// Errors from Send methods and NewStream.
var (
	// ErrStreamClosed: the stream was reset or has finished sending.
	ErrStreamClosed = errors.New("http2: stream closed")
	// ErrConnClosed: the connection is closed or going away.
	ErrConnClosed = errors.New("http2: connection closed")
)

// Conn is one HTTP/2 connection on a network.Conn, server side (a
// downstream client) or client side (an upstream host). It is the
// connection's read filter and event listener.
type Conn struct {
	nc      *network.Conn
	server  bool
	limits  stream.Limits
	handler stream.ServerHandler // server side
	pool    *Pool                // client side

	// Read side: the read goroutine only.
	fr            *http2.Framer
	src           frameSource
	hdec          *hpack.Decoder
	dec           headerDecoder
	scratch       protocol.Headers // stands for a block nobody will receive
	work          protocol.Headers // where blocks are decoded
	block         []byte           // a header block across CONTINUATION frames
	blockID       uint32
	blockEnd      bool // the HEADERS frame had END_STREAM
	prefaceSeen   bool // server: the client preface has arrived
	settingsIn    bool // the peer's first SETTINGS has arrived
	flushList     []*Stream
	continuations int // CONTINUATION frames of the block being assembled
	opened        int // server: streams the peer opened
	peerResets    int // server: streams the peer reset before their end
	// recentResets are the last streams this side reset: frames the peer
	// sent before it knew are ignored (RFC 9113 5.4.2), not errors.
	recentResets [16]uint32
	resetNext    int
	lastRead     atomic.Int64 // unix nanoseconds of the last read

	// mu guards everything below and the send-side and window state of
	// every stream. It is never held while calling a receiver or writing
	// to nc.
	mu             sync.Mutex
	streams        map[uint32]*Stream
	unsent         map[*Stream]struct{} // client: reserved, HEADERS not yet sent
	open           int                  // streams reserved or in streams
	nextID         uint32               // client: the next stream id
	lastPeer       uint32               // server: the highest stream id the peer opened
	requests       int                  // client: streams ever started
	fw             *http2.Framer
	henc           *encoder
	hbuf           bytes.Buffer
	wbuf           *network.Buffer   // small frames being gathered
	batch          []*network.Buffer // frames waiting for the flusher
	spare          []*network.Buffer
	flushing       bool
	flushDue       bool // a goroutine is about to flush
	closed         bool
	gone           bool   // streams were removed since c.mu was taken
	goingAway      bool   // we sent GOAWAY or were told to: no new streams
	goAwaySent     bool   // a GOAWAY frame has been queued
	goAwayRecv     bool   // the peer sent GOAWAY
	peerLastID     uint32 // its last-stream-id
	sendWindow     int64  // the peer's connection window
	recvWindow     int64  // what the peer may still send on the connection
	recvUnacked    int64  // received and not yet credited back
	peerMaxFrame   int
	peerInitial    int64
	peerMaxStreams int
	blocked        []*Stream // waiting for connection credit
	netHigh        bool      // nc's write queue is above its limit
	pingOut        bool      // client: a keepalive PING awaits its ACK
	pingSent       time.Time
	keepalive      *time.Timer
}

var (
	_ network.ReadFilter    = (*Conn)(nil)
	_ network.EventListener = (*Conn)(nil)
)

// frameSource hands the Framer the one frame it is to parse.
type frameSource struct{ p []byte }

func (s *frameSource) Read(b []byte) (int, error) {
	if len(s.p) == 0 {
		return 0, errors.New("http2: frame source empty")
	}
	n := copy(b, s.p)
	s.p = s.p[n:]
	return n, nil
}

// frameSink gathers what the Framer writes in the connection's batch.
type frameSink struct{ c *Conn }

func (s frameSink) Write(p []byte) (int, error) {
	s.c.wbufFor(len(p)).Append(p)
	return len(p), nil
}

func newConn(nc *network.Conn, server bool, limits stream.Limits) *Conn {
	if limits.MaxHeaderBytes <= 0 {
		limits.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	c := &Conn{
		nc:             nc,
		server:         server,
		limits:         limits,
		streams:        make(map[uint32]*Stream),
		sendWindow:     65535,
		recvWindow:     connWindow,
		peerMaxFrame:   16 << 10,
		peerInitial:    65535,
		peerMaxStreams: initialPeerStreams,
		nextID:         1,
	}
	c.fr = http2.NewFramer(nil, &c.src)
	c.fr.SetMaxReadFrameSize(maxReadFrame)
	c.hdec = hpack.NewDecoder(4096, c.dec.emit)
	// No string limit of its own: a block is bounded by the CONTINUATION
	// check, and fields over MaxHeaderBytes are answered 431, not treated
	// as a compression error.
	c.fw = http2.NewFramer(frameSink{c}, nil)
	c.henc = newEncoder(&c.hbuf)
	c.lastRead.Store(time.Now().UnixNano())

	// Our preface (a client's starts with the magic), SETTINGS and the
	// connection window beyond the default 65535.
	c.mu.Lock()
	if !server {
		c.wbufFor(len(clientPreface)).AppendString(clientPreface)
	}
	settings := []http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: uint32(limits.MaxHeaderBytes)},
	}
	if server {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxConcurrentStreams})
	} else {
		settings = append(settings, http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	}
	c.fw.WriteSettings(settings...)
	c.fw.WriteWindowUpdate(0, connWindow-65535)
	c.mu.Unlock()
	nc.AddReadFilter(c)
	nc.AddEventListener(c)
	return c
}

// Conn is the network connection.
func (c *Conn) Conn() *network.Conn { return c.nc }

// wbufFor returns the buffer gathering small frames, with room for n more
// bytes. c.mu is held.
func (c *Conn) wbufFor(n int) *network.Buffer {
	if c.wbuf == nil {
		c.wbuf = network.GetBuffer(max(n, 4096))
	}
	return c.wbuf
}

// appendRaw queues b after what has been gathered, without copying it.
// c.mu is held.
func (c *Conn) appendRaw(b *network.Buffer) {
	if c.wbuf != nil {
		c.batch = append(c.batch, c.wbuf)
		c.wbuf = nil
	}
	c.batch = append(c.batch, b)
}

// flush hands everything encoded so far to the network connection. Only
// one caller flushes at a time, in a loop, so frames keep their order;
// others (and calls made from inside a write, through events) only leave
// their frames for it.
func (c *Conn) flush() {
	c.mu.Lock()
	if c.flushing {
		c.mu.Unlock()
		return
	}
	c.flushing = true
	for {
		if c.wbuf != nil && c.wbuf.Len() > 0 {
			c.batch = append(c.batch, c.wbuf)
			c.wbuf = nil
		}
		if len(c.batch) == 0 {
			break
		}
		out := c.batch
		c.batch = c.spare[:0]
		c.mu.Unlock()
		c.nc.Write(out...)
		clear(out)
		c.mu.Lock()
		c.spare = out[:0]
	}
	c.flushing = false
	c.mu.Unlock()
}

// flushSoon flushes from a goroutine of its own, started once for however
// many frames are queued before it runs. Senders on other connections'
// read goroutines (the proxy relaying a batch of requests or responses)
// use it, so that the frames of every stream they touch in one read leave
// in one write instead of one write per stream.
func (c *Conn) flushSoon() {
	c.mu.Lock()
	if c.flushDue || c.closed {
		c.mu.Unlock()
		return
	}
	c.flushDue = true
	c.mu.Unlock()
	go func() {
		c.mu.Lock()
		c.flushDue = false
		c.mu.Unlock()
		c.flush()
	}()
}

// OnNewConnection implements network.ReadFilter.
func (c *Conn) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decodes every whole frame in buf and flushes what they caused.
func (c *Conn) OnData(_ *network.Conn, buf *network.Buffer, _ bool) network.FilterStatus {
	c.lastRead.Store(time.Now().UnixNano())
	if c.server && !c.prefaceSeen {
		p := buf.Bytes()
		n := min(len(p), len(clientPreface))
		if string(p[:n]) != clientPreface[:n] {
			// Not HTTP/2 with prior knowledge (an HTTP/1 request, say).
			buf.Drain(len(p))
			c.nc.Close(network.CloseNoFlush)
			return network.Stop
		}
		if n < len(clientPreface) {
			return network.Stop
		}
		buf.Drain(len(clientPreface))
		c.prefaceSeen = true
	}
	for !c.nc.Closed() {
		p := buf.Bytes()
		if len(p) < 9 {
			break
		}
		length := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
		if length > maxReadFrame {
			c.connError(http2.ErrCodeFrameSize, "frame too large")
			break
		}
		if len(p) < 9+length {
			break
		}
		c.frame(p[:9+length])
		buf.Drain(9 + length)
	}
	if buf.Len() > 0 && c.nc.Closed() {
		buf.Drain(buf.Len())
	}
	c.flush()
	if len(c.flushList) > 0 {
		for i, st := range c.flushList {
			if f, ok := st.receiver.(stream.Flusher); ok {
				f.Flush()
			}
			c.flushList[i] = nil
		}
		c.flushList = c.flushList[:0]
	}
	return network.Stop
}

// frame handles one whole frame, p being its 9-byte header and payload.
func (c *Conn) frame(p []byte) {
	typ := http2.FrameType(p[3])
	flags := http2.Flags(p[4])
	id := binary.BigEndian.Uint32(p[5:9]) & (1<<31 - 1)
	if !c.settingsIn && (typ != http2.FrameSettings || flags.Has(http2.FlagSettingsAck)) {
		c.connError(http2.ErrCodeProtocol, "first frame is not SETTINGS")
		return
	}
	if c.blockID != 0 && typ != http2.FrameContinuation {
		c.connError(http2.ErrCodeProtocol, "header block interrupted")
		return
	}
	if typ == http2.FrameData {
		// DATA is parsed here, so that its payload goes to the receiver
		// straight from the read buffer.
		c.onData(id, flags, p[9:])
		return
	}
	c.src.p = p
	f, err := c.fr.ReadFrame()
	if err != nil {
		var se http2.StreamError
		var ce http2.ConnectionError
		switch {
		case errors.As(err, &se):
			c.streamError(se.StreamID, se.Code)
		case errors.As(err, &ce):
			c.connError(http2.ErrCode(ce), "")
		case errors.Is(err, http2.ErrFrameTooLarge):
			c.connError(http2.ErrCodeFrameSize, "")
		default:
			c.connError(http2.ErrCodeFrameSize, err.Error())
		}
		return
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		c.onSettings(f)
	case *http2.HeadersFrame:
		c.continuations = 0
		c.block = append(c.block[:0], f.HeaderBlockFragment()...)
		c.blockID, c.blockEnd = f.StreamID, f.StreamEnded()
		if f.HeadersEnded() {
			c.onHeaderBlock()
		}
	case *http2.ContinuationFrame:
		c.block = append(c.block, f.HeaderBlockFragment()...)
		c.continuations++
		if len(c.block) > 2*c.limits.MaxHeaderBytes+maxReadFrame || c.continuations > maxContinuations {
			// A CONTINUATION flood (CVE-2024-27316 and kin).
			c.connError(http2.ErrCodeEnhanceYourCalm, "header block too large")
			return
		}
		if f.HeadersEnded() {
			c.onHeaderBlock()
		}
	case *http2.WindowUpdateFrame:
		c.onWindowUpdate(f.StreamID, int64(f.Increment))
	case *http2.RSTStreamFrame:
		c.onRSTStream(f.StreamID, f.ErrCode)
	case *http2.PingFrame:
		if f.IsAck() {
			c.mu.Lock()
			c.pingOut = false
			c.mu.Unlock()
			return
		}
		if c.flooded() {
			return
		}
		c.mu.Lock()
		c.fw.WritePing(true, f.Data)
		c.mu.Unlock()
	case *http2.GoAwayFrame:
		c.onGoAway(f.LastStreamID)
	case *http2.PushPromiseFrame:
		c.connError(http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled")
	}
	// PRIORITY, PRIORITY_UPDATE and unknown frames are ignored.
}

func (c *Conn) onSettings(f *http2.SettingsFrame) {
	if f.IsAck() || c.flooded() {
		return
	}
	c.settingsIn = true
	var fail error
	var grow bool
	c.mu.Lock()
	f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			fail = err
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitial
			c.peerInitial = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > 1<<31-1 {
					fail = http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			grow = grow || delta > 0
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int(s.Val)
		case http2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = int(min(s.Val, 1<<20))
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if fail == nil {
		c.fw.WriteSettingsAck()
		if grow {
			for _, st := range c.streams {
				c.pump(st)
			}
		}
	}
	c.unlock()
	if ce, ok := fail.(http2.ConnectionError); ok {
		c.connError(http2.ErrCode(ce), "bad SETTINGS")
		return
	}
	if c.pool != nil {
		c.pool.capacityChanged()
	}
	if grow {
		c.signalWatermarks()
	}
}

// onHeaderBlock decodes a whole header block and gives it to its stream.
func (c *Conn) onHeaderBlock() {
	id, end := c.blockID, c.blockEnd
	c.blockID = 0
	if c.server {
		c.serverHeaders(id, end)
	} else {
		c.clientHeaders(id, end)
	}
}

// decode runs the block through the connection's HPACK decoder into dst.
// Every block must be decoded, wanted or not, to keep the dynamic table
// in step with the peer's; a decoding error ends the connection.
//
// Fields are gathered in the connection's work list, which has grown to
// fit, and copied to dst in one piece: a new stream's empty list would
// otherwise grow field by field.
func (c *Conn) decode(dst *protocol.Headers, kind blockKind) bool {
	c.dec.reset(&c.work, kind, c.limits.MaxHeaderBytes)
	_, err := c.hdec.Write(c.block)
	if err == nil {
		err = c.hdec.Close()
	}
	if err != nil {
		c.connError(http2.ErrCodeCompression, "")
		return false
	}
	c.dec.finish()
	if dst != &c.scratch {
		dst.CopyFrom(&c.work)
	}
	return true
}

func (c *Conn) onData(id uint32, flags http2.Flags, payload []byte) {
	if id == 0 {
		c.connError(http2.ErrCodeProtocol, "DATA on stream 0")
		return
	}
	n := int64(len(payload))
	data := payload
	if flags.Has(http2.FlagDataPadded) {
		if len(data) == 0 || int(data[0]) >= len(data) {
			c.connError(http2.ErrCodeProtocol, "bad padding")
			return
		}
		data = data[1 : len(data)-int(data[0])]
	}
	end := flags.Has(http2.FlagDataEndStream)
	c.mu.Lock()
	c.recvWindow -= n
	if c.recvWindow < 0 {
		c.mu.Unlock()
		c.connError(http2.ErrCodeFlowControl, "connection window exceeded")
		return
	}
	c.recvUnacked += n
	if c.recvUnacked >= connWindow/4 {
		c.fw.WriteWindowUpdate(0, uint32(c.recvUnacked))
		c.recvWindow += c.recvUnacked
		c.recvUnacked = 0
	}
	st := c.streams[id]
	if st == nil {
		// A stream this side reset may still see DATA in flight; it is
		// ignored (RFC 9113 5.4.2). One never opened is a protocol error.
		c.mu.Unlock()
		if !c.known(id) {
			c.connError(http2.ErrCodeProtocol, "DATA on an idle stream")
		}
		return
	}
	if st.recvClosed {
		c.mu.Unlock()
		c.streamError(id, http2.ErrCodeStreamClosed)
		return
	}
	st.recvWindow -= n
	if st.recvWindow < 0 {
		c.mu.Unlock()
		c.streamError(id, http2.ErrCodeFlowControl)
		return
	}
	st.recvUnacked += n
	if !st.readDisabled && st.recvUnacked >= streamWindow/4 {
		c.creditStream(st)
	}
	if c.server && !st.gotHead {
		c.mu.Unlock()
		return // a refused or locally answered request
	}
	st.received += int64(len(data))
	over := c.limits.MaxBodyBytes > 0 && st.received > c.limits.MaxBodyBytes
	if st.declared >= 0 && (st.received > st.declared || end && st.received != st.declared) {
		c.mu.Unlock()
		c.streamError(id, http2.ErrCodeProtocol) // DATA disagrees with content-length
		return
	}
	if end {
		st.recvClosed = true
	}
	c.mu.Unlock()
	if over {
		c.tooLarge(st)
		return
	}
	if len(data) > 0 || end {
		st.receiver.OnData(data, end)
	}
	if end {
		c.recvDone(st)
	}
}

// creditStream gives the peer back what st has consumed. c.mu is held.
func (c *Conn) creditStream(st *Stream) {
	if st.recvUnacked > 0 && !st.resetDone && !st.recvClosed {
		c.fw.WriteWindowUpdate(st.id, uint32(st.recvUnacked))
	}
	st.recvWindow += st.recvUnacked
	st.recvUnacked = 0
}

// noteReset remembers that stream id was reset here. c.mu is held.
func (c *Conn) noteReset(id uint32) {
	c.recentResets[c.resetNext] = id
	c.resetNext = (c.resetNext + 1) % len(c.recentResets)
}

// recentlyReset reports whether this side reset stream id lately. c.mu
// is held.
func (c *Conn) recentlyReset(id uint32) bool {
	for _, r := range c.recentResets {
		if r == id && id != 0 {
			return true
		}
	}
	return false
}

// known reports whether id names a stream that existed (now closed)
// rather than one never opened.
func (c *Conn) known(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server == (id%2 == 1) {
		return id <= c.lastPeer
	}
	return id < c.nextID
}

func (c *Conn) onWindowUpdate(id uint32, inc int64) {
	c.mu.Lock()
	if id == 0 {
		c.sendWindow += inc
		if c.sendWindow > 1<<31-1 {
			c.mu.Unlock()
			c.connError(http2.ErrCodeFlowControl, "connection window overflow")
			return
		}
		blocked := c.blocked
		c.blocked = nil
		for _, st := range blocked {
			st.inBlocked = false
			c.pump(st)
		}
		clear(blocked)
		if c.blocked == nil {
			c.blocked = blocked[:0]
		}
		c.unlock()
		c.signalWatermarks()
		return
	}
	st := c.streams[id]
	if st == nil {
		c.mu.Unlock()
		return
	}
	st.sendWindow += inc
	if st.sendWindow > 1<<31-1 {
		c.mu.Unlock()
		c.streamError(id, http2.ErrCodeFlowControl)
		return
	}
	c.pump(st)
	c.unlock()
	st.signalWatermark()
}

func (c *Conn) onRSTStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	st := c.streams[id]
	if st == nil {
		c.mu.Unlock()
		if !c.known(id) {
			c.connError(http2.ErrCodeProtocol, "RST_STREAM on an idle stream")
		}
		return
	}
	st.unprocessed = code == http2.ErrCodeRefusedStream
	deliver := !c.server || st.gotHead
	c.removeLocked(st)
	rapid := false
	if c.server {
		// Rapid reset (CVE-2023-44487): a client that cancels most of the
		// streams it opens makes the proxy work for nothing.
		c.peerResets++
		rapid = c.peerResets > rapidResets && 2*c.peerResets > c.opened
	}
	c.unlock()
	if deliver {
		c.resetUnprocessed(st, stream.ResetConnectionClosed)
	}
	if rapid {
		c.connError(http2.ErrCodeEnhanceYourCalm, "too many streams reset")
	}
}

// flooded reports, and answers with GOAWAY(ENHANCE_YOUR_CALM), a peer
// whose control frames (PING, SETTINGS) make this side queue answers it
// does not read.
func (c *Conn) flooded() bool {
	if c.nc.PendingBytes() <= maxPendingControl {
		return false
	}
	c.connError(http2.ErrCodeEnhanceYourCalm, "control frame flood")
	return true
}

// onGoAway: no new streams on this connection; streams the peer will not
// process are reset as unprocessed; the rest finish, then it closes.
func (c *Conn) onGoAway(last uint32) {
	var refused []*Stream
	c.mu.Lock()
	c.goAwayRecv = true
	c.goingAway = true
	c.peerLastID = last
	if !c.server {
		for id, st := range c.streams {
			if id > last {
				st.unprocessed = true
				refused = append(refused, st)
			}
		}
		for _, st := range refused {
			c.removeLocked(st)
		}
	}
	idle := c.open == 0
	c.unlock()
	if c.pool != nil {
		c.pool.remove(c)
	}
	for _, st := range refused {
		c.resetUnprocessed(st, stream.ResetConnectionClosed)
	}
	if idle {
		c.closeGracefully()
	}
}

// GoAway starts a graceful close: the peer is told no new stream will be
// accepted; streams already open finish, then the connection closes.
func (c *Conn) GoAway() {
	c.mu.Lock()
	if c.closed || c.goingAway {
		c.mu.Unlock()
		return
	}
	c.goingAway = true
	c.goAwaySent = true
	c.fw.WriteGoAway(c.lastPeer, http2.ErrCodeNo, nil)
	idle := c.open == 0
	c.mu.Unlock()
	c.flush()
	if idle {
		c.closeGracefully()
	}
}

func (c *Conn) closeGracefully() {
	c.mu.Lock()
	if !c.goAwaySent && !c.closed {
		c.goAwaySent = true
		c.fw.WriteGoAway(c.lastPeer, http2.ErrCodeNo, nil)
	}
	c.mu.Unlock()
	c.flush()
	c.nc.Close(network.CloseFlush)
}

// connError ends the connection with GOAWAY(code); every stream is reset.
func (c *Conn) connError(code http2.ErrCode, reason string) {
	c.mu.Lock()
	if !c.closed && !c.goAwaySent {
		var debug []byte
		if reason != "" {
			debug = []byte(reason)
		}
		c.fw.WriteGoAway(c.lastPeer, code, debug)
		c.goingAway = true
		c.goAwaySent = true
	}
	c.mu.Unlock()
	c.flush()
	c.nc.Close(network.CloseFlush)
}

// streamError resets one stream with RST_STREAM(code); the others go on.
func (c *Conn) streamError(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.fw.WriteRSTStream(id, code)
	st := c.streams[id]
	deliver := st != nil && (!c.server || st.gotHead)
	if st != nil {
		st.resetSent = true
		c.removeLocked(st)
	}
	c.unlock()
	c.flush()
	if deliver {
		st.receiver.OnReset(stream.ResetProtocolError)
	}
}

// removeLocked forgets st: its queued data is dropped and its slot freed.
// c.mu is held.
func (c *Conn) removeLocked(st *Stream) {
	if st.resetDone {
		return
	}
	st.resetDone = true
	if st.resetSent || !st.recvClosed {
		c.noteReset(st.id)
	}
	if st.id != 0 && c.streams[st.id] == st {
		delete(c.streams, st.id)
	}
	if c.unsent != nil {
		delete(c.unsent, st)
	}
	if st.out != nil {
		st.out.Release()
		st.out = nil
	}
	c.open--
	c.gone = true
}

// streamGone runs after streams are removed, without c.mu: a client
// connection may take another stream, a draining one may close.
func (c *Conn) streamGone() {
	c.mu.Lock()
	idle := c.open == 0 && c.goingAway && !c.closed
	c.mu.Unlock()
	if c.pool != nil {
		c.pool.capacityChanged()
	}
	if idle {
		c.closeGracefully()
	}
}

// recvDone is called when the peer has ended st, after its receiver has
// seen the end: if this side has ended it too the stream is over. A client
// whose response is complete before its request is sends no more of it
// (the proxy has finished the exchange) and cancels the rest.
func (c *Conn) recvDone(st *Stream) {
	c.mu.Lock()
	switch {
	case st.resetDone:
	case st.sendClosed:
		c.removeLocked(st)
	case !c.server && st.id != 0:
		c.fw.WriteRSTStream(st.id, http2.ErrCodeCancel)
		st.resetSent = true
		c.removeLocked(st)
	}
	c.unlock()
}

// OnEvent implements network.EventListener: on close every stream still
// open is reset, from a goroutine of its own since the close may come from
// inside a send, under the sender's locks; a draining listener makes a
// server connection send GOAWAY; watermarks are passed on to the streams.
func (c *Conn) OnEvent(_ *network.Conn, e network.Event) {
	switch {
	case e.IsClose():
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.closed = true
		c.goingAway = true
		var all []*Stream
		for _, st := range c.streams {
			all = append(all, st)
		}
		for st := range c.unsent {
			st.unprocessed = true
			all = append(all, st)
		}
		for _, st := range all {
			c.removeLocked(st)
		}
		if c.wbuf != nil {
			c.wbuf.Release()
			c.wbuf = nil
		}
		for i, b := range c.batch {
			b.Release()
			c.batch[i] = nil
		}
		c.batch = c.batch[:0]
		if c.keepalive != nil {
			c.keepalive.Stop()
		}
		c.gone = false
		c.mu.Unlock()
		if c.pool != nil {
			c.pool.remove(c)
		}
		reason := stream.ResetConnectionClosed
		if e == network.EventConnectFailed || e == network.EventConnectTimeout {
			reason = stream.ResetConnectFailure
		}
		if len(all) > 0 {
			go func() {
				for _, st := range all {
					if !c.server || st.gotHead {
						c.resetUnprocessed(st, reason)
					}
				}
			}()
		}
	case e == network.EventDrain:
		if c.server {
			c.GoAway()
		}
	case e == network.EventWriteBufferHigh, e == network.EventWriteBufferLow:
		c.mu.Lock()
		c.netHigh = e == network.EventWriteBufferHigh
		c.mu.Unlock()
		c.signalWatermarks()
	}
}

// signalWatermarks re-evaluates every stream's watermark.
func (c *Conn) signalWatermarks() {
	c.mu.Lock()
	var list []*Stream
	for _, st := range c.streams {
		if st.high != st.wantHighLocked() {
			list = append(list, st)
		}
	}
	c.mu.Unlock()
	for _, st := range list {
		st.signalWatermark()
	}
}
