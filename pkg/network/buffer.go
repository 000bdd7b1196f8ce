package network

import (
	"sync"
	"sync/atomic"
)

// Buffer is a reference-counted byte buffer whose backing array comes from a
// tiered pool. Its readable bytes are Bytes(); Append adds at the end and Drain
// consumes from the front.
//
// A Buffer has one owner at a time. Passing it to Conn.Write hands that
// reference to the connection, which releases it once written. To keep using
// the bytes after handing them on (a retry, a mirror), take another reference
// with Retain first; while more than one reference exists nobody may modify
// the contents.
type Buffer struct {
	b      []byte // readable bytes are b[off:]
	off    int
	refs   atomic.Int32
	pooled *[]byte // the pooled array b lives in, or nil
	tier   int8    // index into tiers of pooled
}

// Backing arrays come in these sizes. A request larger than the largest tier
// is allocated and left to the garbage collector.
var tierSizes = [...]int{512, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

var (
	tiers      [len(tierSizes)]sync.Pool // of *[]byte
	bufferPool = sync.Pool{New: func() any { return new(Buffer) }}
)

func init() {
	for i, size := range tierSizes {
		tiers[i].New = func() any { b := make([]byte, size); return &b }
	}
}

// tierFor returns the smallest tier holding size bytes, or -1.
func tierFor(size int) int {
	for i, s := range tierSizes {
		if size <= s {
			return i
		}
	}
	return -1
}

// GetBuffer returns an empty Buffer with room for at least size bytes and one
// reference, owned by the caller.
func GetBuffer(size int) *Buffer {
	buf := bufferPool.Get().(*Buffer)
	buf.refs.Store(1)
	buf.off = 0
	buf.setBacking(size)
	return buf
}

// NewBuffer wraps p without copying. The Buffer has one reference; p is never
// returned to a pool.
func NewBuffer(p []byte) *Buffer {
	buf := bufferPool.Get().(*Buffer)
	buf.refs.Store(1)
	buf.b, buf.off, buf.pooled = p, 0, nil
	return buf
}

func (buf *Buffer) setBacking(size int) {
	t := tierFor(size)
	if t < 0 {
		buf.b, buf.pooled = make([]byte, 0, size), nil
		return
	}
	buf.pooled, buf.tier = tiers[t].Get().(*[]byte), int8(t)
	buf.b = (*buf.pooled)[:0]
}

// Bytes returns the readable bytes. They stay valid until the next call that
// modifies the buffer or releases it.
func (buf *Buffer) Bytes() []byte { return buf.b[buf.off:] }

// Len returns the number of readable bytes.
func (buf *Buffer) Len() int { return len(buf.b) - buf.off }

// Drain consumes n readable bytes from the front.
func (buf *Buffer) Drain(n int) {
	buf.off += n
	if buf.off == len(buf.b) {
		buf.b, buf.off = buf.b[:0], 0
	}
}

// Append copies p to the end, growing the backing array if needed.
func (buf *Buffer) Append(p []byte) {
	buf.Reserve(len(p))
	buf.b = append(buf.b, p...)
}

// AppendString copies s to the end, growing the backing array if needed.
func (buf *Buffer) AppendString(s string) {
	buf.Reserve(len(s))
	buf.b = append(buf.b, s...)
}

// Reserve makes room for at least n more bytes after the readable ones,
// moving them to the front or to a larger pooled array.
func (buf *Buffer) Reserve(n int) {
	if cap(buf.b)-len(buf.b) >= n {
		return
	}
	readable := buf.Len()
	if buf.off > 0 && cap(buf.b)-readable >= n {
		copy(buf.b, buf.b[buf.off:])
		buf.b, buf.off = buf.b[:readable], 0
		return
	}
	old, oldPooled, oldTier := buf.b[buf.off:], buf.pooled, buf.tier
	buf.setBacking(max(2*cap(buf.b), readable+n))
	buf.b = append(buf.b, old...)
	buf.off = 0
	putBacking(oldPooled, oldTier)
}

// spare returns the writable space after the readable bytes; commit makes n
// of them readable. Together they let a reader fill the buffer in place.
func (buf *Buffer) spare() []byte { return buf.b[len(buf.b):cap(buf.b)] }
func (buf *Buffer) commit(n int)  { buf.b = buf.b[:len(buf.b)+n] }

// Retain adds a reference and returns buf, for handing the same bytes to a
// second owner.
func (buf *Buffer) Retain() *Buffer {
	if buf.refs.Add(1) <= 1 {
		panic("network: Retain of a released Buffer")
	}
	return buf
}

// Shared reports whether more than one reference exists.
func (buf *Buffer) Shared() bool { return buf.refs.Load() > 1 }

// Release drops a reference; the last one returns the memory to its pool.
// Releasing more often than retaining panics, since a double put would hand
// the same memory to two owners.
func (buf *Buffer) Release() {
	switch n := buf.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		panic("network: Buffer released twice")
	}
	putBacking(buf.pooled, buf.tier)
	buf.b, buf.off, buf.pooled = nil, 0, nil
	bufferPool.Put(buf)
}

func putBacking(pooled *[]byte, tier int8) {
	if pooled != nil {
		tiers[tier].Put(pooled)
	}
}
