// Package taskstore is a driver's in-memory map of running tasks, keyed by
// Nomad's task ID. The Tart and Apple container drivers share it.
package taskstore

import "sync"

// Store maps task IDs to handles of type H. The zero value is not usable;
// call New.
type Store[H any] struct {
	mu    sync.RWMutex
	tasks map[string]H
}

// New returns an empty store.
func New[H any]() *Store[H] { return &Store[H]{tasks: map[string]H{}} }

// Set stores h under id, replacing any earlier handle.
func (s *Store[H]) Set(id string, h H) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[id] = h
}

// Get returns the handle of id.
func (s *Store[H]) Get(id string) (H, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.tasks[id]
	return h, ok
}

// Delete forgets id.
func (s *Store[H]) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
}

// Len is the number of tasks.
func (s *Store[H]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tasks)
}

// All returns a snapshot of the handles (in no particular order).
func (s *Store[H]) All() []H {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]H, 0, len(s.tasks))
	for _, h := range s.tasks {
		out = append(out, h)
	}
	return out
}
