package test

import (
	"strings"
	"testing"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

// TestMetricsCountBolt checks that bolt requests, proxied by the same L7
// proxy, count into the same metric names as HTTP.
func TestMetricsCountBolt(t *testing.T) {
	t.Parallel()
	up := startFrameServer(t, bolt.Codec{}, func(f *rpc.Frame) [][]byte {
		if f.Kind != rpc.KindRequest {
			return nil
		}
		h := f.Headers
		body := network.GetBuffer(4)
		body.AppendString("pong")
		var out []byte
		for _, b := range (bolt.Codec{}).EncodeResponse(f, &h, body) {
			out = append(out, b.Bytes()...)
			b.Release()
		}
		return [][]byte{out}
	})
	p := startInProcess(t, rpcConfig(t, "bolt", "bolt", []string{up.addr()}, patch{"admin", adminJSON},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[{"match": {"headers": [{"name": "service", "value": "com.example.EchoService:1.0"}]}, "route": {"cluster_name": "c", "timeout": "20s"}}]`}))
	fc := dialFrames(t, p.addr(0), bolt.Codec{})
	for range 3 {
		fc.write(capturedBolt(t, "v1-request.bin"))
		if f, err := fc.read(); err != nil || string(f.Body) != "pong" {
			t.Fatalf("request: %v %+v", err, f)
		}
	}
	none := strings.Replace(string(capturedBolt(t, "v1-request.bin")), "com.example.EchoService:1.0", "com.example.NoneService:1.0", 1)
	fc.write([]byte(none))
	if f, err := fc.read(); err != nil || f.Status != bolt.StatusNoProcessor {
		t.Fatalf("no route: %v %+v", err, f)
	}
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_downstream_request_total{listener="rpc"}`:          4,
		`mosn_downstream_request_active{listener="rpc"}`:         0,
		`mosn_downstream_connection_total{listener="rpc"}`:       1,
		`mosn_upstream_request_total{cluster="c"}`:               3,
		`mosn_upstream_response_success{cluster="c"}`:            3,
		`mosn_upstream_response_failed{cluster="c"}`:             0,
		`mosn_upstream_connection_total{cluster="c"}`:            1,
		`mosn_upstream_request_duration_time_count{cluster="c"}`: 3,
	})
}
