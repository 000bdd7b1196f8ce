// Command tcpload drives request/response echo traffic over TCP and reports
// throughput, latency and, optionally, the CPU time a proxy spent per request.
//
// Each of -conns connections runs in its own goroutine: write -size bytes,
// read exactly -size bytes back, compare them, repeat. Requests that finish
// during the first -warmup are not counted; the next -duration is the
// measured window. The program stops by itself at the end of that window and
// prints one line of key=value pairs on stdout:
//
//	requests=512345 seconds=10.00 rps=51234.5 p50_us=950.2 p90_us=1100.0 p99_us=1500.3 p999_us=2100.0 max_us=5000.1 errors=0 cpu_us_per_req=9.31 cpu_pct=97.2 core_pct=99.0 steal_pct=0.0
//
// With -pid (one PID or a comma-separated list, summed), the utime+stime of
// those processes is read from /proc/PID/stat at the start and at the end of
// the measured window; cpu_us_per_req is that CPU time over the requests
// served in the window, and cpu_pct the share of one core it used. With
// -core N, core_pct and steal_pct tell how busy CPU N was over the window,
// whoever used it, and how much of it the hypervisor took: a core_pct well
// above cpu_pct means other processes shared the proxy's core.
//
// It exits 1 if any request failed (an I/O error, a wrong echo, or no answer
// for -stuck when the run ends) or none completed, and 2 on bad flags.
//
// With -freeport it prints a port that 127.0.0.1 can bind now and exits.
//
// Two more modes serve the HTTP scenario of the benchmark, where wrk makes
// the load:
//
//   - -cpu-of PIDS -for D measures, without making any load, the CPU time
//     of PIDS (and of CPU -core) from -margin after its start to -margin
//     before D has passed, and prints
//     "seconds=4.50 cpu_us=4012345 cpu_pct=89.2 core_pct=90.1 steal_pct=0.0".
//     The script starts it next to a wrk run of length D.
//   - -idle N -addr A -pid PIDS opens N HTTP/1.1 keep-alive connections to A,
//     one GET on each, leaves them open and idle, and prints how much the
//     resident memory of PIDS grew per connection:
//     "conns=9000 rss_before_kib=10240 rss_after_kib=28672 kib_per_conn=2.05".
//
// Both exit 1 on a failure and print nothing on stdout then.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options holds the parsed flags.
type options struct {
	addr     string
	conns    int
	size     int
	duration time.Duration
	warmup   time.Duration
	stuck    time.Duration
	pids     []int
	core     int
	clkTck   int
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.addr, "addr", "", "host:port of the echo service to load (required)")
	fs.IntVar(&o.conns, "conns", 50, "concurrent connections, one request in flight on each")
	fs.IntVar(&o.size, "size", 64, "request (and response) size in bytes")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the measured window")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "time before the measured window, not counted")
	fs.DurationVar(&o.stuck, "stuck", time.Second, "a request still unanswered this long when the run ends counts as an error")
	pidList := fs.String("pid", "", "PID, or comma-separated PIDs, whose CPU time is summed over the measured window")
	fs.IntVar(&o.core, "core", -1, "CPU number whose total busy and steal time over the window to report (-1: none)")
	fs.IntVar(&o.clkTck, "clktck", 100, "kernel clock ticks per second, as `getconf CLK_TCK` prints")
	freePort := fs.Bool("freeport", false, "print a free TCP port on 127.0.0.1 and exit")
	cpuOfList := fs.String("cpu-of", "", "mode: make no load, only measure the CPU time of these PIDs (comma-separated, summed) over -for")
	var co cpuOfOptions
	fs.DurationVar(&co.span, "for", 0, "with -cpu-of: how long the load that another program runs lasts from now")
	fs.DurationVar(&co.margin, "margin", 250*time.Millisecond, "with -cpu-of: time left out of the window at its start and at its end")
	var idleOpt idleOptions
	fs.IntVar(&idleOpt.conns, "idle", 0, "mode: open this many HTTP/1.1 keep-alive connections to -addr and report the RSS growth of -pid per connection")
	fs.IntVar(&idleOpt.par, "idle-par", 64, "with -idle: connections being opened at once")
	fs.DurationVar(&idleOpt.settle, "settle", time.Second, "with -idle: wait before each RSS sample")
	fs.DurationVar(&idleOpt.timeout, "idle-timeout", 10*time.Second, "with -idle: bound on connecting and on one request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *freePort {
		port, err := pickFreePort()
		if err != nil {
			fmt.Fprintln(stderr, "tcpload:", err)
			return 1
		}
		fmt.Fprintln(stdout, port)
		return 0
	}
	if *cpuOfList != "" {
		return runCPUOf(*cpuOfList, o, co, stdout, stderr)
	}
	if idleOpt.conns != 0 {
		return runIdle(*pidList, o, idleOpt, stdout, stderr)
	}
	pids, err := parsePIDs(*pidList)
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 2
	}
	o.pids = pids
	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 2
	}

	res, err := load(o)
	fmt.Fprintln(stdout, res.line(o))
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 1
	}
	if res.errors > 0 {
		fmt.Fprintf(stderr, "tcpload: %d errors, first: %v\n", res.errors, res.firstErr)
		return 1
	}
	if res.hist.total == 0 {
		fmt.Fprintln(stderr, "tcpload: no request completed in the measured window")
		return 1
	}
	return 0
}

