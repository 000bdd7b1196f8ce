package registry

import (
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("number")
	r.Register("two", 2)
	r.Register("one", 1)
	if v, ok := r.Lookup("two"); !ok || v != 2 {
		t.Fatalf("Lookup(two) = %v, %v", v, ok)
	}
	if _, ok := r.Lookup("three"); ok {
		t.Fatal("Lookup of an unregistered name succeeded")
	}
	if got := r.Names(); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("Names() = %v", got)
	}
	for _, name := range []string{"", "one"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			r.Register(name, 0)
		}()
	}
}
