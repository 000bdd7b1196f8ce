package network

import (
	"bytes"
	"testing"
)

func TestBufferAppendDrainReserve(t *testing.T) {
	b := GetBuffer(10)
	defer b.Release()
	if cap(b.spare()) != tierSizes[0] {
		t.Fatalf("GetBuffer(10) capacity = %d, want the smallest tier %d", cap(b.spare()), tierSizes[0])
	}
	b.AppendString("hello, ")
	b.Append([]byte("world"))
	b.Drain(7)
	if got := string(b.Bytes()); got != "world" {
		t.Fatalf("Bytes() = %q, want %q", got, "world")
	}
	big := bytes.Repeat([]byte{'x'}, 5000)
	b.Append(big)
	if b.Len() != 5005 || !bytes.Equal(b.Bytes()[5:], big) || string(b.Bytes()[:5]) != "world" {
		t.Fatalf("after growth: len %d, head %q", b.Len(), b.Bytes()[:5])
	}
	b.Drain(b.Len())
	if b.Len() != 0 {
		t.Fatalf("Len() after draining everything = %d", b.Len())
	}
}

func TestBufferTiers(t *testing.T) {
	for _, tc := range []struct{ size, tier int }{
		{0, 0}, {512, 0}, {513, 1}, {4096, 1}, {16 << 10, 2}, {1 << 20, 5}, {1<<20 + 1, -1},
	} {
		if got := tierFor(tc.size); got != tc.tier {
			t.Errorf("tierFor(%d) = %d, want %d", tc.size, got, tc.tier)
		}
	}
}

func TestBufferRefcount(t *testing.T) {
	b := GetBuffer(100)
	b.Retain()
	if !b.Shared() {
		t.Fatal("Shared() = false after Retain")
	}
	b.Release()
	if b.Shared() {
		t.Fatal("Shared() = true with one reference")
	}
	b.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("a second Release of the last reference did not panic")
		}
	}()
	b.Release()
}

func TestBufferGetReleaseAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(1000, func() {
		b := GetBuffer(readSize)
		b.AppendString("GET / HTTP/1.1\r\n")
		b.Release()
	})
	if allocs != 0 {
		t.Fatalf("GetBuffer+Release allocates %.1f times, want 0", allocs)
	}
}

func BenchmarkBufferGetRelease(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		buf := GetBuffer(readSize)
		buf.AppendString("GET / HTTP/1.1\r\n")
		buf.Release()
	}
}
