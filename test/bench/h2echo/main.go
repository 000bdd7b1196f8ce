// Command h2echo is the HTTP/2 benchmark's backend: a Go net/http server
// on 127.0.0.1 speaking HTTP/1.1 and h2c with prior knowledge, answering
// every request with a fixed body of -size bytes. Not for production.
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; the bound one is printed")
	size := flag.Int("size", 64, "response body size in bytes")
	flag.Parse()
	body := bytes.Repeat([]byte("x"), *size)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols: &p,
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: 1000},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("content-length", strconv.Itoa(len(body)))
			w.Write(body)
		}),
	}
	log.SetFlags(0)
	log.Printf("listening %s", ln.Addr())
	log.Fatal(srv.Serve(ln))
}
