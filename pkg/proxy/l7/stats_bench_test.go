package l7_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/server"
)

// BenchmarkProxyRequestStats is BenchmarkProxyRequest with request counting
// off, on, and on with an access log, in one run: what metrics and access
// logging cost per request (the budget is 5% of requests/s).
//
//	go test -run '^$' -bench ProxyRequestStats -benchmem -count 5 ./pkg/proxy/l7
func BenchmarkProxyRequestStats(b *testing.B) {
	backend := rawBackend(b)
	for _, tc := range []struct {
		name      string
		noStats   bool
		accessLog bool
	}{
		{"stats=off", true, false},
		{"stats=on", false, false},
		{"stats=on,accesslog=on", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			logs := ""
			if tc.accessLog {
				logs = fmt.Sprintf(`,"access_logs":[{"log_path":%q}]`, filepath.Join(b.TempDir(), "access.log"))
			}
			cfg, ps := config.Parse(fmt.Appendf(nil, `{"servers":[{"default_log_level":"ERROR",
			  "routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"c"}}]}]}],
			  "listeners":[{"name":"l","address":"127.0.0.1:0","bind_port":true%s,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
			  "cluster_manager":{"clusters":[{"name":"c","lb_type":"LB_ROUNDROBIN","hosts":[{"address":%q}]}]}}`, logs, backend))
			if err := ps.Err(); err != nil {
				b.Fatal(err)
			}
			srv, ps := server.Build(cfg, server.Options{Logger: slog.New(slog.DiscardHandler), DisableStats: tc.noStats})
			if srv == nil {
				b.Fatal(ps)
			}
			if err := srv.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			conn, err := net.Dial("tcp", srv.Listeners()[0].Addr().String())
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
			// CPU time of the whole process (proxy, client and backend)
			// per request: steadier than ns/op on a busy machine.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			if !tc.noStats {
				if n := srv.Sample().Listeners[0].Requests.RequestTotal.Load(); n < int64(b.N) {
					b.Fatalf("counted %d requests of %d", n, b.N)
				}
			}
		})
	}
}

// processCPU is the user and system CPU time the process has used, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
