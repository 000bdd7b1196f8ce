package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status string
		want         uint64
		err          string
	}{
		{"plain", "Name:\tmosn\nVmHWM:\t  9000 kB\nVmRSS:\t    8123 kB\nRssAnon:\t 4000 kB\n", 8123, ""},
		{"kernel thread", "Name:\tkworker\nState:\tI (idle)\n", 0, "no VmRSS"},
		{"no unit", "VmRSS:\t8123\n", 0, "malformed"},
		{"not a number", "VmRSS:\tx kB\n", 0, "malformed"},
	}
	for _, tt := range tests {
		got, err := parseVmRSS([]byte(tt.status))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestCPULine(t *testing.T) {
	t.Parallel()
	got := cpuLine(100, 4*time.Second, 300, true, coreTicks{busy: 320, steal: 4})
	want := "seconds=4.00 cpu_us=3000000 cpu_pct=75.0 core_pct=80.0 steal_pct=1.0"
	if got != want {
		t.Errorf("cpuLine = %q, want %q", got, want)
	}
	if got := cpuLine(100, time.Second, 50, false, coreTicks{}); got != "seconds=1.00 cpu_us=500000 cpu_pct=50.0" {
		t.Errorf("cpuLine without core = %q", got)
	}
}

// TestCPUOfMode runs the -cpu-of mode on this process and checks its
// window and its line.
func TestCPUOfMode(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	start := time.Now()
	rc := run([]string{"-cpu-of", strconv.Itoa(os.Getpid()), "-for", "300ms", "-margin", "50ms", "-core", "0"}, &out, &errOut)
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > time.Second {
		t.Errorf("took %v, want about 250ms (-for minus one margin)", took)
	}
	line := strings.TrimSpace(out.String())
	if !strings.HasPrefix(line, "seconds=0.20 cpu_us=") || !strings.Contains(line, " core_pct=") {
		t.Errorf("line %q", line)
	}
}

func TestModeFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"-cpu-of", "1", "-for", "0s"}, "-for 0s: must be positive"},
		{[]string{"-cpu-of", "1", "-for", "400ms", "-margin", "200ms"}, "longer than twice -margin"},
		{[]string{"-cpu-of", "x", "-for", "1s"}, "not a process id"},
		{[]string{"-idle", "10", "-pid", "1"}, "-addr is required"},
		{[]string{"-idle", "10", "-addr", "127.0.0.1:1"}, "-pid is required"},
		{[]string{"-idle", "-3", "-addr", "127.0.0.1:1", "-pid", "1"}, "must be at least 1"},
		{[]string{"-idle", "3", "-addr", "127.0.0.1:1", "-pid", "1", "-idle-par", "0"}, "-idle-par 0"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if rc := run(tt.args, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), tt.err) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, rc, errOut.String(), tt.err)
		}
	}
}

// TestIdleMode opens idle connections to an in-process HTTP server and
// measures this process; against a server that closes connections after
// each answer it must fail.
func TestIdleMode(t *testing.T) {
	t.Parallel()
	for _, keepAlive := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		})}
		srv.SetKeepAlivesEnabled(keepAlive)
		go srv.Serve(ln)
		var out, errOut bytes.Buffer
		rc := run([]string{"-idle", "40", "-idle-par", "8", "-settle", "10ms", "-addr", ln.Addr().String(),
			"-pid", strconv.Itoa(os.Getpid())}, &out, &errOut)
		srv.Close()
		if !keepAlive {
			if rc != 1 {
				t.Errorf("server without keep-alive: exit %d, stdout %q; want 1", rc, out.String())
			}
			continue
		}
		if rc != 0 {
			t.Fatalf("exit %d: %s", rc, errOut.String())
		}
		if line := out.String(); !strings.HasPrefix(line, "conns=40 rss_before_kib=") || !strings.Contains(line, " kib_per_conn=") {
			t.Errorf("line %q", line)
		}
	}
}

func TestReadOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, resp, err string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", ""},
		{"status", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "status 503"},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "closes the connection"},
		{"extra", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1", "bytes after the response"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhi", "response body"},
	}
	for _, tt := range tests {
		rw := &fakeConn{r: strings.NewReader(tt.resp)}
		err := readOne(rw, []byte("GET / HTTP/1.1\r\n\r\n"))
		if tt.err == "" {
			if err != nil || rw.w.String() != "GET / HTTP/1.1\r\n\r\n" {
				t.Errorf("%s: %v, wrote %q", tt.name, err, rw.w.String())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
		}
	}
}

type fakeConn struct {
	r io.Reader
	w bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error) { return f.w.Write(p) }
