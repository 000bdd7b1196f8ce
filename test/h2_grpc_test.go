package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxMsg lets both ends of the gRPC tests carry the 16 MiB message.
const maxMsg = 32 << 20

// grpcService is grpc-go's interop TestService: payloads of the sizes
// asked for, statuses echoed, and cancellations recorded.
type grpcService struct {
	testpb.UnimplementedTestServiceServer
	cancelled chan string   // a handler whose call was cancelled sends its method
	blocked   chan struct{} // a UnaryCall that blocks until cancelled has started
}

func payload(n int32) *testpb.Payload {
	return &testpb.Payload{Body: bytes.Repeat([]byte{'x'}, int(n))}
}

func (s *grpcService) UnaryCall(ctx context.Context, in *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := in.GetResponseStatus(); st != nil {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	if in.GetResponseSize() < 0 { // block until cancelled
		select {
		case s.blocked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		s.cancelled <- "UnaryCall"
		return nil, ctx.Err()
	}
	return &testpb.SimpleResponse{Payload: payload(in.GetResponseSize())}, nil
}

func (s *grpcService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var sum int32
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: sum})
		}
		if err != nil {
			return err
		}
		sum += int32(len(in.GetPayload().GetBody()))
	}
}

func (s *grpcService) StreamingOutputCall(in *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for _, p := range in.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: payload(p.GetSize())}); err != nil {
			return err
		}
	}
	if st := in.GetResponseStatus(); st != nil {
		return status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return nil
}

func (s *grpcService) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if status.Code(err) == codes.Canceled {
				s.cancelled <- "FullDuplexCall"
			}
			return err
		}
		for _, p := range in.GetResponseParameters() {
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: payload(p.GetSize())}); err != nil {
				return err
			}
		}
	}
}

// startGRPC serves grpcService on 127.0.0.1:0; cleanup stops it.
func startGRPC(t *testing.T) (string, *grpcService, *grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &grpcService{cancelled: make(chan string, 16), blocked: make(chan struct{}, 16)}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	testpb.RegisterTestServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), svc, srv
}

// grpcClient connects to addr (the proxy) with plaintext HTTP/2.
func grpcClient(t *testing.T, addr string) testpb.TestServiceClient {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	t.Cleanup(cancel)
	return ctx
}

// TestH2GRPCCallKinds runs the four kinds of call through the proxy, with
// statuses relayed in trailers and a 16 MiB message each way.
func TestH2GRPCCallKinds(t *testing.T) {
	t.Parallel()
	up, _, _ := startGRPC(t)
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{up}))
	c := grpcClient(t, srv.addr(0))
	ctx := callCtx(t)

	t.Run("unary", func(t *testing.T) {
		resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1000, Payload: payload(500)})
		if err != nil || len(resp.GetPayload().GetBody()) != 1000 {
			t.Fatalf("UnaryCall: %v, %d bytes", err, len(resp.GetPayload().GetBody()))
		}
	})
	t.Run("status", func(t *testing.T) {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such thing: ünïcode"}})
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "no such thing: ünïcode" {
			t.Fatalf("status: %v", err)
		}
	})
	t.Run("16MiB", func(t *testing.T) {
		resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 16 << 20, Payload: payload(16 << 20)})
		if err != nil || len(resp.GetPayload().GetBody()) != 16<<20 {
			t.Fatalf("UnaryCall 16 MiB: %v", err)
		}
	})
	t.Run("client-streaming", func(t *testing.T) {
		s, err := c.StreamingInputCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if err := s.Send(&testpb.StreamingInputCallRequest{Payload: payload(1000)}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := s.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != 100000 {
			t.Fatalf("StreamingInputCall: %v %v", resp, err)
		}
	})
	t.Run("server-streaming", func(t *testing.T) {
		var params []*testpb.ResponseParameters
		for i := range 100 {
			params = append(params, &testpb.ResponseParameters{Size: int32(i * 100)})
		}
		s, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params,
			ResponseStatus: &testpb.EchoStatus{Code: int32(codes.ResourceExhausted), Message: "done"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			m, err := s.Recv()
			if err != nil || len(m.GetPayload().GetBody()) != i*100 {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		if _, err := s.Recv(); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("end of stream: %v", err)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		s, err := c.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			if err := s.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i)}}}); err != nil {
				t.Fatal(err)
			}
			m, err := s.Recv()
			if err != nil || len(m.GetPayload().GetBody()) != i {
				t.Fatalf("ping-pong %d: %v", i, err)
			}
		}
		s.CloseSend()
		if _, err := s.Recv(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	})
	t.Run("bidi-large", func(t *testing.T) {
		// 1 MiB messages both ways at once, the client sending without
		// waiting for answers: both directions' windows fill and refill.
		s, err := c.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 32
		sent := make(chan error, 1)
		go func() {
			for range n {
				req := &testpb.StreamingOutputCallRequest{Payload: payload(1 << 20),
					ResponseParameters: []*testpb.ResponseParameters{{Size: 1 << 20}}}
				if err := s.Send(req); err != nil {
					sent <- err
					return
				}
			}
			sent <- s.CloseSend()
		}()
		for i := range n {
			m, err := s.Recv()
			if err != nil || len(m.GetPayload().GetBody()) != 1<<20 {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		if _, err := s.Recv(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 500)
		for range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 100})
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

// TestH2GRPCCancel: a call the client cancels is seen cancelled upstream
// (RST_STREAM CANCEL relayed), for a unary and a streaming call.
func TestH2GRPCCancel(t *testing.T) {
	t.Parallel()
	up, svc, _ := startGRPC(t)
	srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{up}))
	c := grpcClient(t, srv.addr(0))

	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1}}})
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	expectCancelled(t, svc, "FullDuplexCall")

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: -1})
		done <- err
	}()
	// Cancel once the call has reached the upstream handler.
	select {
	case <-svc.blocked:
	case <-time.After(waitBound):
		t.Fatal("the unary call never reached the upstream")
	}
	cancel()
	expectCancelled(t, svc, "UnaryCall")
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Fatalf("client: %v", err)
	}
}

