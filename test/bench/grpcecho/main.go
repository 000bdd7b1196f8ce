// Command grpcecho is the gRPC benchmark's backend: grpc-go's health
// service (grpc.health.v1.Health/Check answers SERVING) with server
// reflection, so that ghz needs no proto file. Not for production.
package main

import (
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; the bound one is printed")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	log.SetFlags(0)
	log.Printf("listening %s", ln.Addr())
	log.Fatal(srv.Serve(ln))
}
