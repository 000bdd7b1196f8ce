package http2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// answerHandler answers every request that ends with 200 "ok" and ignores
// everything else; it never blocks.
type answerHandler struct{}

func (answerHandler) NewStream(s stream.ServerStream) stream.Receiver { return &answerReceiver{s: s} }

type answerReceiver struct {
	s    stream.ServerStream
	resp protocol.Headers
}

func (r *answerReceiver) OnHeaders(_ *protocol.Headers, end bool) {
	if end {
		r.respond()
	}
}
func (r *answerReceiver) OnData(_ []byte, end bool) {
	if end {
		r.respond()
	}
}
func (r *answerReceiver) OnTrailers(*protocol.Headers) { r.respond() }
func (r *answerReceiver) OnReset(stream.ResetReason)   {}
func (r *answerReceiver) respond() {
	r.resp.Reset()
	r.resp.AddString(protocol.Status, "200")
	r.s.SendHeaders(&r.resp, false)
	b := network.GetBuffer(16)
	b.AppendString("ok")
	r.s.SendData(b, true)
}

// pipeServer is a server Conn whose reads a test feeds by hand, over a
// pipe whose other end is drained.
func pipeServer(tb testing.TB, h stream.ServerHandler) (*Conn, func()) {
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	nc := network.NewServerConn(a, network.Options{})
	c := NewServerConn(nc, stream.Limits{}, h)
	return c, func() {
		nc.Close(network.CloseNoFlush)
		b.Close()
	}
}

// frames builds a byte string of frames with a Framer.
func frames(build func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer)) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	fr.AllowIllegalWrites = true
	build(fr, hpack.NewEncoder(&hb), &hb)
	return out.Bytes()
}

func getRequest(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer, id uint32, path string) {
	hb.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "example.test"}, {":path", path}, {"user-agent", "bench"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
}

// FuzzServerFrames feeds the server's frame and HPACK decoding path
// arbitrary bytes after the preface and a SETTINGS frame: it must never
// panic, whatever it answers.
func FuzzServerFrames(f *testing.F) {
	f.Add(frames(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
		getRequest(fr, enc, hb, 1, "/")
		fr.WriteData(3, false, []byte("x"))
		fr.WritePing(false, [8]byte{})
		fr.WriteWindowUpdate(0, 100)
	}))
	f.Add(frames(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":method", Value: "POST"})
		enc.WriteField(hpack.HeaderField{Name: ":path", Value: "/p"})
		enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
		block := hb.Bytes()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:2]})
		fr.WriteContinuation(1, true, block[2:])
		fr.WriteDataPadded(1, false, []byte("body"), []byte{0, 0})
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: "x-t", Value: "1"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
		fr.WriteRSTStream(1, http2.ErrCodeCancel)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
		fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	}))
	f.Add([]byte{0, 0, 4, 1, 4, 0, 0, 0, 1, 0x82, 0x86, 0x84, 0x41})
	start := frames(func(fr *http2.Framer, _ *hpack.Encoder, _ *bytes.Buffer) { fr.WriteSettings() })
	f.Fuzz(func(t *testing.T, data []byte) {
		c, done := pipeServer(t, answerHandler{})
		defer done()
		buf := network.GetBuffer(len(clientPreface) + len(start) + len(data))
		buf.AppendString(clientPreface)
		buf.Append(start)
		buf.Append(data)
		c.OnData(c.nc, buf, false)
		buf.Release()
	})
}

// discardReceiver takes any response.
type discardReceiver struct{}

func (discardReceiver) OnHeaders(*protocol.Headers, bool) {}
func (discardReceiver) OnData([]byte, bool)               {}
func (discardReceiver) OnTrailers(*protocol.Headers)      {}
func (discardReceiver) OnReset(stream.ResetReason)        {}

// FuzzClientFrames feeds a client connection with three requests in
// flight arbitrary bytes as the upstream's answer, after its SETTINGS.
func FuzzClientFrames(f *testing.F) {
	f.Add(frames(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "2"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
		fr.WriteData(1, true, []byte("ok"))
		fr.WriteRSTStream(3, http2.ErrCodeRefusedStream)
		fr.WriteGoAway(3, http2.ErrCodeNo, nil)
		fr.WritePing(false, [8]byte{})
	}))
	f.Add(frames(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":status", Value: "100"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: hb.Bytes(), EndHeaders: true})
		fr.WriteWindowUpdate(0, 1<<20)
		fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "0"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	}))
	start := frames(func(fr *http2.Framer, _ *hpack.Encoder, _ *bytes.Buffer) { fr.WriteSettings() })
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		go io.Copy(io.Discard, b)
		nc := network.NewServerConn(a, network.Options{})
		defer func() {
			nc.Close(network.CloseNoFlush)
			b.Close()
		}()
		p := NewPool(stream.PoolOptions{Dial: func() (*network.Conn, time.Duration, error) {
			return nil, 0, errors.New("no more connections")
		}})
		c := newConn(nc, false, stream.Limits{})
		c.pool = p
		c.unsent = make(map[*Stream]struct{})
		for range 3 {
			st := c.reserve(discardReceiver{})
			var h protocol.Headers
			h.AddString(protocol.Method, "POST")
			h.AddString(protocol.Path, "/")
			st.SendHeaders(&h, false)
			st.SendData(newBuf([]byte("body")), false)
		}
		buf := network.GetBuffer(len(start) + len(data))
		buf.Append(start)
		buf.Append(data)
		c.OnData(nc, buf, false)
		buf.Release()
	})
}
