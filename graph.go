package cns

import "fmt"

// RootClaimID is the id of the root claim of every reasoning graph: the hypothesis itself.
const RootClaimID = "root"

// Relation is the type of a reasoning-graph edge.
type Relation int

// Relations, numbered as in the API's enum so translation is a cast.
const (
	RelationUnspecified Relation = iota
	RelationSupports
	RelationContradicts
	RelationImplies
	RelationWeakens
	RelationExplains
	RelationGeneralizes
)

var relationNames = [...]string{"unspecified", "supports", "contradicts", "implies", "weakens", "explains", "generalizes"}

func (r Relation) String() string {
	if r < 0 || int(r) >= len(relationNames) {
		return fmt.Sprintf("relation(%d)", int(r))
	}
	return relationNames[r]
}

// Valid reports whether r is one of the six typed relations.
func (r Relation) Valid() bool { return r >= RelationSupports && r <= RelationGeneralizes }

// ParseRelation maps a relation name ("supports", …) to its value.
func ParseRelation(s string) (Relation, bool) {
	for i, n := range relationNames {
		if i > 0 && n == s {
			return Relation(i), true
		}
	}
	return RelationUnspecified, false
}

// Negative reports whether the relation argues against its target (contradicts, weakens).
func (r Relation) Negative() bool { return r == RelationContradicts || r == RelationWeakens }

// Claim is one node of the reasoning graph.
type Claim struct {
	ID   string
	Text string
}

// Edge is a typed, weighted link From → To ("From supports To"). Strength is in [0,1].
type Edge struct {
	From     string
	To       string
	Relation Relation
	Strength float64
}

// Graph is the reasoning graph G of an SNO: a DAG of claims whose root is the hypothesis (RootClaimID).
// The zero value is an empty graph; use NewGraph to start one with its root.
type Graph struct {
	Claims []Claim
	Edges  []Edge
}

// NewGraph returns a graph holding only the root claim.
func NewGraph(hypothesis string) Graph {
	return Graph{Claims: []Claim{{ID: RootClaimID, Text: hypothesis}}}
}

// Claim returns the claim with the given id.
func (g *Graph) Claim(id string) (Claim, bool) {
	for _, c := range g.Claims {
		if c.ID == id {
			return c, true
		}
	}
	return Claim{}, false
}

// AddClaim adds a claim; a duplicate or empty id is EINVALID.
func (g *Graph) AddClaim(c Claim) error {
	if c.ID == "" {
		return Errorf(EINVALID, "claim id is empty")
	}
	if _, ok := g.Claim(c.ID); ok {
		return Errorf(EINVALID, "duplicate claim id %q", c.ID)
	}
	g.Claims = append(g.Claims, c)
	return nil
}

// AddEdge adds an edge after checking both ends exist, the relation is typed, the strength is in [0,1]
// and the edge does not close a cycle. A rejected edge leaves the graph unchanged: it is never silently
// dropped, the caller gets EINVALID.
func (g *Graph) AddEdge(e Edge) error {
	if err := g.checkEdge(e); err != nil {
		return err
	}
	if e.From == e.To || g.reaches(e.To, e.From) {
		return Errorf(EINVALID, "edge %s -> %s would create a cycle", e.From, e.To)
	}
	g.Edges = append(g.Edges, e)
	return nil
}

func (g *Graph) checkEdge(e Edge) error {
	if _, ok := g.Claim(e.From); !ok {
		return Errorf(EINVALID, "edge from unknown claim %q", e.From)
	}
	if _, ok := g.Claim(e.To); !ok {
		return Errorf(EINVALID, "edge to unknown claim %q", e.To)
	}
	if !e.Relation.Valid() {
		return Errorf(EINVALID, "edge %s -> %s has no relation", e.From, e.To)
	}
	if e.Strength < 0 || e.Strength > 1 || e.Strength != e.Strength {
		return Errorf(EINVALID, "edge %s -> %s strength %v outside [0,1]", e.From, e.To, e.Strength)
	}
	for _, x := range g.Edges {
		if x.From == e.From && x.To == e.To {
			return Errorf(EINVALID, "duplicate edge %s -> %s", e.From, e.To)
		}
	}
	return nil
}

// reaches reports whether there is a directed path from → to.
func (g *Graph) reaches(from, to string) bool {
	adj := g.adjacency()
	seen := map[string]bool{from: true}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		for _, m := range adj[n] {
			if !seen[m] {
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
	return false
}

func (g *Graph) adjacency() map[string][]string {
	adj := make(map[string][]string, len(g.Claims))
	for _, e := range g.Edges {
		adj[e.From] = append(adj[e.From], e.To)
	}
	return adj
}

// Validate checks the whole graph: the root exists, ids are unique and non-empty, every edge is valid and
// the graph is acyclic. It is used on graphs that did not come through AddEdge (decoded from storage or
// from a generator).
func (g *Graph) Validate() error {
	if _, ok := g.Claim(RootClaimID); !ok {
		return Errorf(EINVALID, "graph has no root claim %q", RootClaimID)
	}
	check := Graph{}
	for _, c := range g.Claims {
		if err := check.AddClaim(c); err != nil {
			return err
		}
	}
	for _, e := range g.Edges {
		if err := check.AddEdge(e); err != nil {
			return err
		}
	}
	return nil
}

// Degrees returns the in- and out-degree of every claim.
func (g *Graph) Degrees() (in, out map[string]int) {
	in, out = make(map[string]int, len(g.Claims)), make(map[string]int, len(g.Claims))
	for _, e := range g.Edges {
		out[e.From]++
		in[e.To]++
	}
	return in, out
}

// ConnectedToRoot returns the ids of claims joined to the root by a path, ignoring edge direction.
func (g *Graph) ConnectedToRoot() map[string]bool {
	und := make(map[string][]string, len(g.Claims))
	for _, e := range g.Edges {
		und[e.From] = append(und[e.From], e.To)
		und[e.To] = append(und[e.To], e.From)
	}
	seen := map[string]bool{}
	if _, ok := g.Claim(RootClaimID); !ok {
		return seen
	}
	seen[RootClaimID] = true
	stack := []string{RootClaimID}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range und[n] {
			if !seen[m] {
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
	return seen
}
