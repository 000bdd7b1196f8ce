package dubbo

import (
	"encoding/binary"
	"errors"
)

// errHessian reports bytes that are not one well-formed hessian2 value.
var errHessian = errors.New("malformed hessian2 value")

// maxDepth bounds how deeply lists, maps and objects may nest.
const maxDepth = 64

// skipper walks hessian2 values (Hessian 2.0 serialization spec) without
// building them, checking every length against the bytes that remain. It
// finds where the attachments start, after the arguments, and vets what
// dubbo-go-hessian2 is later asked to decode: that decoder allocates a
// list's declared length up front, so it must never see a length the
// bytes cannot hold.
type skipper struct {
	p       []byte
	off     int
	classes []int // field counts of the class definitions seen
}

func (s *skipper) byte1() (byte, error) {
	if s.off >= len(s.p) {
		return 0, errHessian
	}
	b := s.p[s.off]
	s.off++
	return b, nil
}

func (s *skipper) skipN(n int) error {
	if n < 0 || n > len(s.p)-s.off {
		return errHessian
	}
	s.off += n
	return nil
}

func (s *skipper) uint16() (int, error) {
	if len(s.p)-s.off < 2 {
		return 0, errHessian
	}
	v := int(binary.BigEndian.Uint16(s.p[s.off:]))
	s.off += 2
	return v, nil
}

// readInt reads a value that must be an int and returns it.
func (s *skipper) readInt() (int, error) {
	b, err := s.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case b >= 0x80 && b <= 0xbf:
		return int(b) - 0x90, nil
	case b >= 0xc0 && b <= 0xcf:
		c, err := s.byte1()
		return (int(b)-0xc8)<<8 | int(c), err
	case b >= 0xd0 && b <= 0xd7:
		if len(s.p)-s.off < 2 {
			return 0, errHessian
		}
		v := (int(b)-0xd4)<<16 | int(s.p[s.off])<<8 | int(s.p[s.off+1])
		s.off += 2
		return v, nil
	case b == 'I':
		if len(s.p)-s.off < 4 {
			return 0, errHessian
		}
		v := int(int32(binary.BigEndian.Uint32(s.p[s.off:])))
		s.off += 4
		return v, nil
	}
	return 0, errHessian
}

