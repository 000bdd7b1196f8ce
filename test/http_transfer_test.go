package test

// Large bodies through the HTTP/1.1 proxy: every byte arrives, and the
// proxy's memory does not grow with the size of what it relays.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// TestHTTPLargeTransfers uploads (chunked) and downloads (Content-Length)
// 200 MiB through the binary at the same time, comparing sha256 sums at both
// ends, then reads the proxy's peak resident memory (VmHWM).
//
// The bound, 150 MiB: the proxy stops reading a peer once 1 MiB (the
// default per_connection_buffer_limit_bytes and conn_buffer_limit_bytes) is
// queued towards the other, so the two transfers hold a few MiB in queues
// and read buffers, and the Go runtime (GC at twice the live heap, stacks,
// the binary's own pages) adds some tens of MiB at most. A proxy that
// buffered a body whole would pass 200 MiB.
//
// Under the race detector the test process (client and backend, not the
// proxy, which is built without it) is several times slower, so the size is
// 64 MiB there: still a third of the bound, so buffering a body whole fails
// all the same.
func TestHTTPLargeTransfers(t *testing.T) {
	t.Parallel()
	size := int64(200 << 20)
	if raceEnabled {
		size = 64 << 20
	}
	const maxRSS = 150 << 20
	type result struct {
		n   int64
		sum string
		err error
	}
	uploaded := make(chan result, 1)
	b := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			uploaded <- result{n, hex.EncodeToString(h.Sum(nil)), err}
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		case "/download":
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			io.Copy(w, prng(9, size))
		}
	})
	// No route timeout: how long the bodies take depends on the machine.
	p, addrs := startBinary(t, httpConfig(t, b.addr(), patch{vhost0 + ".routers[0].route.timeout", ""}))
	client, _ := newClient(t, 2)
	client.Timeout = 4 * waitBound // a bound only: 400 MiB of loopback traffic

	down := make(chan result, 1)
	go func() {
		resp, err := client.Get("http://" + addrs[0] + "/download")
		if err != nil {
			down <- result{err: err}
			return
		}
		defer resp.Body.Close()
		if resp.ContentLength != size {
			down <- result{err: fmt.Errorf("status %d, content-length %d", resp.StatusCode, resp.ContentLength)}
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		down <- result{n, hex.EncodeToString(h.Sum(nil)), err}
	}()

	sent := sha256.New()
	// A reader net/http cannot size: the upload goes chunked.
	body := struct{ io.Reader }{io.TeeReader(prng(8, size), sent)}
	resp, answer := request(t, client, "POST", addrs[0], "", "/upload", body)
	sentSum := hex.EncodeToString(sent.Sum(nil))
	got := <-uploaded
	if got.err != nil || got.n != size || got.sum != sentSum {
		t.Errorf("upload: backend read %d bytes (%v), sha256 %s; sent %d, sha256 %s", got.n, got.err, got.sum, size, sentSum)
	}
	if want := fmt.Sprintf("%d %s", size, sentSum); resp.StatusCode != 200 || answer != want {
		t.Errorf("upload answer: %d %q, want 200 %q", resp.StatusCode, answer, want)
	}

	d := <-down
	want := sha256.New()
	io.Copy(want, prng(9, size))
	if wantSum := hex.EncodeToString(want.Sum(nil)); d.err != nil || d.n != size || d.sum != wantSum {
		t.Errorf("download: read %d bytes (%v), sha256 %s; want %d, sha256 %s", d.n, d.err, d.sum, size, wantSum)
	}

	peak, ok := peakRSS(p.cmd.Process.Pid)
	if !ok {
		t.Skip("no VmHWM in /proc/PID/status")
	}
	t.Logf("moved %d MiB each way; proxy peak RSS %.1f MiB", size>>20, float64(peak)/(1<<20))
	if peak > maxRSS {
		t.Errorf("proxy peak RSS %.1f MiB after %d MiB each way, want under %d MiB", float64(peak)/(1<<20), size>>20, maxRSS>>20)
	}
}
