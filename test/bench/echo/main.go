// Command echo is the TCP echo backend of the end-to-end benchmark: every
// byte read on a connection is written back on it.
//
// It listens on -addr (port 0 picks a free port), prints the bound address
// on one line of stdout once it accepts connections, and runs until SIGINT or
// SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free one")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("echo: %v", err)
	}
	fmt.Println(ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			log.Printf("echo: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}

// serve echoes c until the peer closes it or an error occurs. It is a plain
// read/write loop rather than io.CopyBuffer: with a *net.TCPConn on both
// sides, CopyBuffer ignores the buffer and lets TCPConn.ReadFrom choose
// splice(2) through a pipe. One read and one write per message is simpler to
// reason about, and the same for every target.
func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
