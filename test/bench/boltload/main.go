// Command boltload drives bolt traffic for the benchmark
// (test/bench/bolt.sh): each of -conns connections sends the echo("hello")
// request that sofa-rpc-node's client sent (request.bin, captured on
// loopback), each time with a request id of its own, and checks that every
// answer is a SUCCESS response to an id it has in flight.
//
// Closed loop (the default): -inflight requests per connection, a new one
// as soon as one is answered. Open loop (-rate R): R requests per second in
// all, spread evenly over the connections, sent on schedule whatever the
// answers do; latency is measured from the scheduled send time, so a proxy
// that falls behind cannot hide it.
//
// Requests answered during -warmup are not counted; the next -duration is
// measured. One line of key=value pairs goes to stdout:
//
//	requests=123456 seconds=10.00 rps=12345.6 p50_us=95.0 p99_us=410.2 max_us=2100.0 errors=0
//
// It exits 1 if any request failed or none completed, 2 on bad flags.
package main

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sidecar-mesh/mosn/pkg/protocol/bolt"
	"github.com/sidecar-mesh/mosn/pkg/protocol/rpc"
)

//go:embed request.bin
var request []byte

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	addr     string
	conns    int
	inflight int
	rate     float64
	warmup   time.Duration
	duration time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("boltload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:2045", "bolt server or proxy")
	fs.IntVar(&o.conns, "conns", 50, "connections")
	fs.IntVar(&o.inflight, "inflight", 1, "closed loop: requests in flight per connection")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second in all (0: closed loop)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "time before the measured window")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window")
	if err := fs.Parse(args); err != nil || o.conns < 1 || o.inflight < 1 || o.rate < 0 {
		return 2
	}
	var f rpc.Frame
	if _, err := (bolt.Codec{}).Decode(request, &f, rpc.Limits{}); err != nil || request[0] != bolt.ProtoV1 {
		fmt.Fprintln(stderr, "boltload: the captured request is not a bolt v1 request:", err)
		return 1
	}
	start := time.Now()
	from, until := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	results := make([]*result, o.conns)
	var wg sync.WaitGroup
	for i := range results {
		r := &result{}
		results[i] = r
		wg.Go(func() { r.err = drive(o, i, from, until, r) })
	}
	wg.Wait()
	var all []time.Duration
	errs := 0
	for _, r := range results {
		all = append(all, r.lat...)
		errs += r.errors
		if r.err != nil {
			errs++
			fmt.Fprintln(stderr, "boltload:", r.err)
		}
	}
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	secs := o.duration.Seconds()
	fmt.Fprintf(stdout, "requests=%d seconds=%.2f rps=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f errors=%d\n",
		len(all), secs, float64(len(all))/secs, q(0.5), q(0.99), q(1), errs)
	if errs > 0 || len(all) == 0 {
		return 1
	}
	return 0
}

type result struct {
	lat    []time.Duration // of requests answered in the window
	errors int
	err    error
}

// drive runs one connection until the window ends.
func drive(o options, n int, from, until time.Time, r *result) error {
	c, err := net.DialTimeout("tcp", o.addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(until.Add(10 * time.Second))
	var (
		mu      sync.Mutex
		sent    = map[uint32]time.Time{}
		nextID  = uint32(n) << 20
		frame   = append([]byte(nil), request...)
		stopped = make(chan struct{}) // closed when the open-loop sender is done
	)
	send := func(at time.Time) error {
		mu.Lock()
		nextID++
		id := nextID
		sent[id] = at
		binary.BigEndian.PutUint32(frame[5:], id) // v1: no CRC to mend
		_, err := c.Write(frame)
		mu.Unlock()
		return err
	}
	if o.rate > 0 {
		// Open loop: this connection's share of the rate, on schedule.
		every := time.Duration(float64(time.Second) * float64(o.conns) / o.rate)
		go func() {
			next := time.Now().Add(time.Duration(n) * every / time.Duration(o.conns))
			for {
				time.Sleep(time.Until(next))
				if next.After(until) {
					close(stopped)
					mu.Lock()
					if len(sent) == 0 {
						c.SetReadDeadline(time.Now()) // nothing left to wait for
					}
					mu.Unlock()
					return
				}
				if send(time.Now()) != nil {
					close(stopped)
					return
				}
				next = next.Add(every)
			}
		}()
	} else {
		for range o.inflight {
			if err := send(time.Now()); err != nil {
				return err
			}
		}
	}
	var (
		buf = make([]byte, 0, 64<<10)
		f   rpc.Frame
	)
	for {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		off := 0
		for {
			m, derr := (bolt.Codec{}).Decode(buf[off:], &f, rpc.Limits{})
			if derr == rpc.ErrNeedMore {
				break
			}
			if derr != nil {
				return derr
			}
			off += m
			now := time.Now()
			mu.Lock()
			at, ok := sent[uint32(f.ID)]
			delete(sent, uint32(f.ID))
			pending := len(sent)
			mu.Unlock()
			switch {
			case !ok || f.Kind != rpc.KindResponse:
				return fmt.Errorf("an answer to id %d, which is not in flight", f.ID)
			case f.Status != bolt.StatusSuccess:
				r.errors++
			case !now.Before(from) && !now.After(until):
				r.lat = append(r.lat, now.Sub(at))
			}
			if o.rate > 0 {
				select {
				case <-stopped:
					if pending == 0 {
						return nil
					}
				default:
				}
				continue
			}
			if now.After(until) {
				if pending == 0 {
					return nil
				}
				continue
			}
			if err := send(now); err != nil {
				return err
			}
		}
		buf = buf[:copy(buf, buf[off:])]
		if len(buf) == cap(buf) {
			return errors.New("an answer larger than 64 KiB")
		}
		if err != nil {
			select {
			case <-stopped:
				mu.Lock()
				pending := len(sent)
				mu.Unlock()
				if pending == 0 {
					return nil
				}
			default:
			}
			return err
		}
	}
}
