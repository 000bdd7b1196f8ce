package http1

import "testing"

// TestValidValue checks the eight-at-a-time test against the table: every
// byte value at every position of a word, in words that are otherwise valid
// (with obs-text around, whose high bits must not confuse it).
func TestValidValue(t *testing.T) {
	t.Parallel()
	for _, fill := range []byte{'a', 0xff, 0x80, 0x7e, 0x20} {
		b := make([]byte, 19)
		for c := 0; c < 256; c++ {
			for i := range b {
				for j := range b {
					b[j] = fill
				}
				b[i] = byte(c)
				if got, want := validValue(b), all(b, cValue); got != want {
					t.Fatalf("validValue(%x) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
