package accesslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultLine matches a line of the default format for an entry made by
// numberedEntry; the id is in %bytes_sent%, the 4th column.
var defaultLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3} 1\.5ms 12\.003ms (\d+) 12 Http1 200 2m3\.5s - 200 10\.0\.0\.1:40000 127\.0\.0\.1:2045 127\.0\.0\.1:51000 10\.0\.0\.2:8080$`)

func numberedEntry(id int64) *Entry {
	e := testEntry()
	e.StartTime = time.Now()
	e.BytesSent = id
	e.ResponseCode = 200
	e.ResponseFlags = ""
	return e
}

// readLines returns the lines of the file at path, failing on a line that
// is not a well-formed default-format line; it returns the ids counted.
func readIDs(t *testing.T, path string) map[int64]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := make(map[int64]int)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := defaultLine.FindSubmatch(sc.Bytes())
		if m == nil {
			t.Fatalf("%s: malformed line %q", path, sc.Text())
		}
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		ids[id]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestConcurrentLog logs 8×1000 entries from 8 goroutines to a file and
// checks that Close leaves exactly 8000 well-formed lines, one per entry.
// The queue holds all 8000 so that none may be dropped however slowly the
// writer runs (under -race); TestConcurrentLogDefaultQueue checks the
// accounting with New's queue.
func TestConcurrentLog(t *testing.T) {
	t.Parallel()
	const goroutines, perGoroutine = 8, 1000
	path := filepath.Join(t.TempDir(), "access.log")
	file, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := parseFormat("")
	l := start(f, file, file, path, goroutines*perGoroutine)
	logConcurrently(l, goroutines, perGoroutine)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := l.Dropped(); d != 0 {
		t.Fatalf("Dropped() = %d, want 0", d)
	}
	ids := readIDs(t, path)
	if len(ids) != goroutines*perGoroutine {
		t.Fatalf("%d distinct lines, want %d", len(ids), goroutines*perGoroutine)
	}
	for id, n := range ids {
		if n != 1 || id < 0 || id >= goroutines*perGoroutine {
			t.Fatalf("id %d written %d times", id, n)
		}
	}
}

func TestConcurrentLogDefaultQueue(t *testing.T) {
	t.Parallel()
	const goroutines, perGoroutine = 8, 1000
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := New(path, "")
	if err != nil {
		t.Fatal(err)
	}
	logConcurrently(l, goroutines, perGoroutine)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, n := range readIDs(t, path) {
		written += n
	}
	if got := int64(written) + l.Dropped(); got != goroutines*perGoroutine {
		t.Fatalf("%d lines written + %d dropped, want %d", written, l.Dropped(), goroutines*perGoroutine)
	}
}

func logConcurrently(l *Logger, goroutines, perGoroutine int) {
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				l.Log(numberedEntry(int64(g*perGoroutine + i)))
			}
		})
	}
	wg.Wait()
}

// TestReopen renames the file as logrotate does, calls Reopen, and checks
// that the lines logged before are in the renamed file, those after in a
// new file at the path, and none is lost.
func TestReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	rotated := filepath.Join(dir, "access.log.1")
	l, err := New(path, "")
	if err != nil {
		t.Fatal(err)
	}
	const before, after = 300, 200
	for i := range before {
		l.Log(numberedEntry(int64(i)))
	}
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	for i := range after {
		l.Log(numberedEntry(int64(before + i)))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := l.Dropped(); d != 0 {
		t.Fatalf("Dropped() = %d, want 0", d)
	}
	old, cur := readIDs(t, rotated), readIDs(t, path)
	if len(old) != before || len(cur) != after {
		t.Fatalf("%d lines in the rotated file, %d in the new one; want %d and %d", len(old), len(cur), before, after)
	}
	for id := range old {
		if id >= before {
			t.Errorf("line %d, logged after Reopen, is in the rotated file", id)
		}
	}
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close = %v, want ErrClosed", err)
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "access.log")
	l, err := New(path, "")
	if err != nil {
		t.Fatal(err)
	}
	l.Log(numberedEntry(1))
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil { // the path's directory is gone
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Fatal("Reopen succeeded without the log directory")
	}
	l.Log(numberedEntry(2))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if ids := readIDs(t, filepath.Join(moved, "access.log")); len(ids) != 2 {
		t.Fatalf("old file has ids %v, want 1 and 2", ids)
	}
}

// gateWriter is a destination whose first Write blocks until release is
// closed; it records every Write.
type gateWriter struct {
	entered chan struct{} // closed when the first Write begins
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	writes  []string
}

func newGateWriter() *gateWriter {
	return &gateWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (w *gateWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, string(p))
	w.mu.Unlock()
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return len(p), nil
}

// TestFullQueueDrops blocks the writer in its first Write, fills a
// 4-line queue, and checks that further lines are dropped and counted
// while Log goes on returning; then that the 4 queued lines go out in one
// Write.
func TestFullQueueDrops(t *testing.T) {
	t.Parallel()
	w := newGateWriter()
	f, _ := parseFormat("%bytes_sent%")
	l := start(f, w, nil, "", 4)
	l.Log(numberedEntry(0))
	<-w.entered // the writer holds line 0 and is stuck in Write
	for i := 1; i <= 4+10; i++ {
		l.Log(numberedEntry(int64(i))) // would hang the test if Log blocked
	}
	if d := l.Dropped(); d != 10 {
		t.Fatalf("Dropped() = %d with the writer blocked, want 10", d)
	}
	close(w.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"0\n", "1\n2\n3\n4\n"}
	if strings.Join(w.writes, "|") != strings.Join(want, "|") {
		t.Fatalf("writes %q, want %q", w.writes, want)
	}
	if d := l.Dropped(); d != 10 {
		t.Fatalf("Dropped() = %d after Close, want 10", d)
	}
}

// TestCloseWritesEverything queues lines behind a blocked writer, closes,
// and checks they are all written, and that Log after Close drops.
func TestCloseWritesEverything(t *testing.T) {
	t.Parallel()
	w := newGateWriter()
	f, _ := parseFormat("%bytes_sent%")
	l := start(f, w, nil, "", 100)
	l.Log(numberedEntry(0))
	<-w.entered
	for i := 1; i < 100; i++ {
		l.Log(numberedEntry(int64(i)))
	}
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	close(w.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(w.writes, ""), "\n"); got != 100 {
		t.Fatalf("%d lines written, want 100", got)
	}
	l.Log(numberedEntry(100))
	if d := l.Dropped(); d != 1 {
		t.Fatalf("Dropped() = %d after a Log after Close, want 1", d)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

type failWriter struct{ closed bool }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write([]byte) (int, error) { return 0, errDiskFull }
func (w *failWriter) Close() error              { w.closed = true; return nil }

func TestWriteErrorCountsAndReports(t *testing.T) {
	t.Parallel()
	fw := &failWriter{}
	f, _ := parseFormat("")
	l := start(f, fw, fw, "", 16)
	for i := range 5 {
		l.Log(numberedEntry(int64(i)))
	}
	err := l.Close()
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Close() = %v, want the write error", err)
	}
	if d := l.Dropped(); d != 5 {
		t.Fatalf("Dropped() = %d, want 5", d)
	}
	if !fw.closed {
		t.Fatal("Close did not close the destination")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, path, format string
		wantErr            error
		errHas             string
	}{
		{name: "file, default format", path: filepath.Join(dir, "a.log")},
		{name: "stdout", path: "stdout", format: "%protocol%"},
		{name: "stderr", path: "stderr", format: "%protocol%"},
		{name: "unknown variable", path: filepath.Join(dir, "b.log"), format: "%protocol% %bogus%", wantErr: ErrUnknownVariable, errHas: "%bogus%"},
		{name: "unclosed variable", path: filepath.Join(dir, "b.log"), format: "%protocol", wantErr: ErrUnclosedVariable},
		{name: "empty path", path: "", errHas: "empty path"},
		{name: "no such directory", path: filepath.Join(dir, "none", "c.log"), wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.path, tt.format)
			if tt.wantErr == nil && tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				l.Close()
				t.Fatalf("New(%q, %q) succeeded", tt.path, tt.format)
			}
			if (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("New(%q, %q) = %v, want %v containing %q", tt.path, tt.format, err, tt.wantErr, tt.errHas)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "b.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bad format still created its file: %v", err)
	}
	// Closing a stdout logger leaves stdout open.
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("stdout after Close: %v", err)
	}
}

// TestLogAllocs holds Log to its budget: no allocation per call once the
// line buffers are pooled, for the default format and for header
// variables. Under the race detector sync.Pool drops a quarter of the
// buffers put back, so the budget there is 1.
func TestLogAllocs(t *testing.T) {
	budget := 0.0
	if raceEnabled {
		budget = 1
	}
	for _, format := range []string{"", "%request_header_:method% %request_header_:path% %request_header_x-request-id% %response_header_:status% %upstream_transport_failure_reason%"} {
		f, err := parseFormat(format)
		if err != nil {
			t.Fatal(err)
		}
		l := start(f, io.Discard, nil, "", queueLen)
		e := testEntry()
		e.StartTime = time.Now() // the local zone, as the proxy's
		if n := testing.AllocsPerRun(10000, func() { l.Log(e) }); n > budget {
			t.Errorf("format %q: Log allocates %v times per call, want at most %v", format, n, budget)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogDoesNotKeepEntry(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f, _ := parseFormat("%request_header_x-request-id% %upstream_host%")
	l := start(f, &buf, nil, "", 16)
	e := testEntry()
	l.Log(e)
	e.RequestHeaders.Set("x-request-id", "changed")
	e.UpstreamHost = "changed"
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "r-1 10.0.0.2:8080\n"; got != want {
		t.Fatalf("logged %q, want %q", got, want)
	}
}

// BenchmarkLog is the proxy's cost per request: format with the default
// format and hand the line to the writer (a file).
func BenchmarkLog(b *testing.B) {
	l, err := New(filepath.Join(b.TempDir(), "access.log"), "")
	if err != nil {
		b.Fatal(err)
	}
	e := numberedEntry(1)
	b.ReportAllocs()
	for b.Loop() {
		l.Log(e)
	}
	b.StopTimer()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkLogParallel is BenchmarkLog from GOMAXPROCS goroutines.
func BenchmarkLogParallel(b *testing.B) {
	l, err := New(filepath.Join(b.TempDir(), "access.log"), "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := numberedEntry(1)
		for pb.Next() {
			l.Log(e)
		}
	})
	b.StopTimer()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkFormat is the formatting alone.
func BenchmarkFormat(b *testing.B) {
	f, _ := parseFormat("")
	e := numberedEntry(1)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.append(buf[:0], e)
	}
}
