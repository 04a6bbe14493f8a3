package vector

import (
	"sync"

	"github.com/cns-dev/cns"
)

// Set holds one index per project, created on first use. Keeping projects in separate indexes
// makes isolation structural: a search can only ever return ids of the project it was asked about, and
// one project's size does not slow another's searches. Safe for concurrent use.
type Set struct {
	dim      int
	newIndex func(dim int) cns.VectorIndex

	mu      sync.RWMutex
	indexes map[string]cns.VectorIndex
}

// NewSet returns an empty set whose indexes hold vectors of dimension dim. It panics if dim is not
// positive, like NewExact.
// newIndex builds each project's index; nil means NewExact (other backends, such as FAISS, plug in here).
func NewSet(dim int, newIndex func(dim int) cns.VectorIndex) *Set {
	if dim <= 0 {
		panic("vector: NewSet with a non-positive dimension")
	}
	if newIndex == nil {
		newIndex = func(dim int) cns.VectorIndex { return NewExact(dim) }
	}
	return &Set{dim: dim, newIndex: newIndex, indexes: make(map[string]cns.VectorIndex)}
}

// Dim returns the vector dimension of every index in the set.
func (s *Set) Dim() int { return s.dim }

// For returns project's index, creating an empty one on first use. Every call for the same project
// returns the same index.
func (s *Set) For(project string) cns.VectorIndex {
	s.mu.RLock()
	x := s.indexes[project]
	s.mu.RUnlock()
	if x != nil {
		return x
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if x = s.indexes[project]; x == nil { // another caller may have created it between the locks
		x = s.newIndex(s.dim)
		if b, ok := x.(ProjectBinder); ok {
			b.BindProject(project)
		}
		s.indexes[project] = x
	}
	return x
}

// ProjectBinder is implemented by indexes that need to know which project they serve, such as persistent
// ones that name their files after it. Set calls BindProject once, right after creating a project's index
// and before anyone uses it.
type ProjectBinder interface {
	BindProject(project string)
}