// stringChars skips n UTF-16 units of UTF-8 encoded characters.
func (s *skipper) stringChars(n int) error {
	for n > 0 {
		b, err := s.byte1()
		if err != nil {
			return err
		}
		switch {
		case b < 0x80:
			n--
		case b&0xe0 == 0xc0:
			n--
			err = s.skipN(1)
		case b&0xf0 == 0xe0:
			n--
			err = s.skipN(2)
		case b&0xf8 == 0xf0:
			n -= 2
			err = s.skipN(3)
		default:
			return errHessian
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readString reads a value that must be a string (or null) and returns it
// as raw UTF-8 bytes when it is one chunk, which is all callers need.
func (s *skipper) readString() ([]byte, error) {
	start := s.off
	b, err := s.byte1()
	if err != nil {
		return nil, err
	}
	if b == 'N' {
		return nil, nil
	}
	if !isString(b) {
		return nil, errHessian
	}
	s.off = start
	if err := s.value(0); err != nil {
		return nil, err
	}
	// Strip the tag and length of a one-chunk string.
	switch {
	case b < 0x20:
		return s.p[start+1 : s.off], nil
	case b >= 0x30 && b <= 0x33:
		return s.p[start+2 : s.off], nil
	case b == 'S':
		return s.p[start+3 : s.off], nil
	}
	return nil, errHessian // chunked: not a name we route on
}

func isString(b byte) bool { return b < 0x20 || (b >= 0x30 && b <= 0x33) || b == 'R' || b == 'S' }

// typ skips a list or map type: a string or a type reference (an int).
func (s *skipper) typ() error {
	if s.off >= len(s.p) {
		return errHessian
	}
	if isString(s.p[s.off]) {
		return s.value(maxDepth - 1)
	}
	_, err := s.readInt()
	return err
}

// values skips n values, or values up to a 'Z' when n < 0.
func (s *skipper) values(n, depth int) error {
	if n < 0 {
		for {
			if s.off >= len(s.p) {
				return errHessian
			}
			if s.p[s.off] == 'Z' {
				s.off++
				return nil
			}
			if err := s.value(depth); err != nil {
				return err
			}
		}
	}
	if n > len(s.p)-s.off { // every value takes at least one byte
		return errHessian
	}
	for ; n > 0; n-- {
		if err := s.value(depth); err != nil {
			return err
		}
	}
	return nil
}

// value skips one value.
func (s *skipper) value(depth int) error {
	if depth >= maxDepth {
		return errHessian
	}
	depth++
	b, err := s.byte1()
	if err != nil {
		return err
	}
	switch {
	case b < 0x20: // short string
		return s.stringChars(int(b))
	case b < 0x30: // short binary
		return s.skipN(int(b - 0x20))
	case b < 0x34: // medium string
		c, err := s.byte1()
		if err != nil {
			return err
		}
		return s.stringChars(int(b-0x30)<<8 | int(c))
	case b < 0x38: // medium binary
		c, err := s.byte1()
		if err != nil {
			return err
		}
		return s.skipN(int(b-0x34)<<8 | int(c))
	case b < 0x40: // long, 3 bytes
		return s.skipN(2)
	case b >= 0x60 && b <= 0x6f: // object with a direct class reference
		return s.object(int(b-0x60), depth)
	case b >= 0x70 && b <= 0x77: // short typed list
		if err := s.typ(); err != nil {
			return err
		}
		return s.values(int(b-0x70), depth)
	case b >= 0x78 && b <= 0x7f: // short untyped list
		return s.values(int(b-0x78), depth)
	case b >= 0x80 && b <= 0xbf: // int, 1 byte
		return nil
	case b >= 0xc0 && b <= 0xcf: // int, 2 bytes
		return s.skipN(1)
	case b >= 0xd0 && b <= 0xd7: // int, 3 bytes
		return s.skipN(2)
	case b >= 0xd8 && b <= 0xef: // long, 1 byte
		return nil
	case b >= 0xf0: // long, 2 bytes
		return s.skipN(1)
	}
	switch b {
	case 'N', 'T', 'F', 0x5b, 0x5c:
		return nil
	case 'I', 'K', 'Y', 0x5f:
		return s.skipN(4)
	case 'D', 'J', 'L':
		return s.skipN(8)
	case 0x5d:
		return s.skipN(1)
	case 0x5e:
		return s.skipN(2)
	case 'A', 'B': // binary chunks
		return s.chunks(b, 'A', 'B', s.skipN)
	case 'R', 'S': // string chunks
		return s.chunks(b, 'R', 'S', s.stringChars)
	case 'C': // class definition: name, field count, field names
		if err := s.value(depth); err != nil {
			return err
		}
		n, err := s.readInt()
		if err != nil || n < 0 || n > len(s.p)-s.off {
			return errHessian
		}
		if err := s.values(n, depth); err != nil {
			return err
		}
		s.classes = append(s.classes, n)
		// A definition is followed by the value that uses it.
		return s.value(depth)
	case 'O':
		n, err := s.readInt()
		if err != nil {
			return err
		}
		return s.object(n, depth)
	case 'Q': // reference to an earlier value
		_, err := s.readInt()
		return err
	case 'H': // untyped map
		return s.pairs(depth)
	case 'M': // typed map
		if err := s.typ(); err != nil {
			return err
		}
		return s.pairs(depth)
	case 'U': // variable-length typed list
		if err := s.typ(); err != nil {
			return err
		}
		return s.values(-1, depth)
	case 'W': // variable-length untyped list
		return s.values(-1, depth)
	case 'V': // fixed-length typed list
		if err := s.typ(); err != nil {
			return err
		}
		fallthrough
	case 'X': // fixed-length untyped list
		n, err := s.readInt()
		if err != nil || n < 0 {
			return errHessian
		}
		return s.values(n, depth)
	}
	return errHessian
}

func (s *skipper) object(class, depth int) error {
	if class < 0 || class >= len(s.classes) {
		return errHessian
	}
	return s.values(s.classes[class], depth)
}

// pairs skips map entries up to the closing 'Z'.
func (s *skipper) pairs(depth int) error {
	for {
		if s.off >= len(s.p) {
			return errHessian
		}
		if s.p[s.off] == 'Z' {
			s.off++
			return nil
		}
		if err := s.value(depth); err != nil {
			return err
		}
		if err := s.value(depth); err != nil {
			return err
		}
	}
}

// countParams counts the parameters of a JVM method descriptor's
// parameter part ("Ljava/lang/String;I[J" is 3).
func countParams(desc []byte) (int, bool) {
	n := 0
	for i := 0; i < len(desc); {
		for i < len(desc) && desc[i] == '[' {
			i++
		}
		if i == len(desc) {
			return 0, false
		}
		switch desc[i] {
		case 'Z', 'B', 'C', 'S', 'I', 'J', 'F', 'D':
			i++
		case 'L':
			j := i
			for j < len(desc) && desc[j] != ';' {
				j++
			}
			if j == len(desc) {
				return 0, false
			}
			i = j + 1
		default:
			return 0, false
		}
		n++
	}
	return n, true
}

// chunks skips a chunked binary or string whose first tag is b: chunks of
// a uint16 length read by body, tagged more until the final one.
func (s *skipper) chunks(b, more, final byte, body func(int) error) error {
	for {
		n, err := s.uint16()
		if err != nil {
			return err
		}
		if err := body(n); err != nil {
			return err
		}
		if b == final {
			return nil
		}
		if b, err = s.byte1(); err != nil || (b != more && b != final) {
			return errHessian
		}
	}
}
