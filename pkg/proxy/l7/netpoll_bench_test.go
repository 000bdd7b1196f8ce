package l7_test

import (
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/server"
)

// BenchmarkProxyRequestNetpoll is BenchmarkProxyRequest with
// use_netpoll_mode: the proxy's downstream and upstream connections are read
// by event loops instead of a goroutine each.
func BenchmarkProxyRequestNetpoll(b *testing.B) {
	srv, err := startBenchProxy(b, `,"use_netpoll_mode":true`, "", server.Options{})
	if err != nil {
		b.Skip(err) // no epoll here
	}
	b.Cleanup(srv.Close)
	loopRequests(b, srv.Listeners()[0].Addr().String())
}
