// Command boltecho is the bolt backend of the benchmark (test/bench/bolt.sh):
// it answers every bolt request with the SofaResponse that sofa-rpc-node's
// server gave to echo("hello") (response.bin, captured on loopback), under
// the request's id, in the request's version. Heartbeats get their ack.
// Each connection is served by one goroutine that decodes in place and
// writes the answers to everything it read in one write.
//
//	boltecho -addr 127.0.0.1:12200
//
// It prints "listening ADDR" once it accepts connections (with port 0, the
// port the kernel chose).
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

//go:embed response.bin
var captured []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:12200", "address to listen on")
	flag.Parse()
	var f rpc.Frame
	if _, err := (bolt.Codec{}).Decode(captured, &f, rpc.Limits{}); err != nil {
		log.Fatalf("boltecho: captured response: %v", err)
	}
	content := append([]byte(nil), f.Body...)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "boltecho:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serve(c, content)
	}
}

func serve(c net.Conn, content []byte) {
	defer c.Close()
	var (
		f    rpc.Frame
		resp protocol.Headers
		in   = make([]byte, 0, 64<<10)
		out  []byte
	)
	for {
		if len(in) == cap(in) {
			in = append(in, 0)[:len(in)]
		}
		n, err := c.Read(in[len(in):cap(in)])
		in = in[:len(in)+n]
		off := 0
		for {
			m, derr := (bolt.Codec{}).Decode(in[off:], &f, rpc.Limits{})
			if derr == rpc.ErrNeedMore {
				break
			}
			if derr != nil {
				return
			}
			off += m
			var bufs []*network.Buffer
			switch f.Kind {
			case rpc.KindHeartbeat:
				bufs = []*network.Buffer{(bolt.Codec{}).EncodeHeartbeatAck(&f)}
			case rpc.KindRequest:
				body := network.GetBuffer(len(content))
				body.Append(content)
				bufs = (bolt.Codec{}).EncodeResponse(&f, &resp, body)
			}
			for _, b := range bufs {
				out = append(out, b.Bytes()...)
				b.Release()
			}
		}
		in = in[:copy(in, in[off:])]
		if len(out) > 0 {
			if _, werr := c.Write(out); werr != nil {
				return
			}
			out = out[:0]
		}
		if err != nil {
			return
		}
	}
}
