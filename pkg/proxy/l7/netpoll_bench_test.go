package l7_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/server"
)

// BenchmarkProxyRequestNetpoll is BenchmarkProxyRequest with
// use_netpoll_mode: the proxy's downstream and upstream connections are read
// by event loops instead of a goroutine each.
func BenchmarkProxyRequestNetpoll(b *testing.B) {
	backend := rawBackend(b)
	cfg, ps := config.Parse(fmt.Appendf(nil, `{"servers":[{"default_log_level":"ERROR","use_netpoll_mode":true,
	  "routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
	  "listeners":[{"name":"l","address":"127.0.0.1:0","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
	  "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[{"address":%q}]}]}}`, backend))
	if err := ps.Err(); err != nil {
		b.Fatal(err)
	}
	srv, ps := server.Build(cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if srv == nil {
		b.Skip(ps) // no epoll here
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
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
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
}
