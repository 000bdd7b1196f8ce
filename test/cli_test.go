package test

// The mosn command as operators drive it: version, validate, start (with -c
// or MOSN_CONFIG), stop, and the two stop signals.

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCLIVersion(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runBinary(t, childEnv(), "version")
	if code != 0 || !strings.HasPrefix(stdout, "mosn version ") {
		t.Errorf("mosn version: exit %d, stdout %q, stderr %q; want exit 0 and \"mosn version ...\"", code, stdout, stderr)
	}
}

// TestCLIValidateSeed validates the seed config: it is valid and this build
// runs every protocol it uses (SofaRpc and Http2; TestSeedConfig runs it).
func TestCLIValidateSeed(t *testing.T) {
	t.Parallel()
	file := filepath.Join(specs, "seed-config.json")
	stdout, stderr, code := runBinary(t, childEnv(), "validate", "-c", file)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "config is valid") || strings.Contains(stdout, "cannot run") {
		t.Errorf("stdout %q, want a valid config that can run", stdout)
	}
	if strings.Contains(stderr, "not supported yet") || strings.Contains(stderr, ": error: ") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestCLIValidateMOSNConfigs validates each of MOSN's example configs: all
// are valid except the TLS one, whose certificates exist only on MOSN's
// machines.
func TestCLIValidateMOSNConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(specs, "mosn-configs", "*.json"))
	if err != nil || len(files) < 8 {
		t.Fatalf("mosn-configs: %d files (%v), want MOSN's 8 or more", len(files), err)
	}
	tls := "servers[0].listeners[0].filter_chains[0].tls_context."
	wantErrors := map[string][]string{
		"tls-http1-proxy.json": {
			tls + `ca_cert: "../certs/ca.pem": no such file`,
			tls + `cert_chain: "../certs/cert.pem": no such file`,
			tls + `private_key: "../certs/key.pem": no such file`,
		},
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runBinary(t, childEnv(), "validate", "-c", file)
			want := wantErrors[filepath.Base(file)]
			if len(want) == 0 {
				if code != 0 || strings.Contains(stderr, ": error: ") {
					t.Errorf("exit %d, want 0 and no errors; stderr:\n%s", code, stderr)
				}
				return
			}
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range want {
				if !strings.Contains(stderr, file+": error: "+w) {
					t.Errorf("stderr lacks %q; stderr:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestCLIConfigFromEnv gives the config in MOSN_CONFIG only: validate and
// start both use it.
func TestCLIConfigFromEnv(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	cfg := writeConfig(t, proxyConfig(t, b.addr(), patch{l0 + ".name", `"from-env"`}))
	env := childEnv("MOSN_CONFIG=" + cfg)

	stdout, stderr, code := runBinary(t, env, "validate")
	if code != 0 || !strings.Contains(stdout, "config is valid: 1 listener(s), 1 cluster(s)") {
		t.Errorf("validate with MOSN_CONFIG: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	p := launch(t, env, "start", "--pid-file", filepath.Join(t.TempDir(), "mosn.pid"))
	addrs := p.waitStarted(t)
	if line := lineWith(p.stdout.String(), "msg=listening", "listener=from-env"); line == "" {
		t.Errorf("no listening line for listener from-env; stdout:\n%s", p.stdout)
	}
	roundTrip(t, dial(t, addrs[0]), "through the config of MOSN_CONFIG")
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0", code)
	}
}

// TestCLIStop stops a running proxy with `mosn stop --pid-file`.
func TestCLIStop(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	p, addrs := startBinary(t, proxyConfig(t, b.addr()))
	c := dial(t, addrs[0])
	roundTrip(t, c, "before stop")
	c.Close() // else the stop would wait out the graceful_timeout
	data, err := os.ReadFile(p.pidFile)
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Fatalf("pid file %s: %q, %v; want pid %d", p.pidFile, data, err, p.cmd.Process.Pid)
	}

	stdout, stderr, code := runBinary(t, childEnv(), "stop", "--pid-file", p.pidFile)
	if code != 0 || !strings.Contains(stdout, "stopped pid "+strconv.Itoa(p.cmd.Process.Pid)) {
		t.Errorf("mosn stop: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("proxy exit %d, want 0", code)
	}
	if _, err := os.Stat(p.pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file still there after stop: %v", err)
	}

	// With the proxy gone, stop has nothing to stop.
	if _, stderr, code := runBinary(t, childEnv(), "stop", "--pid-file", p.pidFile); code != 1 || !strings.Contains(stderr, "no running proxy") {
		t.Errorf("second stop: exit %d, stderr %q; want 1 and %q", code, stderr, "no running proxy")
	}
}

// TestCLISIGTERMDrains sends SIGTERM with one idle proxied connection open:
// new connections are refused at once, the open one works on until
// graceful_timeout, then it is closed and the process exits 0.
func TestCLISIGTERMDrains(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	b := startBackend(t, echo)
	p, addrs := startBinary(t, proxyConfig(t, b.addr(), patch{"servers[0].graceful_timeout", `"2s"`}))
	c := dial(t, addrs[0])
	roundTrip(t, c, "before SIGTERM")

	sent := time.Now()
	p.signal(t, syscall.SIGTERM)
	p.waitStdout(t, "SIGTERM: draining")
	waitUntil(t, "new connections to be refused", func() bool {
		nc, err := net.Dial("tcp", addrs[0])
		if err == nil {
			nc.Close() // accepted before the listener closed
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	// Refused, and the old connection still works: the drain is on.
	roundTrip(t, c, "while draining")

	expectClosed(t, c)
	if waited := time.Since(sent); waited < grace {
		t.Errorf("open connection closed %v after SIGTERM, before the %v graceful_timeout", waited, grace)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d after the drain, want 0; stderr:\n%s", code, p.stderr)
	}
	if lineWith(p.stdout.String(), "msg=drained", "closed_by_force=1") == "" {
		t.Errorf("no drained line with closed_by_force=1; stdout:\n%s", p.stdout)
	}
}

// TestCLISIGTERMAtReadiness sends SIGTERM as soon as the proxy logs its
// listener bound, the readiness signal a supervisor acts on: the proxy must
// stop as SIGTERM promises (drain, exit 0, remove its pid file), not die of
// the signal's default action. Each attempt is independent; twenty give a
// signal sent early in the proxy's life many chances to land. The test is not
// parallel: it runs before the parallel tests, while the test process is
// quiet and sends the signal as soon as it reads the line.
func TestCLISIGTERMAtReadiness(t *testing.T) {
	cfg := writeConfig(t, proxyConfig(t, "127.0.0.1:1"))
	for i := range 20 {
		pidFile := filepath.Join(t.TempDir(), "mosn.pid")
		p := launch(t, childEnv(), "start", "-c", cfg, "--pid-file", pidFile)
		p.waitStdout(t, "msg=listening")
		p.signal(t, syscall.SIGTERM)
		if code := p.wait(t); code != 0 {
			t.Fatalf("attempt %d: SIGTERM right after the listening line: mosn ended with %s, want a drain and exit 0; stdout:\n%s",
				i+1, p.state, p.stdout)
		}
		if _, err := os.Stat(pidFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("attempt %d: pid file left behind: %v", i+1, err)
		}
	}
}

// TestCLISIGINTStopsAtOnce sends SIGINT with one proxied connection open and
// an hour of graceful_timeout: the connection is closed and the process exits
// 0 without draining (waitBound is far below the hour).
func TestCLISIGINTStopsAtOnce(t *testing.T) {
	t.Parallel()
	b := startBackend(t, echo)
	p, addrs := startBinary(t, proxyConfig(t, b.addr(), patch{"servers[0].graceful_timeout", `"1h"`}))
	c := dial(t, addrs[0])
	roundTrip(t, c, "before SIGINT")

	p.signal(t, syscall.SIGINT)
	expectClosed(t, c)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0; stderr:\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "SIGINT: stopping now") {
		t.Errorf("no SIGINT line; stdout:\n%s", p.stdout)
	}
}

// TestExampleConfigsValidate keeps every example config in configs/ (the
// README's) valid and runnable by this build: no problem, no warning, no
// feature reported as not supported.
func TestExampleConfigsValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../configs/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("configs/*.json: %v, %d files", err, len(files))
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "grafana-") {
			continue // a dashboard, not a mosn config
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runBinary(t, childEnv(), "validate", "-c", f)
			if code != 0 || !strings.HasPrefix(stdout, "config is valid: ") || stderr != "" {
				t.Fatalf("validate %s: exit %d\nstdout: %s\nstderr: %s", f, code, stdout, stderr)
			}
		})
	}
}
