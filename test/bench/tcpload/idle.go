package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// idleOptions holds the flags of the -idle mode, which measures the memory
// a proxy keeps per idle HTTP/1.1 keep-alive connection.
type idleOptions struct {
	conns   int           // -idle: connections to open and leave idle
	par     int           // -idle-par: connections being opened at once
	settle  time.Duration // -settle: wait before each RSS sample
	timeout time.Duration // -idle-timeout: bound on one connection's request
}

func (c idleOptions) validate() error {
	var errs []error
	if c.conns < 1 {
		errs = append(errs, fmt.Errorf("-idle %d: must be at least 1", c.conns))
	}
	if c.par < 1 {
		errs = append(errs, fmt.Errorf("-idle-par %d: must be at least 1", c.par))
	}
	if c.settle < 0 {
		errs = append(errs, fmt.Errorf("-settle %v: must not be negative", c.settle))
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-idle-timeout %v: must be positive", c.timeout))
	}
	return errors.Join(errs...)
}

// idle measures the resident memory that the processes o.pids keep for
// c.conns idle keep-alive connections to o.addr, and returns one line:
//
//	conns=9000 rss_before_kib=10240 rss_after_kib=28672 kib_per_conn=2.05
//
// It first warms the proxy up with c.par connections of one request each
// (closed again), so that code paths touched for the first time and the
// upstream connections are in the baseline, not in the difference. Then
// it samples the RSS, opens c.conns connections, c.par at a time, sends one
// GET on each and reads its 200 answer, and samples the RSS again with all
// of them open and idle. Every connection must still be open at the end:
// one that the proxy closed is an error.
func idle(o options, c idleOptions) (string, error) {
	req := []byte("GET / HTTP/1.1\r\nHost: " + o.addr + "\r\n\r\n")
	warm, err := openIdle(o.addr, req, c.par, c.par, c.timeout)
	closeAll(warm)
	if err != nil {
		return "", fmt.Errorf("warm-up: %w", err)
	}
	time.Sleep(c.settle)
	before, err := rssKiB(o.pids)
	if err != nil {
		return "", err
	}
	conns, err := openIdle(o.addr, req, c.conns, c.par, c.timeout)
	defer closeAll(conns)
	if err != nil {
		return "", err
	}
	time.Sleep(c.settle)
	after, err := rssKiB(o.pids)
	if err != nil {
		return "", err
	}
	if n := countClosed(conns, c.par); n > 0 {
		return "", fmt.Errorf("%d of %d idle connections were closed by the peer", n, len(conns))
	}
	return fmt.Sprintf("conns=%d rss_before_kib=%d rss_after_kib=%d kib_per_conn=%.2f",
		len(conns), before, after, (float64(after)-float64(before))/float64(len(conns))), nil
}

// openIdle opens n connections to addr, par at a time, sends req on each
// and reads a 200 response. It returns the connections opened, all of them
// unless the error is set.
func openIdle(addr string, req []byte, n, par int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				conns[i], errs[i] = openOne(addr, req, timeout)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	open := conns[:0]
	var first error
	failed := 0
	for i, c := range conns {
		if errs[i] != nil {
			failed++
			if first == nil {
				first = errs[i]
			}
			continue
		}
		open = append(open, c)
	}
	if failed > 0 {
		return open, fmt.Errorf("%d of %d connections failed, first: %w", failed, n, first)
	}
	return open, nil
}

// openOne dials addr, sends req and reads one complete 200 response.
func openOne(addr string, req []byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	if err := readOne(c, req); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// readOne writes req on rw and reads one 200 response with its body, and
// nothing more.
func readOne(rw io.ReadWriter, req []byte) error {
	if _, err := rw.Write(req); err != nil {
		return err
	}
	r := bufio.NewReaderSize(rw, 4096)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("response body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if resp.Close {
		return errors.New("the response closes the connection")
	}
	if r.Buffered() > 0 {
		return fmt.Errorf("%d bytes after the response", r.Buffered())
	}
	return nil
}

// countClosed counts the connections that the peer has closed (or that
// received unexpected bytes), checking par at a time.
func countClosed(conns []net.Conn, par int) int {
	var mu sync.Mutex
	closed := 0
	next := make(chan net.Conn)
	var wg sync.WaitGroup
	for range min(par, len(conns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [1]byte
			for c := range next {
				c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
				_, err := c.Read(b[:])
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					mu.Lock()
					closed++
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range conns {
		next <- c
	}
	close(next)
	wg.Wait()
	return closed
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// rssKiB sums VmRSS of pids, in KiB, from /proc/PID/status.
func rssKiB(pids []int) (uint64, error) {
	var sum uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, fmt.Errorf("rss of pid %d: %w", pid, err)
		}
		v, err := parseVmRSS(b)
		if err != nil {
			return 0, fmt.Errorf("rss of pid %d: %w", pid, err)
		}
		sum += v
	}
	return sum, nil
}

// parseVmRSS returns the "VmRSS:  1234 kB" value of a /proc/PID/status
// file, in KiB (the kernel's "kB" is 1024 bytes; see proc(5)).
func parseVmRSS(status []byte) (uint64, error) {
	for _, ln := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(ln, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", ln)
		}
		v, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed VmRSS line %q", ln)
		}
		return v, nil
	}
	return 0, errors.New("no VmRSS line (a kernel thread, or a zombie)")
}