func expectCancelled(t *testing.T, svc *grpcService, method string) {
	t.Helper()
	select {
	case m := <-svc.cancelled:
		if m != method {
			t.Fatalf("cancelled %s, want %s", m, method)
		}
	case <-time.After(waitBound):
		t.Fatalf("upstream never saw %s cancelled", method)
	}
}

// TestH2GRPCLocalReplies: errors the proxy makes are gRPC errors: no
// upstream is UNAVAILABLE, no route UNIMPLEMENTED, and grpc-timeout is
// the deadline, answered DEADLINE_EXCEEDED by the proxy itself.
func TestH2GRPCLocalReplies(t *testing.T) {
	t.Parallel()
	up, _, _ := startGRPC(t)

	t.Run("unavailable", func(t *testing.T) {
		t.Parallel()
		srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{refusingAddr(t)}))
		_, err := grpcClient(t, srv.addr(0)).UnaryCall(callCtx(t), &testpb.SimpleRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v, want Unavailable", err)
		}
	})
	t.Run("no-route", func(t *testing.T) {
		t.Parallel()
		srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{up},
			patch{"servers[0].routers[0].virtual_hosts[0].routers[0].match", `{"prefix": "/nothing/"}`}))
		_, err := grpcClient(t, srv.addr(0)).UnaryCall(callCtx(t), &testpb.SimpleRequest{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("got %v, want Unimplemented", err)
		}
	})
	t.Run("grpc-timeout", func(t *testing.T) {
		t.Parallel()
		srv := startInProcess(t, h2Config(t, "Http2", "Http2", "", []string{up}))
		// A raw HTTP/2 request, so that no client-side deadline races
		// the proxy's: the answer must come from the proxy.
		body := grpcFrame(t, &testpb.SimpleRequest{ResponseSize: -1})
		req, _ := http.NewRequest("POST", "http://"+srv.addr(0)+"/grpc.testing.TestService/UnaryCall", bytes.NewReader(body))
		req.Header.Set("content-type", "application/grpc")
		req.Header.Set("te", "trailers")
		req.Header.Set("grpc-timeout", "200m")
		start := time.Now()
		resp, err := h2Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		st := resp.Header.Get("grpc-status") + resp.Trailer.Get("grpc-status")
		if resp.StatusCode != 200 || st != "4" {
			t.Fatalf("got %d grpc-status %q %v", resp.StatusCode, st, resp.Header)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("answered after %v, before the deadline", d)
		}
	})
}

// grpcFrame is one length-prefixed gRPC message.
func grpcFrame(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 5+len(b))
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	copy(out[5:], b)
	return out
}
