package http2

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2"

	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// TestServerBadFrames sends one malformed thing each after a good start
// and expects the error code RFC 9113 gives it: a connection error
// (GOAWAY) or a stream error (RST_STREAM).
func TestServerBadFrames(t *testing.T) {
	t.Parallel()
	u32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	cases := []struct {
		name   string
		send   func(p *peer)
		goAway http2.ErrCode // expected GOAWAY code, or
		rst    uint32        // the stream expected reset
		code   http2.ErrCode
	}{
		{"data on stream 0", func(p *peer) { p.raw(http2.FrameData, 0, 0, []byte("x")) }, http2.ErrCodeProtocol, 0, 0},
		{"headers on even stream", func(p *peer) { p.headers(2, true, request("/")...) }, http2.ErrCodeProtocol, 0, 0},
		{"continuation alone", func(p *peer) { p.raw(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 1, nil) }, http2.ErrCodeProtocol, 0, 0},
		{"headers interrupted", func(p *peer) {
			p.raw(http2.FrameHeaders, 0, 1, p.block(request("/")...))
			p.raw(http2.FrameData, 0, 1, []byte("x"))
		}, http2.ErrCodeProtocol, 0, 0},
		{"bad hpack", func(p *peer) {
			p.raw(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 1, []byte{0xff, 0xff, 0xff, 0xff})
		}, http2.ErrCodeCompression, 0, 0},
		{"frame too large", func(p *peer) { p.raw(http2.FrameData, 0, 1, make([]byte, maxReadFrame+1)) }, http2.ErrCodeFrameSize, 0, 0},
		{"ping wrong size", func(p *peer) { p.raw(http2.FramePing, 0, 0, []byte("short")) }, http2.ErrCodeFrameSize, 0, 0},
		{"window update 0 on connection", func(p *peer) { p.raw(http2.FrameWindowUpdate, 0, 0, u32(0)) }, http2.ErrCodeProtocol, 0, 0},
		{"connection window overflow", func(p *peer) { p.raw(http2.FrameWindowUpdate, 0, 0, u32(1<<31-1)) }, http2.ErrCodeFlowControl, 0, 0},
		{"initial window too large", func(p *peer) {
			p.raw(http2.FrameSettings, 0, 0, []byte{0, byte(http2.SettingInitialWindowSize), 0x80, 0, 0, 0})
		}, http2.ErrCodeFlowControl, 0, 0},
		{"push promise", func(p *peer) { p.raw(http2.FramePushPromise, http2.FlagPushPromiseEndHeaders, 1, u32(2)) }, http2.ErrCodeProtocol, 0, 0},
		{"data on idle stream", func(p *peer) { p.raw(http2.FrameData, 0, 7, []byte("x")) }, http2.ErrCodeProtocol, 0, 0},
		{"headers on closed stream", func(p *peer) {
			p.headers(5, true, request("/")...)
			p.expectResponse(5)
			p.headers(3, true, request("/")...)
		}, http2.ErrCodeStreamClosed, 0, 0},

		{"continuation flood", func(p *peer) {
			p.raw(http2.FrameHeaders, 0, 1, p.block(request("/")...))
			for range maxContinuations + 1 {
				p.raw(http2.FrameContinuation, 0, 1, nil)
			}
		}, http2.ErrCodeEnhanceYourCalm, 0, 0},
		{"rapid reset", func(p *peer) {
			for id := uint32(1); id < 2*(rapidResets+10); id += 2 {
				p.headers(id, false, request("/x")...)
				p.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			}
		}, http2.ErrCodeEnhanceYourCalm, 0, 0},

		{"data beyond content-length", func(p *peer) {
			p.headers(1, false, append(request("/"), "content-length", "3")...)
			p.fr.WriteData(1, true, []byte("four"))
		}, 0, 1, http2.ErrCodeProtocol},
		{"data short of content-length", func(p *peer) {
			p.headers(1, false, append(request("/"), "content-length", "10")...)
			p.fr.WriteData(1, true, []byte("four"))
		}, 0, 1, http2.ErrCodeProtocol},
		{"content-length without a body", func(p *peer) {
			p.headers(1, true, append(request("/"), "content-length", "10")...)
		}, 0, 1, http2.ErrCodeProtocol},
		{"two content-lengths", func(p *peer) {
			p.headers(1, true, append(request("/"), "content-length", "1", "content-length", "2")...)
		}, 0, 1, http2.ErrCodeProtocol},

		{"window update 0 on stream", func(p *peer) {
			p.headers(1, false, request("/hold")...)
			<-p.h.held
			p.raw(http2.FrameWindowUpdate, 0, 1, u32(0))
		}, 0, 1, http2.ErrCodeProtocol},
		{"upper-case name", func(p *peer) { p.headers(1, true, append(request("/"), "X-Up", "1")...) }, 0, 1, http2.ErrCodeProtocol},
		{"connection field", func(p *peer) { p.headers(1, true, append(request("/"), "connection", "close")...) }, 0, 1, http2.ErrCodeProtocol},
		{"te other than trailers", func(p *peer) { p.headers(1, true, append(request("/"), "te", "gzip")...) }, 0, 1, http2.ErrCodeProtocol},
		{"no :path", func(p *peer) { p.headers(1, true, ":method", "GET", ":scheme", "http") }, 0, 1, http2.ErrCodeProtocol},
		{"response pseudo-header", func(p *peer) { p.headers(1, true, append(request("/"), ":status", "200")...) }, 0, 1, http2.ErrCodeProtocol},
		{"pseudo after regular", func(p *peer) { p.headers(1, true, "x", "1", ":method", "GET", ":scheme", "http", ":path", "/") }, 0, 1, http2.ErrCodeProtocol},
		{"trailers without end", func(p *peer) {
			p.headers(1, false, request("/hold")...)
			<-p.h.held
			p.headers(1, false, "x-t", "1")
		}, 0, 1, http2.ErrCodeProtocol},
		{"data after end", func(p *peer) {
			p.headers(1, true, request("/hold")...)
			<-p.h.held
			p.raw(http2.FrameData, 0, 1, []byte("x"))
		}, 0, 1, http2.ErrCodeStreamClosed},
		{"stream window exceeded", func(p *peer) {
			p.headers(1, false, request("/pause")...)
			chunk := make([]byte, 16<<10)
			for range streamWindow/len(chunk) + 1 {
				p.fr.WriteData(1, false, chunk)
			}
		}, 0, 1, http2.ErrCodeFlowControl},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, stream.Limits{})
			tc.send(p)
			if tc.goAway != 0 || tc.rst == 0 {
				p.expectGoAway(tc.goAway)
				return
			}
			p.expectRST(tc.rst, tc.code)
			// The connection goes on: another request is answered.
			p.headers(101, true, request("/")...)
			if status, body := p.expectResponse(101); status != "200" || body != "ok" {
				t.Fatalf("after the stream error: %s %q", status, body)
			}
		})
	}
}

