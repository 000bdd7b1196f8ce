package http2

import (
	"bytes"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// upstream is a raw HTTP/2 server a test scripts frame by frame; each
// connection the pool makes arrives on conns.
type upstream struct {
	t     *testing.T
	ln    net.Listener
	conns chan *upConn
}

type upConn struct {
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func startUpstream(t *testing.T) *upstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{t: t, ln: ln, conns: make(chan *upConn, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(waitBound))
			uc := &upConn{c: c, fr: http2.NewFramer(c, c)}
			uc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
			uc.enc = hpack.NewEncoder(&uc.hbuf)
			pre := make([]byte, len(clientPreface))
			if _, err := c.Read(pre); err != nil || string(pre) != clientPreface {
				c.Close()
				continue
			}
			u.conns <- uc
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

func (u *upstream) accept() *upConn {
	u.t.Helper()
	select {
	case uc := <-u.conns:
		u.t.Cleanup(func() { uc.c.Close() })
		return uc
	case <-time.After(waitBound):
		u.t.Fatal("no connection from the pool")
		return nil
	}
}

func (u *upstream) pool(cfg PoolConfig) *Pool {
	p := NewPoolConfig(stream.PoolOptions{Dial: func() (*network.Conn, time.Duration, error) {
		return network.NewClientConn(u.ln.Addr().String(), nil, network.Options{}), 5 * time.Second, nil
	}}, cfg)
	u.t.Cleanup(p.Close)
	return p
}

// next reads frames until one of typ arrives.
func (uc *upConn) next(t *testing.T, typ http2.FrameType) http2.Frame {
	t.Helper()
	for {
		f, err := uc.fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for %v: %v", typ, err)
		}
		if f.Header().Type == typ {
			return f
		}
	}
}

func (uc *upConn) respond(t *testing.T, id uint32, status string, end bool) {
	t.Helper()
	uc.hbuf.Reset()
	uc.enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	if err := uc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: uc.hbuf.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// recorder is a stream.Receiver that reports what reaches it.
type recorder struct {
	heads  chan string
	data   chan string
	resets chan stream.ResetReason
}

func newRecorder() *recorder {
	return &recorder{heads: make(chan string, 4), data: make(chan string, 16), resets: make(chan stream.ResetReason, 4)}
}

func (r *recorder) OnHeaders(h *protocol.Headers, end bool) {
	s, _ := h.Get(protocol.Status)
	r.heads <- string(s)
}
func (r *recorder) OnData(p []byte, end bool) {
	if end {
		r.data <- string(p) + "<end>"
		return
	}
	r.data <- string(p)
}
func (r *recorder) OnTrailers(*protocol.Headers)      { r.data <- "<trailers>" }
func (r *recorder) OnReset(reason stream.ResetReason) { r.resets <- reason }

func recv[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitBound):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

func get(t *testing.T, p *Pool, r stream.Receiver) stream.ClientStream {
	t.Helper()
	s, err := p.NewStream(r)
	if err != nil {
		t.Fatal(err)
	}
	var h protocol.Headers
	h.AddString(protocol.Method, "GET")
	h.AddString(protocol.Path, "/")
	h.AddString("host", "up.test")
	if err := s.SendHeaders(&h, true); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPoolGoAway: the stream below the GOAWAY's last stream id completes
// on its connection; the one above is sent again on a new connection,
// which takes the next stream too.
func TestPoolGoAway(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	p := u.pool(PoolConfig{})
	r1, r3 := newRecorder(), newRecorder()
	s1 := get(t, p, r1)
	get(t, p, r3)
	uc := u.accept()
	uc.fr.WriteSettings()
	h := uc.next(t, http2.FrameHeaders).(*http2.MetaHeadersFrame)
	if h.PseudoValue("authority") != "up.test" || h.PseudoValue("scheme") != "http" {
		t.Fatalf("request head: %v", h.Fields)
	}
	uc.next(t, http2.FrameHeaders)
	uc.fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	uc2 := u.accept()
	uc2.fr.WriteSettings()
	f := uc2.next(t, http2.FrameHeaders)
	uc2.respond(t, f.Header().StreamID, "202", true)
	if s := recv(t, r3.heads, "the replayed stream's response"); s != "202" {
		t.Fatalf("stream 3: %s", s)
	}
	uc.respond(t, 1, "200", true)
	if s := recv(t, r1.heads, "response on stream 1"); s != "200" || s1.Unprocessed() {
		t.Fatalf("stream 1: %s", s)
	}
	r5 := newRecorder()
	get(t, p, r5)
	f = uc2.next(t, http2.FrameHeaders)
	uc2.respond(t, f.Header().StreamID, "204", true)
	if s := recv(t, r5.heads, "response on the new connection"); s != "204" {
		t.Fatalf("new connection: %s", s)
	}
	if p.Conns() != 1 {
		t.Fatalf("%d connections pooled, want 1", p.Conns())
	}
}

// TestPoolResets: REFUSED_STREAM is unprocessed (the request is sent
// again, twice at most, then the reset says unprocessed), CANCEL is not,
// and a client Reset sends RST_STREAM(CANCEL).
func TestPoolResets(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	p := u.pool(PoolConfig{})
	ra, rb, rc := newRecorder(), newRecorder(), newRecorder()
	sa := get(t, p, ra)
	sb := get(t, p, rb)
	sc := get(t, p, rc)
	uc := u.accept()
	uc.fr.WriteSettings()
	var ids []uint32
	for range 3 {
		ids = append(ids, uc.next(t, http2.FrameHeaders).Header().StreamID)
	}
	uc.fr.WriteRSTStream(ids[1], http2.ErrCodeCancel)
	recv(t, rb.resets, "cancel reset")
	if sb.Unprocessed() {
		t.Fatal("a cancelled stream counted as unprocessed")
	}
	refused := ids[0]
	for tries := 0; ; tries++ {
		uc.fr.WriteRSTStream(refused, http2.ErrCodeRefusedStream)
		if tries == maxReplays {
			break
		}
		refused = uc.next(t, http2.FrameHeaders).Header().StreamID
	}
	recv(t, ra.resets, "refused reset")
	if !sa.Unprocessed() {
		t.Fatal("a refused stream not unprocessed")
	}
	sc.Reset()
	rst := uc.next(t, http2.FrameRSTStream).(*http2.RSTStreamFrame)
	if rst.StreamID != ids[2] || rst.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("client reset: %v on %d", rst.ErrCode, rst.StreamID)
	}
}

// TestPoolConcurrencyLimit: a connection carries no more streams than the
// peer's SETTINGS_MAX_CONCURRENT_STREAMS; the next goes on a new one.
func TestPoolConcurrencyLimit(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	p := u.pool(PoolConfig{})
	get(t, p, newRecorder())
	uc := u.accept()
	uc.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
	uc.next(t, http2.FrameHeaders)
	// Its ACK says the pool has applied the setting.
	for {
		f := uc.next(t, http2.FrameSettings)
		if f.(*http2.SettingsFrame).IsAck() {
			break
		}
	}
	get(t, p, newRecorder())
	u.accept()
	if n := p.Conns(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// TestPoolKeepalive: a quiet connection is pinged, and one whose PING
// goes unanswered is closed, resetting its streams.
func TestPoolKeepalive(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	p := u.pool(PoolConfig{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	r := newRecorder()
	get(t, p, r)
	uc := u.accept()
	uc.fr.WriteSettings()
	uc.next(t, http2.FrameHeaders)
	ping := uc.next(t, http2.FramePing).(*http2.PingFrame)
	if ping.IsAck() {
		t.Fatal("got a PING ack, want a PING")
	}
	if reason := recv(t, r.resets, "reset after the PING timeout"); reason != stream.ResetConnectionClosed {
		t.Fatalf("reset %v", reason)
	}
	if p.Conns() != 0 {
		t.Fatal("dead connection still pooled")
	}
}

// TestPoolReplay: a request with a body that the upstream did not process
// (above the GOAWAY's last stream id) is sent again, head and body, on a
// new connection, and its receiver sees only the response.
func TestPoolReplay(t *testing.T) {
	t.Parallel()
	u := startUpstream(t)
	p := u.pool(PoolConfig{})
	get(t, p, newRecorder())
	r := newRecorder()
	s, err := p.NewStream(r)
	if err != nil {
		t.Fatal(err)
	}
	var h protocol.Headers
	h.AddString(protocol.Method, "POST")
	h.AddString(protocol.Path, "/p")
	s.SendHeaders(&h, false)
	s.SendData(newBuf([]byte("body")), true)
	uc := u.accept()
	uc.fr.WriteSettings()
	uc.next(t, http2.FrameHeaders)
	uc.next(t, http2.FrameHeaders)
	uc.fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	uc2 := u.accept()
	uc2.fr.WriteSettings()
	f := uc2.next(t, http2.FrameHeaders).(*http2.MetaHeadersFrame)
	if f.PseudoValue("method") != "POST" || f.PseudoValue("path") != "/p" || f.StreamEnded() {
		t.Fatalf("replayed head: %v", f.Fields)
	}
	d := uc2.next(t, http2.FrameData).(*http2.DataFrame)
	if string(d.Data()) != "body" || !d.StreamEnded() {
		t.Fatalf("replayed body %q end %v", d.Data(), d.StreamEnded())
	}
	uc2.respond(t, f.StreamID, "201", true)
	if st := recv(t, r.heads, "the replayed response"); st != "201" {
		t.Fatalf("status %s", st)
	}
	select {
	case reason := <-r.resets:
		t.Fatalf("receiver saw a reset (%v)", reason)
	default:
	}
}
