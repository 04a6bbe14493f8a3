//go:build faiss

package faiss

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
)

// On disk an index is two files: <name>.faiss, FAISS's own serialisation, and <name>.meta, which holds the
// id ↔ label tables, the vector hashes and the tombstones, the index's configuration, and the SHA-256 and
// size of the .faiss file; the .meta file ends with the SHA-256 of everything before it. Both are written
// to temporary names, synced and renamed, .faiss first: a crash between the renames leaves a .meta whose
// checksum does not match the new .faiss, which Load refuses. Anything Load refuses is rebuilt from the
// store, so a damaged, foreign or stale file costs time, never a wrong answer.

const (
	metaMagic   = "CNS-FAISS-META\n"
	metaVersion = 1
)

type meta struct {
	Version     int
	Description string
	Dim         int
	Next        int64
	IDs         []string // parallel to Labels and Hashes
	Labels      []int64
	Hashes      []uint64
	Dead        []int64 // tombstones, and entries never confirmed when saved
	IndexSHA256 string
	IndexSize   int64
}

// Save writes the index to path.faiss and path.meta.
func (x *Index) Save(path string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return cns.Errorf(cns.EFAILEDPRECOND, "faiss: index is closed")
	}
	m := meta{Version: metaVersion, Description: x.cfg.Description, Dim: x.dim, Next: x.next}
	for id, label := range x.labels {
		if _, p := x.pending[label]; p {
			// Never confirmed by the store: keep it hidden after a reload too.
			m.Dead = append(m.Dead, label)
			continue
		}
		m.IDs = append(m.IDs, id)
		m.Labels = append(m.Labels, label)
		m.Hashes = append(m.Hashes, x.hashes[label])
	}
	for label := range x.dead {
		m.Dead = append(m.Dead, label)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("faiss: save: %w", err)
	}
	tmpIndex := path + ".faiss.tmp"
	if err := x.c.write(tmpIndex); err != nil {
		return fmt.Errorf("faiss: save: %w", err)
	}
	sum, size, err := syncAndHash(tmpIndex)
	if err != nil {
		os.Remove(tmpIndex)
		return fmt.Errorf("faiss: save: %w", err)
	}
	m.IndexSHA256, m.IndexSize = sum, size

	var buf bytes.Buffer
	buf.WriteString(metaMagic)
	if err := gob.NewEncoder(&buf).Encode(&m); err != nil {
		os.Remove(tmpIndex)
		return fmt.Errorf("faiss: save: encode meta: %w", err)
	}
	trailer := sha256.Sum256(buf.Bytes())
	buf.Write(trailer[:])
	tmpMeta := path + ".meta.tmp"
	if err := writeSynced(tmpMeta, buf.Bytes()); err != nil {
		os.Remove(tmpIndex)
		return fmt.Errorf("faiss: save: %w", err)
	}
	if err := os.Rename(tmpIndex, path+".faiss"); err != nil {
		return fmt.Errorf("faiss: save: %w", err)
	}
	if err := os.Rename(tmpMeta, path+".meta"); err != nil {
		return fmt.Errorf("faiss: save: %w", err)
	}
	return syncDir(dir)
}

