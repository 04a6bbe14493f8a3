package vector

import (
	"fmt"
	"github.com/cns-dev/cns"
	"sync"
	"testing"
)

func TestSet(t *testing.T) {
	s := NewSet(2, nil)
	if s.Dim() != 2 {
		t.Errorf("Dim = %d", s.Dim())
	}
	a, b := s.For("alpha"), s.For("beta")
	if a == b || s.For("alpha") != a {
		t.Fatal("For must return one index per project, the same one every time")
	}
	if a.Dim() != 2 {
		t.Errorf("index dim = %d", a.Dim())
	}
	if err := a.Add("x", []float32{1, 0}); err != nil {
		t.Fatal(err)
	}
	if hits, _ := b.Search([]float32{1, 0}, 5); len(hits) != 0 {
		t.Errorf("project beta sees alpha's vectors: %v", hits)
	}
	if hits, _ := s.For("alpha").Search([]float32{1, 0}, 5); len(hits) != 1 || hits[0].ID != "x" {
		t.Errorf("alpha search = %v", hits)
	}
}

func TestSetConcurrent(t *testing.T) {
	s := NewSet(4, nil)
	got := make([][]cns.VectorIndex, 8)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := 0; p < 50; p++ {
				x := s.For(fmt.Sprint("p", p))
				got[g] = append(got[g], x)
				if err := x.Add(fmt.Sprint("g", g), []float32{1, 0, 0, 0}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for p := range got[g] {
			if got[g][p] != got[0][p] {
				t.Fatalf("goroutines got different indexes for project p%d", p)
			}
		}
	}
	if n := s.For("p7").Len(); n != len(got) {
		t.Errorf("p7 holds %d vectors, want %d", n, len(got))
	}
}

func TestNewPanicsOnBadDim(t *testing.T) {
	for name, f := range map[string]func(){"NewExact": func() { NewExact(0) }, "NewSet": func() { NewSet(-1, nil) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s accepted a non-positive dimension", name)
				}
			}()
			f()
		}()
	}
}

type boundIndex struct {
	*Exact
	projects []string
}

func (b *boundIndex) BindProject(p string) { b.projects = append(b.projects, p) }

func TestSetBindsProjects(t *testing.T) {
	var made []*boundIndex
	s := NewSet(2, func(dim int) cns.VectorIndex {
		b := &boundIndex{Exact: NewExact(dim)}
		made = append(made, b)
		return b
	})
	s.For("alpha")
	s.For("beta")
	s.For("alpha")
	if len(made) != 2 || len(made[0].projects) != 1 || made[0].projects[0] != "alpha" || made[1].projects[0] != "beta" {
		t.Errorf("BindProject calls: %d indexes, first bound to %v", len(made), made[0].projects)
	}
}
