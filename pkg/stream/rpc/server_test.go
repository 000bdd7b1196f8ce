package rpc

import (
	"encoding/hex"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// handler answers each request as told by its x-do header: "echo" sends
// the body back, "reset" resets, anything else waits.
type handler struct {
	streams chan stream.ServerStream
	resets  chan stream.ResetReason
}

func (h *handler) NewStream(s stream.ServerStream) stream.Receiver {
	return &serverReceiver{s: s, h: h}
}

type serverReceiver struct {
	s    stream.ServerStream
	h    *handler
	do   string
	body []byte
}

func (r *serverReceiver) OnHeaders(h *protocol.Headers, end bool) {
	v, _ := h.Get("x-do")
	r.do = string(v)
	if end {
		r.finish()
	}
}

func (r *serverReceiver) OnData(p []byte, end bool) {
	r.body = append(r.body, p...)
	if end {
		r.finish()
	}
}

func (r *serverReceiver) finish() {
	switch r.do {
	case "echo":
		var h protocol.Headers
		h.AddString(protocol.Status, "200")
		r.s.SendHeaders(&h, false)
		b := network.GetBuffer(len(r.body))
		b.Append(r.body)
		r.s.SendData(b, true)
	case "reset":
		r.s.Reset()
	default:
		r.h.streams <- r.s
	}
}

func (r *serverReceiver) OnTrailers(*protocol.Headers) {}

func (r *serverReceiver) OnReset(reason stream.ResetReason) {
	if r.h.resets != nil {
		r.h.resets <- reason
	}
}

// serve runs a ServerConn on one accepted connection and returns the
// client's end.
func serve(t *testing.T, h stream.ServerHandler) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := network.NewServerConn(nc, network.Options{})
	NewServerConn(c, bolt.Codec{}, stream.Limits{}, h)
	c.Start()
	t.Cleanup(func() { client.Close(); c.Close(network.CloseNoFlush) })
	client.SetDeadline(time.Now().Add(bound))
	return client
}

func readFrame(t *testing.T, c net.Conn, buf *[]byte) *rpc.Frame {
	t.Helper()
	var f rpc.Frame
	for {
		n, err := (bolt.Codec{}).Decode(*buf, &f, rpc.Limits{})
		if err == nil {
			*buf = (*buf)[n:]
			return &f
		}
		var tmp [4096]byte
		m, rerr := c.Read(tmp[:])
		*buf = append(*buf, tmp[:m]...)
		if rerr != nil {
			t.Fatalf("read: %v", rerr)
		}
	}
}

func TestServerConn(t *testing.T) {
	h := &handler{streams: make(chan stream.ServerStream, 4)}
	c := serve(t, h)
	var buf []byte
	v2, err := os.ReadFile("../../protocol/bolt/testdata/v2-request.bin")
	if err != nil {
		t.Fatal(err)
	}
	var req rpc.Frame
	(bolt.Codec{}).Decode(v2, &req, rpc.Limits{})

	// A heartbeat, answered here.
	hb, _ := hex.DecodeString("0101000001000000070100000bb80000000000000000")
	c.Write(hb)
	if f := readFrame(t, c, &buf); f.Kind != rpc.KindHeartbeatAck || f.ID != 7 {
		t.Fatalf("heartbeat: %+v", f)
	}
	// Requests with their ids, answered in their version.
	for id, do := range map[uint64]string{41: "echo", 42: "reset"} {
		h := req.Headers
		h.AddString("x-do", do)
		body := network.GetBuffer(4)
		body.AppendString("ping")
		out := (bolt.Codec{V2: true}).EncodeRequest(id, &h, body)
		c.Write(join(out))
		f := readFrame(t, c, &buf)
		switch {
		case f.ID != id || f.Version != 2:
			t.Fatalf("%s: id %d version %d", do, f.ID, f.Version)
		case do == "echo" && (f.Status != bolt.StatusSuccess || string(f.Body) != "ping"):
			t.Fatalf("echo: status %d body %q", f.Status, f.Body)
		case do == "reset" && f.Status != bolt.StatusConnectionClosed:
			t.Fatalf("reset: status %d", f.Status)
		}
	}
	// A oneway request gets no answer even when the handler sends one.
	h2 := req.Headers
	h2.AddString("x-do", "wait")
	h2.AddString(rpc.HeaderOneway, "1")
	c.Write(join((bolt.Codec{}).EncodeRequest(43, &h2, nil)))
	s := <-h.streams
	var resp protocol.Headers
	resp.AddString(protocol.Status, "200")
	s.SendHeaders(&resp, true)
	c.Write(hb)
	if f := readFrame(t, c, &buf); f.Kind != rpc.KindHeartbeatAck {
		t.Fatalf("after a oneway request: %+v", f)
	}
	// A corrupt frame closes the connection, counted.
	before := ProcessStats().CorruptFrames.Load()
	c.Write([]byte{0x09, 0x09, 0x09})
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("read to the close: %v", err)
	}
	if ProcessStats().CorruptFrames.Load() != before+1 {
		t.Fatal("the corrupt frame was not counted")
	}
}

// TestServerStreamExpires: a request unanswered past its own timeout is
// answered TIMEOUT and reset towards the proxy.
func TestServerStreamExpires(t *testing.T) {
	h := &handler{streams: make(chan stream.ServerStream, 1), resets: make(chan stream.ResetReason, 1)}
	c := serve(t, h)
	var buf []byte
	var req protocol.Headers
	req.AddString("x-do", "wait")
	req.AddString(rpc.HeaderTimeout, "30")
	c.Write(join((bolt.Codec{}).EncodeRequest(9, &req, nil)))
	if f := readFrame(t, c, &buf); f.ID != 9 || f.Status != bolt.StatusTimeout {
		t.Fatalf("%+v", f)
	}
	if reason := <-h.resets; reason != stream.ResetLocal {
		t.Fatalf("reset %v", reason)
	}
	// The proxy's late answer goes nowhere.
	s := <-h.streams
	var resp protocol.Headers
	resp.AddString(protocol.Status, "200")
	s.SendHeaders(&resp, true)
	hb, _ := hex.DecodeString("0101000001000000070100000bb80000000000000000")
	c.Write(hb)
	if f := readFrame(t, c, &buf); f.Kind != rpc.KindHeartbeatAck {
		t.Fatalf("after the timeout: %+v", f)
	}
}

// TestServerConnInFlight: at MaxInFlight unanswered requests reading
// pauses, and resumes once half are answered, losing nothing.
func TestServerConnInFlight(t *testing.T) {
	const total = MaxInFlight + 100
	h := &handler{streams: make(chan stream.ServerStream, total)}
	c := serve(t, h)
	var req protocol.Headers
	req.AddString("x-do", "wait")
	var all []byte
	for i := range total {
		all = append(all, join((bolt.Codec{}).EncodeRequest(uint64(i+1), &req, nil))...)
	}
	go c.Write(all)
	var got []stream.ServerStream
	for len(got) < MaxInFlight {
		got = append(got, <-h.streams)
	}
	var ok protocol.Headers
	ok.AddString(protocol.Status, "200")
	for _, s := range got[:MaxInFlight/2] {
		s.SendHeaders(&ok, true)
	}
	for len(got) < total {
		select {
		case s := <-h.streams:
			got = append(got, s)
		case <-time.After(bound):
			t.Fatalf("reading did not resume: %d of %d requests", len(got), total)
		}
	}
}
