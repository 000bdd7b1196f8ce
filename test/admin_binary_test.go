package test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

var adminLine = regexp.MustCompile(`msg="serving admin API" .*address=(\S+)`)

// TestBinaryAdminAndLogRotation runs the real binary with its error log and
// an access log in files and an admin listener: the admin API answers,
// /metrics counts the requests, and SIGUSR1 after the files are moved away
// (log rotation) reopens both, with no line lost.
func TestBinaryAdminAndLogRotation(t *testing.T) {
	t.Parallel()
	b := startOutcomeBackends(t)
	dir := t.TempDir()
	errLog, accessLog := filepath.Join(dir, "error.log"), filepath.Join(dir, "access.log")
	cfg := patchJSON(t, outcomeConfig(b),
		patch{"servers[0].default_log_path", `"` + errLog + `"`},
		patch{"servers[0].listeners[0].access_logs", `[{"log_path": "` + accessLog + `", "log_format": "%start_time% %response_code%"}]`})
	cfgPath := writeConfig(t, cfg)
	p := launch(t, childEnv(), "start", "-c", cfgPath, "--pid-file", filepath.Join(dir, "mosn.pid"))

	read := func(path string) string { b, _ := os.ReadFile(path); return string(b) }
	waitUntil(t, "msg=started in the error log", func() bool {
		select {
		case <-p.done:
			t.Fatalf("mosn exited (%s); stderr:\n%s\nerror log:\n%s", p.state, p.stderr, read(errLog))
		default:
		}
		return strings.Contains(read(errLog), "msg=started")
	})
	started := read(errLog)
	m := listeningLine.FindStringSubmatch(started)
	a := adminLine.FindStringSubmatch(started)
	if m == nil || a == nil {
		t.Fatalf("no listening or admin line in:\n%s", started)
	}
	proxyAddr, adminAddr := m[2], a[1]
	get := func(url string) {
		t.Helper()
		c := &http.Client{Timeout: waitBound}
		defer c.CloseIdleConnections() // so that SIGTERM's drain has nothing to wait for
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
	}
	get("http://" + proxyAddr + "/ok/1")
	var states struct{ State string }
	if code := getJSON(t, "http://"+adminAddr+"/api/v1/states", &states); code != 200 || states.State != "running" {
		t.Fatalf("states: %d %+v", code, states)
	}
	waitUntil(t, "the first access log line", func() bool { return strings.Count(read(accessLog), "\n") == 1 })

	// Rotate: move both files away, then SIGUSR1.
	if err := os.Rename(errLog, errLog+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(accessLog, accessLog+".1"); err != nil {
		t.Fatal(err)
	}
	p.signal(t, syscall.SIGUSR1)
	waitUntil(t, "the reopened error log", func() bool { return strings.Contains(read(errLog), "logs reopened") })
	get("http://" + proxyAddr + "/ok/2")
	waitUntil(t, "the second access log line, in the new file", func() bool { return strings.Count(read(accessLog), "\n") == 1 })
	if n := strings.Count(read(accessLog+".1"), "\n"); n != 1 {
		t.Errorf("rotated access log has %d lines, want 1", n)
	}
	if old := read(errLog + ".1"); !strings.Contains(old, "msg=started") || strings.Contains(old, "logs reopened") {
		t.Errorf("rotated error log:\n%s", old)
	}
	waitSeries(t, func() map[string]float64 { return series(scrape(t, "http://"+adminAddr+"/metrics")) }, map[string]float64{
		`mosn_downstream_request_total{listener="http"}`: 2,
		`mosn_upstream_response_success{cluster="ok"}`:   2,
	})
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d; error log:\n%s", code, read(errLog))
	}
}

// TestAdminExampleConfigValidates keeps the README's example config of the
// admin API and the prometheus sink valid and runnable.
func TestAdminExampleConfigValidates(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBinary(t, childEnv(), "validate", "-c", "../configs/admin.json")
	if code != 0 || !strings.Contains(stdout, "config is valid: 1 listener(s), 1 cluster(s)") || stderr != "" {
		t.Fatalf("validate configs/admin.json: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
