package test

// Helpers of the integration suite: the mosn binary (built once, on first
// use), the proxy run in-process, small real backends on 127.0.0.1:0, config
// patches, and bounded polling. Nothing here sleeps to wait for something:
// readiness is a log line, a channel or a polled condition under a deadline.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/config"
	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/server"
	"github.com/sidecar-mesh/mosn/pkg/upstream"

	// The in-process server needs the network filter the binary compiles in
	// (cmd/mosn/imports.go).
	_ "github.com/sidecar-mesh/mosn/pkg/proxy/tcpproxy"
)

// waitBound is the failure bound of every wait in this package: generous,
// so that a slow machine only makes a test slower, never makes it fail.
const waitBound = 30 * time.Second

// specs holds the shared example configs, relative to this package.
const specs = "../../shared/specs"

// Paths into the configs built by proxyConfig.
const (
	l0       = "servers[0].listeners[0]"
	filter0  = l0 + ".filter_chains[0].filters[0]"
	cluster0 = "cluster_manager.clusters[0]"
)

var (
	binDir   string // removed by TestMain
	buildBin sync.Once
	binPath  string
	binErr   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mosn-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test: temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mosnBinary builds ../cmd/mosn once, on first use (so that `make
// check-imports`, which runs one test of this package, does not pay for it),
// and returns its path.
func mosnBinary(t *testing.T) string {
	t.Helper()
	buildBin.Do(func() {
		p := filepath.Join(binDir, "mosn")
		out, err := exec.Command("go", "build", "-o", p, "../cmd/mosn").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build ../cmd/mosn: %v\n%s", err, out)
			return
		}
		binPath = p
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// childEnv is the test's environment without MOSN_CONFIG, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOSN_CONFIG=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// lineLog collects what a process writes to one of its streams, and wakes
// whoever waits for a line.
type lineLog struct {
	mu      sync.Mutex
	data    []byte
	changed chan struct{} // closed and replaced on every write
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.data = append(l.data, p...)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.data)
}

// lines returns the complete lines written so far and a channel closed on the
// next write.
func (l *lineLog) lines() ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := string(l.data)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		s = ""
	}
	if s == "" {
		return nil, l.changed
	}
	return strings.Split(s, "\n"), l.changed
}

// proc is a mosn process started by a test.
type proc struct {
	cmd     *exec.Cmd
	pidFile string
	stdout  *lineLog
	stderr  *lineLog
	done    chan struct{} // closed once the process has exited and been reaped
	code    int           // exit code, valid after done; -1 if a signal ended it
	state   string        // how it ended ("exit status 1", "signal: terminated"), valid after done
}

// launch starts the binary with args and env (see childEnv), reaping it in
// the background and killing it (by its PID) at cleanup if it still runs.
func launch(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: newLineLog(), stderr: newLineLog(), done: make(chan struct{})}
	p.cmd = exec.Command(mosnBinary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start mosn: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.code, p.state = p.cmd.ProcessState.ExitCode(), p.cmd.ProcessState.String()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

var listeningLine = regexp.MustCompile(`msg=listening .*listener=(\S+) address=(\S+)`)

// startBinary writes cfgJSON to a file of t.TempDir() and runs `mosn start -c
// FILE --pid-file PID args...`. It waits (within waitBound) for the process to
// log "started", which follows one "listening" line per bound listener, and
// returns the process and the listeners' addresses in config order.
func startBinary(t *testing.T, cfgJSON string, args ...string) (*proc, []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mosn.json")
	if err := os.WriteFile(cfg, []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "mosn.pid")
	p := launch(t, childEnv(), append([]string{"start", "-c", cfg, "--pid-file", pidFile}, args...)...)
	p.pidFile = pidFile
	return p, p.waitStarted(t)
}

// waitStarted waits for the "started" log line and returns the addresses of
// the "listening" lines before it.
func (p *proc) waitStarted(t *testing.T) []string {
	t.Helper()
	p.waitStdout(t, "msg=started")
	var addrs []string
	lines, _ := p.stdout.lines()
	for _, l := range lines {
		if m := listeningLine.FindStringSubmatch(l); m != nil {
			addrs = append(addrs, m[2])
		}
	}
	if len(addrs) == 0 {
		t.Fatalf("mosn started without a listening line; stdout:\n%s", p.stdout)
	}
	return addrs
}

// waitStdout waits for a stdout line containing substr and returns it. It
// fails if the process exits first or waitBound passes.
func (p *proc) waitStdout(t *testing.T, substr string) string {
	t.Helper()
	timer := time.NewTimer(waitBound)
	defer timer.Stop()
	for {
		lines, changed := p.stdout.lines()
		for _, l := range lines {
			if strings.Contains(l, substr) {
				return l
			}
		}
		select {
		case <-changed:
		case <-p.done:
			if l := p.stdout.String(); strings.Contains(l, substr) {
				continue // written just before it exited
			}
			t.Fatalf("mosn exited (%s) before logging %q; stdout:\n%s\nstderr:\n%s", p.state, substr, p.stdout, p.stderr)
		case <-timer.C:
			t.Fatalf("no %q line within %v; stdout:\n%s\nstderr:\n%s", substr, waitBound, p.stdout, p.stderr)
		}
	}
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits (within waitBound) for the process to exit and returns its exit
// code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(waitBound):
		t.Fatalf("mosn still running %v later; stdout:\n%s\nstderr:\n%s", waitBound, p.stdout, p.stderr)
		return -1
	}
}

