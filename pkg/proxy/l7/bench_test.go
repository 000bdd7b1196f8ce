package l7_test

import (
	"bufio"
	"context"
	"fmt"

	"log/slog"
	"net"
	"syscall"
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
	srv, err := startBenchProxy(b, "", "", server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	loopRequests(b, srv.Listeners()[0].Addr().String())
}

// startBenchProxy starts an in-process HTTP/1.1 proxy to rawBackend, with
// serverKeys and listenerKeys (",\"key\":value" JSON members, or "") added
// to its one server and listener.
func startBenchProxy(b *testing.B, serverKeys, listenerKeys string, opts server.Options) (*server.Server, error) {
	cfg, ps := config.Parse(fmt.Appendf(nil, `{"servers":[{"default_log_level":"ERROR"%s,
	  "routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
	  "listeners":[{"name":"l","address":"127.0.0.1:0","bind_port":true%s,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
	  "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[{"address":%q}]}]}}`, serverKeys, listenerKeys, rawBackend(b)))
	if err := ps.Err(); err != nil {
		b.Fatal(err)
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	srv, ps := server.Build(cfg, opts)
	if srv == nil {
		return nil, ps.Err()
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return srv, nil
}

// loopRequests runs the benchmark loop: one GET at a time to addr on one
// keep-alive connection, each 64-byte response read whole. It reports
// allocations, and the CPU time of the whole process (proxy, client and
// backend) per request as cpu-ns/op: steadier than ns/op on a busy machine.
func loopRequests(b *testing.B, addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET /bench HTTP/1.1\r\nhost: example.com\r\nuser-agent: bench\r\naccept: */*\r\n\r\n")
	r := bufio.NewReader(conn)
	b.ReportAllocs()
	cpu0 := processCPU()
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
			if len(line) <= 2 {
				break
			}
		}
		if _, err := r.Discard(64); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
