package l7_test

import (
	"bufio"
	"context"
	"fmt"

	"log/slog"
	"net"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/l7"
	"github.com/sidecar-mesh/mosn/pkg/server"
	_ "github.com/sidecar-mesh/mosn/pkg/stream/http1"
)

// rawBackend answers every request on a keep-alive connection with a fixed
// 64-byte response, without allocating, so that allocations counted by the
// benchmark are the proxy's.
func rawBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\ncontent-length: 64\r\ncontent-type: text/plain\r\n\r\n" +
		"0123456789012345678901234567890123456789012345678901234567890123")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					// Requests from the proxy have no body: read to the blank line.
					for {
						line, err := r.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxyRequest sends GET requests one after another on one
// keep-alive connection through the in-process proxy: allocs/op are the
// proxy's per-request allocations (client and backend allocate nothing).
func BenchmarkProxyRequest(b *testing.B) {
	backend := rawBackend(b)
	cfg, ps := config.Parse(fmt.Appendf(nil, `{"servers":[{"default_log_level":"ERROR",
	  "routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
	  "listeners":[{"name":"l","address":"127.0.0.1:0","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
	  "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[{"address":%q}]}]}}`, backend))
	if err := ps.Err(); err != nil {
		b.Fatal(err)
	}
	srv, ps := server.Build(cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if srv == nil {
		b.Fatal(ps)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listeners()[0].Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET /bench HTTP/1.1\r\nhost: example.com\r\nuser-agent: bench\r\naccept: */*\r\n\r\n")
	r := bufio.NewReader(conn)
	head := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		// Read the head up to the blank line, then the 64-byte body.
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			head += len(line)
			if len(line) <= 2 {
				break
			}
		}
		if _, err := r.Discard(64); err != nil {
			b.Fatal(err)
		}
	}
}