// Load reads an index saved by Save. It fails — and the caller rebuilds from the store — when a file is
// missing (os.ErrNotExist in the chain), damaged (checksum, size, decoding), or from another
// configuration (description or dimension differ). Every loaded entry starts pending: hidden from
// searches until an Add of the same vector confirms it (see Store).
func Load(path string, dim int, cfg Config) (*Index, error) {
	m, err := readMeta(path + ".meta")
	if err != nil {
		return nil, err
	}
	switch {
	case m.Version != metaVersion:
		return nil, fmt.Errorf("faiss: %s.meta: format version %d, want %d", path, m.Version, metaVersion)
	case m.Description != cfg.Description:
		return nil, fmt.Errorf("faiss: %s.meta: saved as %q, configured %q", path, m.Description, cfg.Description)
	case m.Dim != dim:
		return nil, fmt.Errorf("faiss: %s.meta: dimension %d, want %d", path, m.Dim, dim)
	case len(m.IDs) != len(m.Labels) || len(m.Labels) != len(m.Hashes):
		return nil, fmt.Errorf("faiss: %s.meta: inconsistent tables", path)
	}
	sum, size, err := hashFile(path + ".faiss")
	if err != nil {
		return nil, fmt.Errorf("faiss: %w", err)
	}
	if size != m.IndexSize || sum != m.IndexSHA256 {
		return nil, fmt.Errorf("faiss: %s.faiss does not match its .meta (checksum or size differ)", path)
	}
	c, err := readCIndex(path + ".faiss")
	if err != nil {
		return nil, fmt.Errorf("faiss: %w", err)
	}
	x := &Index{cfg: cfg, dim: dim}
	fail := func(format string, args ...any) (*Index, error) {
		c.free()
		return nil, fmt.Errorf("faiss: %s: "+format, append([]any{path}, args...)...)
	}
	if c.dim != dim {
		return fail("index dimension %d, want %d", c.dim, dim)
	}
	if err := x.adopt(c); err != nil {
		return fail("%v", err)
	}
	x.reset()
	x.next = m.Next
	for i, id := range m.IDs {
		l := m.Labels[i]
		if _, dup := x.labels[id]; dup || l >= m.Next || l < 0 {
			return fail("duplicate id or label out of range in .meta")
		}
		x.labels[id], x.ids[l], x.hashes[l] = l, id, m.Hashes[i]
		x.pending[l] = struct{}{}
	}
	for _, l := range m.Dead {
		x.dead[l] = struct{}{}
	}
	// The labels in FAISS must be exactly the live ones and the tombstones.
	order, ok := c.idMap()
	if !ok {
		return fail("not an IDMap index")
	}
	if len(order) != len(x.ids)+len(x.dead) {
		return fail("FAISS holds %d vectors, .meta accounts for %d", len(order), len(x.ids)+len(x.dead))
	}
	for _, l := range order {
		_, live := x.ids[l]
		_, dead := x.dead[l]
		if !live && !dead {
			return fail("FAISS holds label %d that .meta does not know", l)
		}
	}
	if len(x.dead) > 0 {
		if x.native {
			// Entries saved as hidden (tombstones of another index kind, unconfirmed entries) go now.
			dead := make([]int64, 0, len(x.dead))
			for l := range x.dead {
				dead = append(dead, l)
			}
			if _, err := c.remove(dead); err != nil {
				return fail("drop hidden entries: %v", err)
			}
			x.dead = map[int64]struct{}{}
		} else {
			x.maybeCompact()
		}
	}
	return x, nil
}

func readMeta(path string) (meta, error) {
	var m meta
	b, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("faiss: %w", err)
	}
	if len(b) < len(metaMagic)+sha256.Size || !bytes.HasPrefix(b, []byte(metaMagic)) {
		return m, fmt.Errorf("faiss: %s: not an index metadata file", path)
	}
	body, trailer := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], trailer) {
		return m, fmt.Errorf("faiss: %s: checksum mismatch", path)
	}
	if err := gob.NewDecoder(bytes.NewReader(body[len(metaMagic):])).Decode(&m); err != nil {
		return m, fmt.Errorf("faiss: %s: %w", path, err)
	}
	return m, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func syncAndHash(path string) (string, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Store persists one index per project in a directory. Its NewIndex is the vector.Set factory; the Set
// then tells each index its project (BindProject), and the index of a project with a saved file starts
// from that file. Entries loaded from a file are pending — invisible to searches — until the store's
// rebuild confirms them (an Add of the same vector: no FAISS work), replaces them or removes them; Loaded
// then drops whatever the store no longer has. Until Loaded, and forever if it is never called, stale
// entries are simply never returned. After Loaded, projects get fresh indexes (a file is only trusted at
// start, next to a full rebuild). Save writes every index; a crash before it costs a rebuild, nothing else.
type Store struct {
	dir string
	cfg Config
	log *zap.Logger

	mu      sync.Mutex
	loaded  bool
	indexes map[string]*Index // bound project → index
}

// NewStore returns a store of indexes with configuration cfg in dir (created if needed). An empty dir
// disables persistence: nothing is loaded or saved, the store only tracks its indexes to free them. log
// may be nil.
func NewStore(dir string, cfg Config, log *zap.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("faiss: index directory: %w", err)
		}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{dir: dir, cfg: cfg, log: log, indexes: map[string]*Index{}}, nil
}