// runCPUOf runs the -cpu-of mode.
func runCPUOf(pidList string, o options, co cpuOfOptions, stdout, stderr io.Writer) int {
	pids, err := parsePIDs(pidList)
	if err == nil {
		o.pids = pids
		err = errors.Join(co.validate(), o.validateCPU())
	}
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 2
	}
	line, err := cpuOf(o, co)
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 1
	}
	fmt.Fprintln(stdout, line)
	return 0
}

// runIdle runs the -idle mode.
func runIdle(pidList string, o options, idleOpt idleOptions, stdout, stderr io.Writer) int {
	pids, err := parsePIDs(pidList)
	if err == nil {
		o.pids = pids
		var errs []error
		if o.addr == "" {
			errs = append(errs, errors.New("-addr is required"))
		}
		if len(pids) == 0 {
			errs = append(errs, errors.New("-pid is required with -idle"))
		}
		err = errors.Join(append(errs, idleOpt.validate())...)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 2
	}
	line, err := idle(o, idleOpt)
	if err != nil {
		fmt.Fprintln(stderr, "tcpload:", err)
		return 1
	}
	fmt.Fprintln(stdout, line)
	return 0
}

// validateCPU checks the flags that CPU sampling uses.
func (o *options) validateCPU() error {
	var errs []error
	if o.core < -1 {
		errs = append(errs, fmt.Errorf("-core %d: must be a CPU number or -1", o.core))
	}
	if o.clkTck < 1 {
		errs = append(errs, fmt.Errorf("-clktck %d: must be positive", o.clkTck))
	}
	return errors.Join(errs...)
}

func (o *options) validate() error {
	var errs []error
	if o.addr == "" {
		errs = append(errs, errors.New("-addr is required"))
	}
	if o.conns < 1 {
		errs = append(errs, fmt.Errorf("-conns %d: must be at least 1", o.conns))
	}
	if o.size < 1 {
		errs = append(errs, fmt.Errorf("-size %d: must be at least 1", o.size))
	}
	if o.duration <= 0 {
		errs = append(errs, fmt.Errorf("-duration %v: must be positive", o.duration))
	}
	if o.warmup < 0 {
		errs = append(errs, fmt.Errorf("-warmup %v: must not be negative", o.warmup))
	}
	if o.stuck <= 0 {
		errs = append(errs, fmt.Errorf("-stuck %v: must be positive", o.stuck))
	}
	if o.core < -1 {
		errs = append(errs, fmt.Errorf("-core %d: must be a CPU number or -1", o.core))
	}
	if o.clkTck < 1 {
		errs = append(errs, fmt.Errorf("-clktck %d: must be positive", o.clkTck))
	}
	return errors.Join(errs...)
}