// runBinary runs the binary to completion (killed after waitBound) and
// returns its output and exit code.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, mosnBinary(t), args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
	default:
		t.Fatalf("mosn %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// writeConfig writes doc to a file of t.TempDir() and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mosn.json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWith returns the first line holding every one of substrs, or "".
func lineWith(text string, substrs ...string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		for _, s := range substrs {
			if !strings.Contains(sc.Text(), s) {
				continue next
			}
		}
		return sc.Text()
	}
	return ""
}

// inproc is a proxy running in the test process, with its log.
type inproc struct {
	*server.Server
	log *syncBuffer
}

// startInProcess parses cfgJSON (which must have no problems at all, so that
// a typo in a test config is not silently ignored), builds the server with a
// logger writing to a buffer, and starts it; cleanup closes it.
func startInProcess(t *testing.T, cfgJSON string) *inproc {
	t.Helper()
	cfg, ps := config.Parse([]byte(cfgJSON))
	if len(ps) > 0 {
		t.Fatalf("test config has problems:\n%v\n%s", ps, cfgJSON)
	}
	log := new(syncBuffer)
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, ps := server.Build(cfg, server.Options{Logger: logger})
	if srv == nil {
		t.Fatalf("server.Build: %v", ps)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return &inproc{Server: srv, log: log}
}

// addr is the bound address of listener i.
func (s *inproc) addr(i int) string { return s.Listeners()[i].Addr().String() }

// listener is the stats of listener i.
func (s *inproc) listener(i int) *network.ListenerStats { return s.Listeners()[i].Stats() }

// cluster is the stats of the named cluster.
func (s *inproc) cluster(t *testing.T, name string) *upstream.ClusterStats {
	t.Helper()
	c := s.Clusters().Get(name)
	if c == nil {
		t.Fatalf("no cluster %q", name)
	}
	return c.Stats()
}

// backend is a real TCP server on 127.0.0.1:0 running handle on each
// connection, which it closes when handle returns. Cleanup closes the
// listener and every open connection and waits for the handlers.
type backend struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startBackend(t *testing.T, handle func(c *net.TCPConn)) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln, conns: make(map[net.Conn]struct{})}
	b.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns[c] = struct{}{}
			b.mu.Unlock()
			b.wg.Go(func() {
				defer func() {
					c.Close()
					b.mu.Lock()
					delete(b.conns, c)
					b.mu.Unlock()
				}()
				handle(c.(*net.TCPConn))
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

// open is the number of connections whose handler has not returned.
func (b *backend) open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// echo writes back what it reads, as it reads it, and half-closes when the
// peer has. It copies through a buffer of its own: io.Copy between two
// TCPConns would splice through a pipe, and the pipes the process holds are
// what TestIdleConnectionsCostTwoSockets counts for the proxy.
func echo(c *net.TCPConn) {
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 32<<10))
	c.CloseWrite()
}

// named writes its name and a newline, then reads until the peer closes.
func named(name string) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		io.WriteString(c, name+"\n")
		io.Copy(io.Discard, c)
	}
}

// refusingAddr returns an address on which connections are refused: a socket
// bound to 127.0.0.1:0 that never listens. Holding the port bound (without
// SO_REUSEADDR) for the test's lifetime means no other test can start
// listening on it, which "bind a port, close it, use it" cannot promise.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// dial connects to addr within waitBound.
func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitBound)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads back as many bytes, which must equal it.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(waitBound))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back %q: %v (got %q)", msg, err, got)
	}
	if string(got) != msg {
		t.Fatalf("read back %q, want %q", got, msg)
	}
}

// readLine reads one line (without its newline) within waitBound.
func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitBound))
	defer c.SetReadDeadline(time.Time{})
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("read line: %v (so far %q)", err, line)
		}
		if b[0] == '\n' {
			return string(line)
		}
		line = append(line, b[0])
	}
}

