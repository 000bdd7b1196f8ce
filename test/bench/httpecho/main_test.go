package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
		want head // size, bodyLen, chunked, close; err only checked for nil-ness
		bad  bool // h.err is set
	}{
		{name: "get", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ok: true, want: head{size: 27}},
		{name: "no headers", in: "GET / HTTP/1.1\r\n\r\n", ok: true, want: head{size: 18}},
		{name: "trailing bytes", in: "GET / HTTP/1.1\r\n\r\nGET", ok: true, want: head{size: 18}},
		{name: "incomplete", in: "GET / HTTP/1.1\r\nHost: a\r\n", ok: false},
		{name: "empty", in: "", ok: false},
		{name: "body", in: "POST /x HTTP/1.1\r\ncontent-LENGTH:  12 \r\n\r\n", ok: true, want: head{size: 42, bodyLen: 12}},
		{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ok: true, want: head{size: 47, chunked: true}},
		{name: "connection close", in: "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", ok: true, want: head{size: 37, close: true}},
		{name: "connection keep-alive", in: "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", ok: true, want: head{size: 42}},
		{name: "http/1.0", in: "GET / HTTP/1.0\r\n\r\n", ok: true, want: head{size: 18, close: true}},
		{name: "one space", in: "GET HTTP/1.1\r\n\r\n", bad: true},
		{name: "http/2", in: "GET / HTTP/2.0\r\n\r\n", bad: true},
		{name: "header without colon", in: "GET / HTTP/1.1\r\nHost\r\n\r\n", bad: true},
		{name: "negative length", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", bad: true},
		{name: "huge length", in: "POST / HTTP/1.1\r\nContent-Length: 9999999999999\r\n\r\n", bad: true},
	}
	for _, tc := range tests {
		h, ok := parseHead([]byte(tc.in))
		if tc.bad {
			if ok || h.err == nil {
				t.Errorf("%s: ok %v err %v, want a malformed head", tc.name, ok, h.err)
			}
			continue
		}
		if h.err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, h.err)
			continue
		}
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if ok && h != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, h, tc.want)
		}
	}
}

func TestParseHeadDoesNotAllocate(t *testing.T) {
	req := []byte("POST /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n")
	if n := testing.AllocsPerRun(1000, func() { parseHead(req) }); n != 0 {
		t.Fatalf("parseHead allocates %v times", n)
	}
}

// startServer runs mode on 127.0.0.1:0 and returns its address.
func startServer(t *testing.T, mode string, body []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		if mode == "raw" {
			done <- serveRaw(ln, body)
		} else {
			done <- serveNetHTTP(ln, body)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// TestServers drives both servers with net/http's client on one keep-alive
// connection: GETs, and a POST whose body the server must skip.
func TestServers(t *testing.T) {
	t.Parallel()
	body := makeBody(64)
	for _, mode := range []string{"raw", "nethttp"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			addr := startServer(t, mode, body)
			tr := &http.Transport{MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for i := range 5 {
				var resp *http.Response
				var err error
				if i%2 == 1 {
					resp, err = cl.Post("http://"+addr+"/p", "text/plain", strings.NewReader(strings.Repeat("x", 1000*i)))
				} else {
					resp, err = cl.Get("http://" + addr + "/")
				}
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("request %d: body: %v", i, err)
				}
				if resp.StatusCode != 200 || !bytes.Equal(got, body) || resp.ContentLength != 64 {
					t.Fatalf("request %d: status %d, length %d, body %q", i, resp.StatusCode, resp.ContentLength, got)
				}
			}
		})
	}
}

// TestRawPipelinedAndSplit sends requests in one write and a head split over
// writes; every request gets its answer, in order, on one connection.
func TestRawPipelinedAndSplit(t *testing.T) {
	t.Parallel()
	body := makeBody(64)
	addr := startServer(t, "raw", body)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	readOK := func(n int) {
		t.Helper()
		for i := range n {
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
				t.Fatalf("response %d: status %d body %q err %v", i, resp.StatusCode, got, err)
			}
		}
	}
	get := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	post := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	io.WriteString(c, get+post+get+post)
	readOK(4)
	// A head and a body split across writes.
	io.WriteString(c, "GET / HT")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, "TP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, "llo"+get)
	readOK(3)
	// Connection: close is answered, then the connection ends.
	io.WriteString(c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"+get)
	readOK(1)
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after Connection: close: %q, %v; want EOF", rest, err)
	}
}

func TestRawRejects(t *testing.T) {
	t.Parallel()
	addr := startServer(t, "raw", makeBody(8))
	tests := []struct {
		req    string
		status int
	}{
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"GARBAGE\r\n\r\n", 400},
		// Exactly a buffer full and no end of head: all of it is read, so
		// the close after the answer is not a reset.
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("y", maxHead-19), 431},
	}
	for _, tc := range tests {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		go io.WriteString(c, tc.req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil || resp.StatusCode != tc.status {
			t.Errorf("%.30q: %v, %v; want status %d", tc.req, resp, err, tc.status)
		}
	}
}
