package cybertron

import (
	"container/list"
	"sync"

	"github.com/cns-dev/cns"
)

// cacheKey identifies an NLI result: the model (a prefix of its weights' SHA-256) and 128-bit SHA-256
// prefixes of the premise and the hypothesis, so keys are small and fixed-size whatever the texts' length,
// and texts are not kept in memory.
type cacheKey struct {
	model      [8]byte
	premise    [16]byte
	hypothesis [16]byte
}

// lru is a fixed-capacity least-recently-used cache of NLI results. Safe for concurrent use.
type lru struct {
	mu    sync.Mutex
	cap   int
	order *list.List // front = most recent; values are *lruEntry
	items map[cacheKey]*list.Element
}

type lruEntry struct {
	key cacheKey
	val cns.Entailment
}

func newLRU(capacity int) *lru {
	return &lru{cap: capacity, order: list.New(), items: make(map[cacheKey]*list.Element, capacity)}
}

func (c *lru) get(k cacheKey) (cns.Entailment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return cns.Entailment{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).val, true
}

func (c *lru) put(k cacheKey, v cns.Entailment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*lruEntry).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{key: k, val: v})
	if c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
