package test

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBoltBenchTools checks the benchmark's own bolt load generator and
// backend (test/bench/boltload, boltecho) against the real peers: boltload's
// requests are answered SUCCESS by sofa-rpc-node's server, and boltecho's
// answers decode in sofa-rpc-node's client.
func TestBoltBenchTools(t *testing.T) {
	t.Parallel()
	nodePeers(t)
	dir := t.TempDir()
	for _, tool := range []string{"boltload", "boltecho"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "./bench/"+tool).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", tool, err, out)
		}
	}
	_, port := startPeer(t, "bolt", "s1")
	out, err := exec.Command(filepath.Join(dir, "boltload"), "-addr", "127.0.0.1:"+port, "-conns", "2", "-inflight", "4",
		"-warmup", "0s", "-duration", "1s").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "errors=0") || strings.Contains(string(out), "requests=0 ") {
		t.Fatalf("boltload against sofa-rpc-node: %v\n%s", err, out)
	}

	echo := exec.Command(filepath.Join(dir, "boltecho"), "-addr", "127.0.0.1:0")
	stdout, _ := echo.StdoutPipe()
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Process.Kill(); echo.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var addr string
	select {
	case l := <-lines:
		addr = strings.TrimPrefix(l, "listening ")
	case <-time.After(waitBound):
		t.Fatal("boltecho did not start")
	}
	r := callPeer(t, "bolt", addr, "--service", "com.example.EchoService", "--method", "echo", "--args", `["x"]`, "--calls", "5")
	if r.OK != 5 || r.Results[0] != "s1:hello" {
		t.Fatalf("sofa-rpc-node against boltecho: %+v", r)
	}
}
