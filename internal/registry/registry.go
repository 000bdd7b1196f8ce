// Package registry is the one shape of every extension point: a typed,
// name-keyed table filled from init functions and read-only afterwards, so
// reads need no lock. Misuse (an empty or duplicate name) panics at start-up.
package registry

import (
	"fmt"
	"maps"
	"slices"
)

// Registry maps names to extensions of one kind.
type Registry[T any] struct {
	kind string
	m    map[string]T
}

// New makes an empty registry; kind names the extension point in panics.
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Register adds v under name. Call it only from init.
func (r *Registry[T]) Register(name string, v T) {
	if name == "" {
		panic(fmt.Sprintf("registry: %s registered with an empty name", r.kind))
	}
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("registry: %s %q registered twice", r.kind, name))
	}
	r.m[name] = v
}

// Lookup returns what is registered under name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	v, ok := r.m[name]
	return v, ok
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string { return slices.Sorted(maps.Keys(r.m)) }