// expectClosed reads from c until the peer closes it (EOF or reset), failing
// if data arrives or waitBound passes first. The connections under test have
// idle timeouts far above waitBound, so a close seen here is not an idle
// close.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitBound))
	n, err := c.Read(make([]byte, 1))
	switch {
	case n > 0:
		t.Fatalf("read data from a connection that should be closed")
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
	default:
		t.Fatalf("connection not closed by the proxy: read: %v", err)
	}
}

// waitUntil polls cond until it holds, failing after waitBound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", waitBound, what)
		case <-tick.C:
		}
	}
}

// prng returns a reader of size pseudo-random bytes, the same for a seed.
func prng(seed uint64, size int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return io.LimitReader(rand.NewChaCha8(s), size)
}

// proxyConfig is the TCP proxy config the suite starts from: one listener
// "tcp" on 127.0.0.1:0 with 64 KiB buffers and a tcp_proxy to cluster
// "backend" whose one host is host, then patches.
func proxyConfig(t *testing.T, host string, patches ...patch) string {
	t.Helper()
	doc := `{
  "servers": [{
    "default_log_path": "stdout",
    "default_log_level": "INFO",
    "graceful_timeout": "5s",
    "listeners": [{
      "name": "tcp",
      "address": "127.0.0.1:0",
      "bind_port": true,
      "connection_idle_timeout": "1h",
      "per_connection_buffer_limit_bytes": 65536,
      "filter_chains": [{"filters": [{"type": "tcp_proxy", "config": {"cluster": "backend"}}]}]
    }]
  }],
  "cluster_manager": {"clusters": [{
    "name": "backend",
    "type": "SIMPLE",
    "lb_type": "LB_ROUNDROBIN",
    "connect_timeout": "2s",
    "conn_buffer_limit_bytes": 65536,
    "circuit_breakers": [{"max_connections": 10000}],
    "hosts": [{"address": ` + strconv.Quote(host) + `}]
  }]}
}`
	return patchJSON(t, doc, patches...)
}

// patch sets the value at a JSON path (as config problems name them, such as
// servers[0].listeners[1].address) to the JSON text value, or deletes it when
// value is empty. An index one past the end of an array appends; an empty
// path replaces the whole document with value, verbatim.
type patch struct{ path, value string }

// patchJSON applies patches to doc, in order.
func patchJSON(t *testing.T, doc string, patches ...patch) string {
	t.Helper()
	if len(patches) == 0 {
		return doc
	}
	root := decodeJSON(t, doc)
	for _, p := range patches {
		if p.path == "" {
			return p.value
		}
		var val any
		if p.value != "" {
			val = decodeJSON(t, p.value)
		}
		root = setAt(t, root, p.path, splitPath(t, p.path), val, p.value == "")
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // keep numbers as written, out-of-range ones included
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("test JSON %s: %v", s, err)
	}
	return v
}

// splitPath turns a.b[2].c into "a", "b", 2, "c".
func splitPath(t *testing.T, path string) []any {
	t.Helper()
	var steps []any
	for part := range strings.SplitSeq(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			steps = append(steps, name)
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil {
				t.Fatalf("bad patch path %q", path)
			}
			steps = append(steps, i)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
}

// setAt returns node with the value at steps set to val, or deleted.
func setAt(t *testing.T, node any, path string, steps []any, val any, del bool) any {
	t.Helper()
	if len(steps) == 0 {
		return val
	}
	last := len(steps) == 1
	switch step := steps[0].(type) {
	case string:
		m, ok := node.(map[string]any)
		if !ok {
			m = map[string]any{}
		}
		if del && last {
			delete(m, step)
		} else {
			m[step] = setAt(t, m[step], path, steps[1:], val, del)
		}
		return m
	default:
		i := step.(int)
		s, _ := node.([]any)
		if i == len(s) && !del {
			s = append(s, nil)
		}
		if i >= len(s) {
			t.Fatalf("patch %q: index %d past the end", path, i)
		}
		if del && last {
			return append(s[:i], s[i+1:]...)
		}
		s[i] = setAt(t, s[i], path, steps[1:], val, del)
		return s
	}
}

// fdCounts counts this process's open file descriptors, and those that are
// pipes and sockets. ok is false where /proc/self/fd does not exist.
func fdCounts() (total, pipes, sockets int, ok bool) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, 0, 0, false
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the directory's own fd, closed by now
		}
		total++
		switch {
		case strings.HasPrefix(target, "pipe:"):
			pipes++
		case strings.HasPrefix(target, "socket:"):
			sockets++
		}
	}
	return total, pipes, sockets, true
}