// parsePIDs parses "", "12" or "12,34".
func parsePIDs(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var pids []int
	for _, f := range strings.Split(s, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 1 {
			return nil, fmt.Errorf("-pid %q: %q is not a process id", s, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// pickFreePort asks the kernel for a port on 127.0.0.1 that is free now.
func pickFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// result is what a load run measured.
type result struct {
	hist     histogram // latency of requests completed in the window, ns
	errors   uint64    // failed requests, warmup included
	firstErr error
	cpuTicks uint64 // CPU ticks of the -pid processes over the window
	cpuOK    bool
	core     coreTicks // ticks of CPU -core over the window
	coreOK   bool
	window   time.Duration
}

// line formats r as the one machine-readable output line.
func (r *result) line(o options) string {
	us := func(q float64) float64 { return r.hist.quantile(q) / 1e3 }
	sec := r.window.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d seconds=%.2f rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%d",
		r.hist.total, sec, float64(r.hist.total)/sec,
		us(0.50), us(0.90), us(0.99), us(0.999), float64(r.hist.max)/1e3, r.errors)
	if r.cpuOK {
		cpuUS := float64(r.cpuTicks) * 1e6 / float64(o.clkTck)
		perReq := 0.0
		if r.hist.total > 0 {
			perReq = cpuUS / float64(r.hist.total)
		}
		fmt.Fprintf(&b, " cpu_us_per_req=%.2f cpu_pct=%.1f", perReq, cpuUS/1e4/sec)
	}
	if r.coreOK {
		pct := func(ticks uint64) float64 { return float64(ticks) * 100 / float64(o.clkTck) / sec }
		fmt.Fprintf(&b, " core_pct=%.1f steal_pct=%.1f", pct(r.core.busy), pct(r.core.steal))
	}
	return b.String()
}

// load runs the connections until the end of the measured window and
// returns their merged results. The error is about CPU accounting only;
// request failures are counted in the result.
func load(o options) (*result, error) {
	start := time.Now()
	from := start.Add(o.warmup)
	end := from.Add(o.duration)

	workers := make([]*worker, o.conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{addr: o.addr, size: o.size, from: from, end: end, stuck: o.stuck}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}

	res := &result{window: o.duration}
	var cpuErr error
	if len(o.pids) > 0 || o.core >= 0 {
		time.Sleep(time.Until(from))
		p0, c0, err0 := o.sampleCPU()
		time.Sleep(time.Until(end))
		p1, c1, err1 := o.sampleCPU()
		if cpuErr = errors.Join(err0, err1); cpuErr == nil {
			res.cpuTicks, res.cpuOK = p1-p0, len(o.pids) > 0
			res.core = coreTicks{busy: c1.busy - c0.busy, steal: c1.steal - c0.steal}
			res.coreOK = o.core >= 0
		}
	}
	wg.Wait()

	for _, w := range workers {
		res.hist.merge(&w.hist)
		res.errors += w.errors
		if res.firstErr == nil {
			res.firstErr = w.firstErr
		}
	}
	return res, cpuErr
}

// worker drives one connection at a time, redialling after a failure.
type worker struct {
	addr      string
	size      int
	from, end time.Time
	stuck     time.Duration

	hist     histogram
	errors   uint64
	firstErr error
}

// run loops until w.end. The connection deadline is w.end, so an I/O call
// still blocked then returns, and errors from that moment on are not counted.
func (w *worker) run() {
	req := make([]byte, w.size)
	resp := make([]byte, w.size)
	for i := range req {
		req[i] = byte('a' + i%26)
	}
	var seq uint64
	for time.Now().Before(w.end) {
		d := net.Dialer{Deadline: w.end}
		c, err := d.Dial("tcp", w.addr)
		if err != nil {
			if w.fail(err) {
				// Don't spin on a refused port; the deadline bounds this.
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		c.SetDeadline(w.end)
		seq = w.serve(c, req, resp, seq)
		c.Close()
	}
}

// serve runs requests on c until an error or w.end and returns the next
// sequence number. The first 8 bytes of each request carry a sequence number
// (when they fit), so a stale or misrouted reply does not pass as an echo.
func (w *worker) serve(c net.Conn, req, resp []byte, seq uint64) uint64 {
	t0 := time.Now()
	for {
		seq++
		if len(req) >= 8 {
			binary.LittleEndian.PutUint64(req, seq)
		}
		if _, err := c.Write(req); err != nil {
			w.failIO(err, t0)
			return seq
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			w.failIO(err, t0)
			return seq
		}
		now := time.Now()
		if !now.Before(w.end) {
			return seq
		}
		if !bytes.Equal(req, resp) {
			// The stream is out of step now: start a fresh connection.
			w.fail(fmt.Errorf("request %d: echo differs from request", seq))
			return seq
		}
		if !now.Before(w.from) {
			w.hist.record(uint64(now.Sub(t0)))
		}
		t0 = now
	}
}

// failIO counts an I/O error of the request that started at t0. At the end
// of the run every connection's in-flight request is cut off by the
// deadline; that counts only if the request had been waiting for longer than
// w.stuck, so a proxy that stops answering on a connection does not go
// unnoticed.
func (w *worker) failIO(err error, t0 time.Time) {
	if w.fail(err) {
		return
	}
	if waited := w.end.Sub(t0); waited > w.stuck {
		w.errors++
		if w.firstErr == nil {
			w.firstErr = fmt.Errorf("request unanswered for %v at the end of the run", waited.Round(time.Millisecond))
		}
	}
}

// fail counts err if it happened inside the run and reports whether it did.
func (w *worker) fail(err error) bool {
	if !time.Now().Before(w.end) {
		return false
	}
	w.errors++
	if w.firstErr == nil {
		w.firstErr = err
	}
	return true
}

// sampleCPU reads the CPU time of the -pid processes and of CPU -core, each
// when asked for.
func (o *options) sampleCPU() (procs uint64, core coreTicks, err error) {
	if len(o.pids) > 0 {
		if procs, err = cpuTicks(o.pids); err != nil {
			return 0, core, err
		}
	}
	if o.core >= 0 {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, core, err
		}
		if core, err = parseCoreTicks(b, o.core); err != nil {
			return 0, core, err
		}
	}
	return procs, core, nil
}

// coreTicks is the time one CPU spent busy, whoever ran on it, and the time
// the hypervisor took from it, in clock ticks.
type coreTicks struct {
	busy, steal uint64
}

// parseCoreTicks reads the "cpuN" line of /proc/stat: user nice system idle
// iowait irq softirq steal ... (see proc(5)). Busy is user + nice + system +
// irq + softirq.
func parseCoreTicks(stat []byte, n int) (coreTicks, error) {
	prefix := "cpu" + strconv.Itoa(n) + " "
	for _, ln := range strings.Split(string(stat), "\n") {
		rest, ok := strings.CutPrefix(ln, prefix)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 8 {
			return coreTicks{}, fmt.Errorf("/proc/stat %s: %d fields, want 8 or more", strings.TrimSpace(prefix), len(f))
		}
		var v [8]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return coreTicks{}, fmt.Errorf("/proc/stat %s: %w", strings.TrimSpace(prefix), err)
			}
			v[i] = x
		}
		return coreTicks{busy: v[0] + v[1] + v[2] + v[5] + v[6], steal: v[7]}, nil
	}
	return coreTicks{}, fmt.Errorf("/proc/stat: no line for cpu%d", n)
}

// cpuTicks sums utime+stime of pids, in clock ticks, from /proc/PID/stat.
func cpuTicks(pids []int) (uint64, error) {
	var sum uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("cpu of pid %d: %w", pid, err)
		}
		t, err := parseStatTicks(b)
		if err != nil {
			return 0, fmt.Errorf("cpu of pid %d: %w", pid, err)
		}
		sum += t
	}
	return sum, nil
}

// parseStatTicks returns utime+stime (fields 14 and 15, see proc(5)) of one
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted after the last ')'.
func parseStatTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat: no ')'")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat: %d fields after the name", len(f))
	}
	utime, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed stat utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed stat stime: %w", err)
	}
	return utime + stime, nil
}