// NewIndex returns an empty index bound to this store; it panics if FAISS cannot build one, which
// NewStore's validation of the configuration rules out.
func (s *Store) NewIndex(dim int) cns.VectorIndex {
	x, err := New(dim, s.cfg)
	if err != nil {
		panic(fmt.Sprintf("faiss: the configuration validated at start no longer builds an index: %v", err))
	}
	x.store = s
	return x
}

// path returns the file prefix of a project: hex-encoded, so any project name is a safe file name.
func (s *Store) path(project string) string {
	return filepath.Join(s.dir, "p-"+hex.EncodeToString([]byte(project)))
}

// BindProject tells the index its project (vector.Set calls it once, before first use). For an index of
// a Store, the project's saved file is loaded into it if the store has not finished loading.
func (x *Index) BindProject(project string) {
	x.mu.Lock()
	x.project = project
	s := x.store
	x.mu.Unlock()
	if s != nil {
		s.bind(x, project)
	}
}

func (s *Store) bind(x *Index, project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexes[project] = x
	if s.loaded || s.dir == "" {
		return
	}
	path := s.path(project)
	saved, err := Load(path, x.dim, s.cfg)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return
	case err != nil:
		s.log.Warn("saved vector index unusable; rebuilding it from the store", zap.String("project", project), zap.Error(err))
		return
	}
	// Move the loaded state into x, which the Set already holds.
	x.mu.Lock()
	defer x.mu.Unlock()
	x.c.free()
	x.c, x.native = saved.c, saved.native
	x.labels, x.ids, x.hashes, x.dead, x.pending, x.next = saved.labels, saved.ids, saved.hashes, saved.dead, saved.pending, saved.next
	s.log.Info("vector index loaded from disk", zap.String("project", project), zap.Int("vectors", len(x.labels)), zap.Int("tombstones", len(x.dead)))
}

// Loaded ends loading: entries of saved files that the store's rebuild did not confirm are removed, and
// saved files of projects that have no index are deleted. Call it after the first full rebuild.
func (s *Store) Loaded() (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
	for project, x := range s.indexes {
		n := x.dropPending()
		if n > 0 {
			s.log.Info("vector index: dropped entries the store no longer has", zap.String("project", project), zap.Int("entries", n))
		}
		dropped += n
	}
	if s.dir == "" {
		return dropped
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".meta"), ".faiss")
		raw, err := hex.DecodeString(strings.TrimPrefix(base, "p-"))
		if err != nil || !strings.HasPrefix(base, "p-") {
			continue
		}
		if _, bound := s.indexes[string(raw)]; !bound {
			os.Remove(filepath.Join(s.dir, name))
		}
	}
	return dropped
}

func (x *Index) dropPending() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := len(x.pending)
	for label := range x.pending {
		if err := x.dropLabel(label); err != nil {
			x.dead[label] = struct{}{}
		}
	}
	return n
}

// Save writes every bound index to the directory. Errors are joined; an index that fails to save is
// rebuilt at the next start. Before Loaded nothing is written: the indexes may still hold unconfirmed
// entries (a start that failed half-way), and the files on disk are at least as good.
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" || !s.loaded {
		return nil
	}
	projects := make([]string, 0, len(s.indexes))
	for p := range s.indexes {
		projects = append(projects, p)
	}
	sort.Strings(projects)
	var errs []error
	for _, p := range projects {
		if err := s.indexes[p].Save(s.path(p)); err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", p, err))
			continue
		}
		s.log.Info("vector index saved", zap.String("project", p), zap.Int("vectors", s.indexes[p].Len()))
	}
	return errors.Join(errs...)
}

// Close frees every bound index.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.indexes {
		x.Close()
	}
}
