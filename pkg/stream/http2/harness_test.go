package http2

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// waitBound bounds every wait of these tests; only a broken server makes
// one wait that long.
const waitBound = 20 * time.Second

// fakeHandler answers requests as the path says: "/hold" is never
// answered, "/pause" read-disables its stream, anything else gets 200
// "ok" once the request has ended. It records resets.
type fakeHandler struct {
	mu     sync.Mutex
	paths  []string
	resets chan stream.ResetReason
	held   chan stream.ServerStream
}

func (h *fakeHandler) NewStream(s stream.ServerStream) stream.Receiver {
	return &fakeReceiver{h: h, s: s}
}

type fakeReceiver struct {
	h    *fakeHandler
	s    stream.ServerStream
	path string
	body int
}

func (r *fakeReceiver) OnHeaders(h *protocol.Headers, end bool) {
	p, _ := h.Get(protocol.Path)
	r.path = string(p)
	r.h.mu.Lock()
	r.h.paths = append(r.h.paths, r.path)
	r.h.mu.Unlock()
	switch r.path {
	case "/hold":
		r.h.held <- r.s
		return
	case "/pause":
		r.s.ReadDisable(true)
	}
	if end {
		r.respond()
	}
}

func (r *fakeReceiver) OnData(p []byte, end bool) {
	r.body += len(p)
	if end && r.path != "/hold" {
		r.respond()
	}
}

func (r *fakeReceiver) OnTrailers(*protocol.Headers) { r.respond() }

func (r *fakeReceiver) OnReset(reason stream.ResetReason) {
	select {
	case r.h.resets <- reason:
	default:
	}
}

func (r *fakeReceiver) respond() {
	var h protocol.Headers
	h.AddString(protocol.Status, "200")
	r.s.SendHeaders(&h, false)
	b := network.GetBuffer(16)
	b.AppendString("ok")
	r.s.SendData(b, true)
}

// peer is a raw HTTP/2 client on a real loopback connection to a server
// Conn: it writes whatever frames a test wants and reads what comes back.
type peer struct {
	t    *testing.T
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	h    *fakeHandler
	srv  *Conn
}

func newPeer(t *testing.T, limits stream.Limits) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	nc := network.NewServerConn(sc, network.Options{})
	h := &fakeHandler{resets: make(chan stream.ResetReason, 16), held: make(chan stream.ServerStream, 16)}
	p := &peer{t: t, c: c, h: h}
	p.srv = NewServerConn(nc, limits, h)
	nc.Start()
	t.Cleanup(func() {
		c.Close()
		nc.Close(network.CloseNoFlush)
	})
	c.SetDeadline(time.Now().Add(waitBound))
	p.fr = http2.NewFramer(c, c)
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.fr.MaxHeaderListSize = 1 << 20
	p.enc = hpack.NewEncoder(&p.hbuf)
	c.Write([]byte(clientPreface))
	p.fr.WriteSettings()
	return p
}

// block HPACK-encodes name/value pairs.
func (p *peer) block(fields ...string) []byte {
	p.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append([]byte(nil), p.hbuf.Bytes()...)
}

// request is a valid GET head for path.
func request(path string) []string {
	return []string{":method", "GET", ":scheme", "http", ":authority", "example.test", ":path", path}
}

func (p *peer) headers(id uint32, end bool, fields ...string) {
	p.t.Helper()
	if err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.block(fields...), EndStream: end, EndHeaders: true}); err != nil {
		p.t.Fatal(err)
	}
}

// raw writes one frame as given, right or wrong.
func (p *peer) raw(typ http2.FrameType, flags http2.Flags, id uint32, payload []byte) {
	p.t.Helper()
	h := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), byte(typ), byte(flags),
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	if _, err := p.c.Write(append(h, payload...)); err != nil {
		p.t.Fatal(err)
	}
}

// next reads frames until match accepts one, failing on a read error.
func (p *peer) next(what string, match func(http2.Frame) bool) http2.Frame {
	p.t.Helper()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			p.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

func (p *peer) expectGoAway(code http2.ErrCode) {
	p.t.Helper()
	f := p.next("GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if f.ErrCode != code {
		p.t.Fatalf("GOAWAY %v (%q), want %v", f.ErrCode, f.DebugData(), code)
	}
}

func (p *peer) expectRST(id uint32, code http2.ErrCode) {
	p.t.Helper()
	f := p.next("RST_STREAM", func(f http2.Frame) bool {
		if g, ok := f.(*http2.GoAwayFrame); ok {
			p.t.Fatalf("GOAWAY %v (%q), want RST_STREAM %v on %d", g.ErrCode, g.DebugData(), code, id)
		}
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == id
	}).(*http2.RSTStreamFrame)
	if f.ErrCode != code {
		p.t.Fatalf("RST_STREAM %v on %d, want %v", f.ErrCode, id, code)
	}
}

// expectResponse reads stream id's response: its status and body.
func (p *peer) expectResponse(id uint32) (string, string) {
	p.t.Helper()
	var status string
	var body []byte
	for {
		f := p.next("response", func(f http2.Frame) bool { return f.Header().StreamID == id || f.Header().Type == http2.FrameGoAway })
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			p.t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "" {
				status = s
			}
			if f.StreamEnded() {
				return status, string(body)
			}
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			if f.StreamEnded() {
				return status, string(body)
			}
		case *http2.RSTStreamFrame:
			p.t.Fatalf("RST_STREAM %v on %d", f.ErrCode, id)
		}
	}
}

func newBuf(p []byte) *network.Buffer {
	b := network.GetBuffer(len(p))
	b.Append(p)
	return b
}
