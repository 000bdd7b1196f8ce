// Command httpecho is the HTTP/1.1 backend of the end-to-end benchmark: it
// answers every request, whatever its method and path, with 200 and a fixed
// body of -size bytes, on keep-alive connections.
//
// It listens on -addr (port 0 picks a free port), prints the bound address
// on one line of stdout once it accepts connections, and runs until SIGINT or
// SIGTERM.
//
// Two servers are built in, chosen with -mode:
//
//   - raw (the default): one goroutine per connection reads requests into a
//     buffer, finds the end of each head in place, skips a Content-Length
//     body, and answers every request that the read completed with one
//     write. It allocates nothing per request. It answers a chunked request
//     body with 501 and HTTP/1.0 or "Connection: close" by closing after the
//     response; it is a benchmark backend, not a general server.
//   - nethttp: net/http's Server with a handler that writes the same body.
//
// The benchmark drives the backend and its load generator on one core, so
// the backend's cost per request caps every row; raw serves that core about
// 1.4 times as many requests per second as nethttp (see README.md).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free one")
	size := flag.Int("size", 64, "response body size in bytes")
	mode := flag.String("mode", "raw", "server: raw (a minimal keep-alive responder) or nethttp (net/http)")
	flag.Parse()
	if *size < 0 {
		log.Fatalf("httpecho: -size %d: must not be negative", *size)
	}
	if *mode != "raw" && *mode != "nethttp" {
		log.Fatalf("httpecho: -mode %q: want raw or nethttp", *mode)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("httpecho: %v", err)
	}
	fmt.Println(ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()

	body := makeBody(*size)
	if *mode == "nethttp" {
		err = serveNetHTTP(ln, body)
	} else {
		err = serveRaw(ln, body)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		log.Fatalf("httpecho: %v", err)
	}
}

// makeBody returns size printable bytes ending in a newline.
func makeBody(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	if size > 0 {
		b[size-1] = '\n'
	}
	return b
}

// serveNetHTTP serves ln with net/http until ln is closed.
func serveNetHTTP(ln net.Listener, body []byte) error {
	ct := []string{"text/plain"}
	cl := []string{strconv.Itoa(len(body))}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assigning the slices rather than calling Set avoids the
		// canonicalisation and the slice allocation of each call.
		w.Header()["Content-Type"] = ct
		w.Header()["Content-Length"] = cl
		w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(os.Stderr, "httpecho: ", 0)}
	return srv.Serve(ln)
}

// serveRaw accepts connections on ln until it is closed, one goroutine each.
func serveRaw(ln net.Listener, body []byte) error {
	resp := rawResponse(body)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off, keep serving.
			log.Printf("httpecho: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serveConn(c, resp)
	}
}

// rawResponse is the complete response the raw server writes.
func rawResponse(body []byte) []byte {
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}

// Canned error responses of the raw server; each closes the connection.
var (
	respTooLarge = []byte("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	respBad      = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	respChunked  = []byte("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
)

// maxHead is the largest request head the raw server accepts, and the size
// of its read buffer.
const maxHead = 8 << 10

// serveConn answers the requests on c until the peer closes it, an error
// occurs, or a request asks for the connection to close. Every request
// completed by one read is answered, in order, by one write.
func serveConn(c net.Conn, resp []byte) {
	defer c.Close()
	buf := make([]byte, maxHead)
	out := make([]byte, 0, 4*len(resp))
	n := 0    // bytes in buf
	skip := 0 // body bytes of the last request still to be read
	for {
		m, err := c.Read(buf[n:])
		n += m
		off := 0 // start of the unparsed bytes
		done := false
		for !done {
			if skip > 0 {
				d := min(skip, n-off)
				skip -= d
				off += d
				if skip > 0 {
					break
				}
			}
			h, ok := parseHead(buf[off:n])
			switch {
			case !ok && h.err == nil:
				if off == 0 && n == len(buf) {
					out = append(out, respTooLarge...)
					done = true
				}
			case h.err != nil:
				out = append(out, respBad...)
				done = true
			case h.chunked:
				out = append(out, respChunked...)
				done = true
			default:
				out = append(out, resp...)
				off += h.size
				skip = h.bodyLen
				done = h.close
				continue
			}
			break
		}
		if len(out) > 0 {
			if _, werr := c.Write(out); werr != nil {
				return
			}
			out = out[:0]
		}
		if done || err != nil {
			return
		}
		n = copy(buf, buf[off:n])
	}
}

// head is what the raw server needs to know of one request head.
type head struct {
	size    int   // bytes of the head, final CRLF CRLF included
	bodyLen int   // Content-Length, 0 if absent
	chunked bool  // a Transfer-Encoding header is present
	close   bool  // HTTP/1.0 or "Connection: close": close after the answer
	err     error // malformed head
}

// parseHead parses the request head at the start of b. ok is false when b
// does not hold a complete head yet (h.err nil) or the head is malformed
// (h.err set).
func parseHead(b []byte) (h head, ok bool) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return h, false
	}
	h.size = end + 4
	lines := b[:end+2]
	i := bytes.Index(lines, []byte("\r\n"))
	reqLine := lines[:i]
	lines = lines[i+2:]
	sp := bytes.LastIndexByte(reqLine, ' ')
	if sp < 0 || bytes.IndexByte(reqLine, ' ') == sp {
		h.err = fmt.Errorf("malformed request line %q", reqLine)
		return h, false
	}
	switch string(reqLine[sp+1:]) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.close = true
	default:
		h.err = fmt.Errorf("unsupported version %q", reqLine[sp+1:])
		return h, false
	}
	for len(lines) > 0 {
		i := bytes.Index(lines, []byte("\r\n"))
		line := lines[:i]
		lines = lines[i+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			h.err = fmt.Errorf("malformed header line %q", line)
			return h, false
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			v, ok := parseLength(value)
			if !ok {
				h.err = fmt.Errorf("bad content-length %q", value)
				return h, false
			}
			h.bodyLen = v
		case asciiEqualFold(name, "transfer-encoding"):
			h.chunked = true
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				h.close = true
			}
		}
	}
	return h, true
}

// parseLength parses a Content-Length value: 1 to 12 decimal digits.
func parseLength(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// asciiEqualFold reports whether b equals s, ignoring ASCII case; s is lower case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