// TestServerExchange covers the good paths: a request with a body and
// trailers, PING, a client reset reaching the receiver, an over-long head
// answered 431, and many streams at once.
func TestServerExchange(t *testing.T) {
	t.Parallel()
	p := newPeer(t, stream.Limits{MaxHeaderBytes: 4096})

	p.headers(1, false, append(request("/post"), "content-type", "text/plain")...)
	p.fr.WriteData(1, false, []byte("hello "))
	p.headers(1, true, "x-trailer", "yes")
	if status, body := p.expectResponse(1); status != "200" || body != "ok" {
		t.Fatalf("POST: %s %q", status, body)
	}

	p.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	ack := p.next("PING ack", func(f http2.Frame) bool { pf, ok := f.(*http2.PingFrame); return ok && pf.IsAck() }).(*http2.PingFrame)
	if ack.Data != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Fatalf("PING ack data %v", ack.Data)
	}

	p.headers(3, false, request("/hold")...)
	<-p.h.held
	p.fr.WriteRSTStream(3, http2.ErrCodeCancel)
	if r := <-p.h.resets; r != stream.ResetConnectionClosed {
		t.Fatalf("reset reason %v", r)
	}

	p.headers(5, true, append(request("/"), "x-big", string(bytes.Repeat([]byte("b"), 5000)))...)
	if status, _ := p.expectResponse(5); status != "431" {
		t.Fatalf("big head: %s", status)
	}

	for id := uint32(7); id < 7+2*500; id += 2 {
		p.headers(id, true, request("/many")...)
	}
	for id := uint32(7); id < 7+2*500; id += 2 {
		if status, body := p.expectResponse(id); status != "200" || body != "ok" {
			t.Fatalf("stream %d: %s %q", id, status, body)
		}
	}
}

// TestServerFlowControl: a response larger than the client's windows
// waits for credit and completes as credit comes, and its watermarks rise
// while it waits.
func TestServerFlowControl(t *testing.T) {
	t.Parallel()
	p := newPeer(t, stream.Limits{})
	p.headers(1, true, request("/hold")...)
	s := (<-p.h.held).(*Stream)
	var h protocol.Headers
	h.AddString(protocol.Status, "200")
	s.SendHeaders(&h, false)
	wm := &recordWatermarks{ch: make(chan bool, 4)}
	s.SetWatermarks(wm)
	big := bytes.Repeat([]byte("z"), 1<<20)
	b := newBuf(big)
	s.SendData(b, true)
	if high := <-wm.ch; !high {
		t.Fatal("watermark not raised while waiting for credit")
	}
	var got []byte
	for len(got) < len(big) {
		f := p.next("data", func(f http2.Frame) bool { return f.Header().Type == http2.FrameData })
		d := f.(*http2.DataFrame).Data()
		got = append(got, d...)
		p.fr.WriteWindowUpdate(0, uint32(len(d)))
		p.fr.WriteWindowUpdate(1, uint32(len(d)))
	}
	if !bytes.Equal(got, big) {
		t.Fatal("body differs")
	}
	if high := <-wm.ch; high {
		t.Fatal("watermark not lowered after the data left")
	}
}

type recordWatermarks struct{ ch chan bool }

func (w *recordWatermarks) OnWriteBufferHigh(high bool) { w.ch <- high }
