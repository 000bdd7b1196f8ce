package http1

import (
	"bytes"
	"encoding/binary"
)

// Character classes, one bit each in chars. A single 256-byte table keeps
// every per-byte check of the parser to one load and one test.
const (
	cToken  = 1 << iota // tchar (RFC 9110 5.6.2): methods, field names, codings
	cValue              // field-vchar, SP, HTAB (RFC 9110 5.5): field values, reason phrases
	cTarget             // request-target bytes: visible ASCII and obs-text; no CTL, SP or DEL
	cHost               // Host field value bytes (RFC 3986 host [":" port])
	cQdtext             // qdtext of a quoted-string (RFC 9110 5.6.4)
)

var chars = buildChars()

func buildChars() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			t[c] |= cToken | cHost
		case c < 0x20 || c == 0x7f:
			continue // CTL: in no class, except HTAB below
		}
		if c >= 0x21 && c != 0x7f {
			t[c] |= cValue | cTarget
		}
		if c >= 0x80 {
			t[c] |= cQdtext
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] |= cToken
	}
	for _, c := range []byte("-._~!$&'()*+,;=%:[]") {
		t[c] |= cHost
	}
	t[' '] |= cValue | cQdtext
	t['\t'] |= cValue | cQdtext
	for c := 0x21; c <= 0x7e; c++ {
		if c != '"' && c != '\\' {
			t[c] |= cQdtext
		}
	}
	return t
}

// tokenLen is the length of the token at the start of b.
func tokenLen(b []byte) int {
	for i, c := range b {
		if chars[c]&cToken == 0 {
			return i
		}
	}
	return len(b)
}

// all reports whether every byte of b is in class.
func all(b []byte, class uint8) bool {
	for _, c := range b {
		if chars[c]&class == 0 {
			return false
		}
	}
	return true
}

// validValue reports whether every byte of b may appear in a field value
// (cValue): all but the CTLs other than HTAB, and DEL. Values are most of a
// head's bytes, so it tests eight at a time and looks at single bytes only
// from the first word holding a CTL or DEL (an HTAB, say) on.
func validValue(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A byte below 0x20 makes w-0x20… borrow into its high bit where w
		// has none; a DEL becomes a zero byte of w^0x7f…, which does the same.
		// (Bytes of obs-text have their high bit set and never count.) A
		// borrow can flag a neighbour of a flagged byte too, never a word
		// without one, so a clear word is clear.
		x := w ^ (ones * 0x7f)
		if ((w-ones*0x20)&^w|(x-ones)&^x)&highs != 0 {
			break
		}
		b = b[8:]
	}
	return all(b, cValue)
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes optional whitespace (SP, HTAB) from both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func trimLeftOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	return b
}

// nextElement splits the first element off a comma-separated list (RFC 9110
// 5.6.1), without its surrounding whitespace; an empty list element comes
// back empty.
func nextElement(list []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(list, ','); i >= 0 {
		return trimOWS(list[:i]), list[i+1:]
	}
	return trimOWS(list), nil
}

// equalFold reports whether b equals the lower-case ASCII string lower,
// ignoring the case of b's letters.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// parseDecimal parses 1*DIGIT into a non-negative int64; ok is false for an
// empty or non-digit input or one above math.MaxInt64.
func parseDecimal(b []byte) (n int64, ok bool) {
	if len(b) == 0 {
		return 0, false
	}
	const max = 1<<63 - 1
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// unhex returns the value of a hex digit, or -1.
func unhex(c byte) int64 {
	switch {
	case '0' <= c && c <= '9':
		return int64(c - '0')
	case 'a' <= c && c <= 'f':
		return int64(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int64(c - 'A' + 10)
	}
	return -1
}
