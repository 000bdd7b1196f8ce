package l7_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/server"
)

// BenchmarkProxyRequestStats is BenchmarkProxyRequest with request counting
// off, on, and on with an access log, in one run: what metrics and access
// logging cost per request (the budget is 5% of requests/s).
//
//	go test -run '^$' -bench ProxyRequestStats -benchmem -count 5 ./pkg/proxy/l7
func BenchmarkProxyRequestStats(b *testing.B) {
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
			srv, err := startBenchProxy(b, "", logs, server.Options{DisableStats: tc.noStats})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			loopRequests(b, srv.Listeners()[0].Addr().String())
			if !tc.noStats {
				if n := srv.Sample().Listeners[0].Requests.RequestTotal.Load(); n < int64(b.N) {
					b.Fatalf("counted %d requests of %d", n, b.N)
				}
			}
		})
	}
}
