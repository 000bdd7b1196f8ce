package rpc

import (
	"io"
	"net"
	"os"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

// echoHandler answers every request at once with its own body.
type echoHandler struct{}

func (echoHandler) NewStream(s stream.ServerStream) stream.Receiver { return &echoReceiver{s: s} }

type echoReceiver struct {
	s    stream.ServerStream
	resp protocol.Headers
}

func (r *echoReceiver) OnHeaders(h *protocol.Headers, end bool) {
	r.resp.AddString(protocol.Status, "200")
	if end {
		r.s.SendHeaders(&r.resp, true)
	}
}

func (r *echoReceiver) OnData(p []byte, end bool) {
	r.s.SendHeaders(&r.resp, false)
	b := network.GetBuffer(len(p))
	b.Append(p)
	r.s.SendData(b, true)
}

func (r *echoReceiver) OnTrailers(*protocol.Headers) {}
func (r *echoReceiver) OnReset(stream.ResetReason)   {}

// BenchmarkServerConn is one bolt v2 request through the server side:
// decode, stream, handler, response encoded with its CRC and written to a
// socket whose reader discards.
func BenchmarkServerConn(b *testing.B) {
	frame, err := os.ReadFile("../../protocol/bolt/testdata/v2-request.bin")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	go io.Copy(io.Discard, client)
	nc, _ := ln.Accept()
	c := network.NewServerConn(nc, network.Options{})
	defer c.Close(network.CloseNoFlush)
	sc := NewServerConn(c, bolt.Codec{}, stream.Limits{}, echoHandler{})
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		buf := network.GetBuffer(len(frame))
		buf.Append(frame)
		sc.OnData(c, buf, false)
		buf.Release()
	}
}
