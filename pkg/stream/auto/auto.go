package auto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/sidecar-mesh/mosn/pkg/network"
	"github.com/sidecar-mesh/mosn/pkg/stream"
)

func init() {
	stream.Register(New(nil))
}

// Verdict is what a matcher makes of a connection's first bytes.
type Verdict uint8

const (
	// No: the bytes cannot start this protocol.
	No Verdict = iota
	// More: the bytes so far could start it; wait for more.
	More
	// Yes: they start it.
	Yes
)

func (v Verdict) String() string {
	switch v {
	case More:
		return "more"
	case Yes:
		return "yes"
	}
	return "no"
}

// matcher recognises one protocol, registered under name.
type matcher struct {
	name  string
	match func(p []byte) Verdict
}

// prefixOf reports whether p starts with want (Yes), is a proper prefix of
// it (More), or neither.
func prefixOf(p []byte, want string) Verdict {
	n := min(len(p), len(want))
	if string(p[:n]) != want[:n] {
		return No
	}
	if n == len(want) {
		return Yes
	}
	return More
}

const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

var http1Methods = [...]string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ", "TRACE ", "PATCH "}

// matchers in detection order (package doc).
var matchers = [...]matcher{
	{"Http2", func(p []byte) Verdict { return prefixOf(p, http2Preface) }},
	{"bolt", func(p []byte) Verdict {
		if p[0] == 0x01 || p[0] == 0x02 {
			return Yes
		}
		return No
	}},
	{"dubbo", func(p []byte) Verdict { return prefixOf(p, "\xda\xbb") }},
	{"Http1", func(p []byte) Verdict {
		v := No
		for _, m := range http1Methods {
			switch prefixOf(p, m) {
			case Yes:
				return Yes
			case More:
				v = More
			}
		}
		return v
	}},
}

// Stats counts the connections Auto could not place. Safe for concurrent use.
type Stats struct {
	// Unknown counts connections closed because no protocol matched.
	Unknown atomic.Int64
	// Undecided counts connections that ended before a protocol matched.
	Undecided atomic.Int64
}

var stats Stats

// ProcessStats returns the counters of every Auto connection of the process.
func ProcessStats() *Stats { return &stats }

var logger = slog.Default().With("component", "auto")

// candidate is a matcher and, once known, the protocol it stands for.
type candidate struct {
	m     *matcher
	proto *stream.Protocol // nil: look m.name up when a connection comes
}

// detector is one Auto protocol's list of candidates.
type detector struct {
	cands []candidate
}

// New returns an Auto protocol detecting among cands; nil means every
// matcher, with protocols looked up as connections arrive.
func New(cands []candidate) *stream.Protocol {
	d := &detector{cands: cands}
	if cands == nil {
		d = everything()
	}
	name, aliases := "Auto", []string(nil)
	if cands != nil {
		name = "Auto(" + d.names() + ")"
	}
	p := &stream.Protocol{
		Name:    name,
		Aliases: aliases,
		Serve:   d.serve,
		NewPool: func(stream.PoolOptions) stream.ConnPool { return noPool{} },
	}
	if cands == nil {
		p.Among = among
	}
	return p
}

// everything detects with every matcher, looking protocols up by name.
func everything() *detector {
	d := &detector{}
	for i := range matchers {
		d.cands = append(d.cands, candidate{m: &matchers[i]})
	}
	return d
}

func (d *detector) names() string {
	var ns []string
	for _, c := range d.cands {
		if c.proto != nil {
			ns = append(ns, c.proto.Name)
		} else {
			ns = append(ns, c.m.name)
		}
	}
	return strings.Join(ns, ",")
}

