package test

import (
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestMetricsCountGRPC checks gRPC calls: successes, and a proxy failure
// that gRPC carries under HTTP 200 (grpc-status UNAVAILABLE for a refused
// connection), counted as failed all the same.
func TestMetricsCountGRPC(t *testing.T) {
	t.Parallel()
	up, _, _ := startGRPC(t)
	cfg := h2Config(t, "Http2", "Http2", "", []string{up}, patch{"admin", adminJSON},
		patch{"servers[0].routers[0].virtual_hosts[0].routers", `[
		  {"match": {"prefix": "/grpc.testing.TestService/UnaryCall"}, "route": {"cluster_name": "c"}},
		  {"match": {"prefix": "/"}, "route": {"cluster_name": "down"}}]`},
		patch{"cluster_manager.clusters[1]", `{"name": "down", "type": "SIMPLE", "lb_type": "LB_RANDOM", "hosts": [{"address": "` + refusingAddr(t) + `"}]}`})
	p := startInProcess(t, cfg)
	client := grpcClient(t, p.addr(0))
	for range 3 {
		if _, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.EmptyCall(callCtx(t), &testpb.Empty{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("EmptyCall to a refusing host: %v, want Unavailable", err)
	}
	url := "http://" + p.Admin().Addr().String() + "/metrics"
	waitSeries(t, func() map[string]float64 { return series(scrape(t, url)) }, map[string]float64{
		`mosn_downstream_request_total{listener="h2"}`:      4,
		`mosn_downstream_request_failed{listener="h2"}`:     1,
		`mosn_downstream_request_active{listener="h2"}`:     0,
		`mosn_upstream_response_success{cluster="c"}`:       3,
		`mosn_upstream_connection_con_fail{cluster="down"}`: 1,
		`mosn_upstream_response_failed{cluster="down"}`:     1,
	})
}
