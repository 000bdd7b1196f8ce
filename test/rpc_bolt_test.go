package test

import (
	"strings"
	"testing"
)

// TestBoltToBolt: a real SOFARPC client calls a real SOFARPC server through
// the proxy, in bolt v1 and in bolt v2 with CRC32.
func TestBoltToBolt(t *testing.T) {
	t.Parallel()
	_, port := startPeer(t, "bolt", "s1")
	srv := startInProcess(t, rpcConfig(t, "SofaRpc", "SofaRpc", []string{"127.0.0.1:" + port}))
	for _, v2 := range []bool{false, true} {
		args := []string{"--service", "com.example.EchoService", "--method", "echo", "--args", `["@"]`, "--calls", "20"}
		if v2 {
			args = append(args, "--bolt2")
		}
		r := callPeer(t, "bolt", srv.addr(0), args...)
		if r.OK != 20 || len(r.Errors) > 0 {
			t.Fatalf("v2=%v: %d ok, errors %v", v2, r.OK, r.Errors)
		}
		if s, _ := r.Results[0].(string); !strings.HasPrefix(s, "s1:") {
			t.Fatalf("result %v", r.Results)
		}
	}
}