// among builds the detection narrowed to names, in the fixed order.
func among(names []string) (*stream.Protocol, error) {
	chosen := make([]*stream.Protocol, len(matchers))
	for _, n := range names {
		n = strings.TrimSpace(n)
		p, ok := stream.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("auto: %q: no such protocol", n)
		}
		found := false
		for i := range matchers {
			if m, ok := stream.Lookup(matchers[i].name); ok && m.Serve != nil && sameServe(m, p) {
				chosen[i], found = p, true
			}
		}
		if !found {
			return nil, fmt.Errorf("auto: %q cannot be detected from its first bytes", n)
		}
	}
	var cands []candidate
	for i, p := range chosen {
		if p != nil {
			cands = append(cands, candidate{m: &matchers[i], proto: p})
		}
	}
	return New(cands), nil
}

// sameServe reports whether p is the protocol registered as m's name, or
// a variant served the same way (boltv2 is detected as bolt).
func sameServe(m, p *stream.Protocol) bool {
	if m == p {
		return true
	}
	return strings.HasPrefix(strings.ToLower(p.Name), strings.ToLower(m.Name))
}

// detect runs the candidates over p.
func (d *detector) detect(p []byte) (*stream.Protocol, Verdict) {
	if len(p) == 0 {
		return nil, More
	}
	wait := false
	for _, c := range d.cands {
		proto := c.proto
		if proto == nil {
			var ok bool
			if proto, ok = stream.Lookup(c.m.name); !ok {
				continue
			}
		}
		switch c.m.match(p) {
		case Yes:
			if !wait {
				return proto, Yes
			}
			// An earlier matcher still waits: it has precedence.
			return nil, More
		case More:
			wait = true
		}
	}
	if wait {
		return nil, More
	}
	return nil, No
}

// Detect reports which of Auto's protocols the bytes p start (for tests
// and tools): the protocol's name and Yes, or More, or No.
func Detect(p []byte) (string, Verdict) {
	proto, v := everything().detect(p)
	if proto == nil {
		return "", v
	}
	return proto.Name, v
}

func (d *detector) serve(c *network.Conn, l stream.Limits, h stream.ServerHandler) {
	c.AddReadFilter(&sniffer{d: d, limits: l, handler: h})
}

// sniffer is the read filter that waits for the first bytes.
type sniffer struct {
	d       *detector
	limits  stream.Limits
	handler stream.ServerHandler
	chosen  bool
}

// OnNewConnection implements network.ReadFilter.
func (s *sniffer) OnNewConnection(*network.Conn) network.FilterStatus { return network.Continue }

// OnData decides the protocol, then steps aside.
func (s *sniffer) OnData(c *network.Conn, buf *network.Buffer, end bool) network.FilterStatus {
	if s.chosen {
		return network.Continue
	}
	p, v := s.d.detect(buf.Bytes())
	switch {
	case v == Yes:
		s.chosen = true
		if ch, ok := s.handler.(stream.Chooser); ok {
			ch.Choose(p)
		}
		p.Serve(c, s.limits, s.handler)
		return network.Continue
	case v == More && !end:
		return network.Stop
	case v == More:
		stats.Undecided.Add(1)
		if buf.Len() > 0 {
			logger.Warn("connection ended before its protocol could be told", "conn", c.ID(), "first_bytes", first(buf.Bytes()))
		}
	default:
		stats.Unknown.Add(1)
		logger.Warn("closing connection: its first bytes match no protocol", "conn", c.ID(), "candidates", s.d.names(), "first_bytes", first(buf.Bytes()))
	}
	buf.Drain(buf.Len())
	c.Close(network.CloseNoFlush)
	return network.Stop
}

func first(p []byte) string { return hex.EncodeToString(p[:min(len(p), 16)]) }

// ErrNotUpstream is what an Auto pool answers: Auto detects what clients
// speak and is no protocol to send in.
var ErrNotUpstream = errors.New("auto: Auto is not an upstream protocol")

type noPool struct{}

func (noPool) NewStream(stream.Receiver) (stream.ClientStream, error) { return nil, ErrNotUpstream }
func (noPool) Close()                                                 {}
