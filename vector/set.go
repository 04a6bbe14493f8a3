package vector

import "sync"

// Set holds one Exact index per project, created on first use. Keeping projects in separate indexes
// makes isolation structural: a search can only ever return ids of the project it was asked about, and
// one project's size does not slow another's searches. Safe for concurrent use.
type Set struct {
	dim int

	mu      sync.RWMutex
	indexes map[string]*Exact
}

// NewSet returns an empty set whose indexes hold vectors of dimension dim. It panics if dim is not
// positive, like NewExact.
func NewSet(dim int) *Set {
	if dim <= 0 {
		panic("vector: NewSet with a non-positive dimension")
	}
	return &Set{dim: dim, indexes: make(map[string]*Exact)}
}

// Dim returns the vector dimension of every index in the set.
func (s *Set) Dim() int { return s.dim }

// For returns project's index, creating an empty one on first use. Every call for the same project
// returns the same *Exact.
func (s *Set) For(project string) *Exact {
	s.mu.RLock()
	x := s.indexes[project]
	s.mu.RUnlock()
	if x != nil {
		return x
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if x = s.indexes[project]; x == nil { // another caller may have created it between the locks
		x = NewExact(s.dim)
		s.indexes[project] = x
	}
	return x
}
