package glove

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/gonum/blas/blas32"
)

// Vectors is a loaded GloVe table: words in frequency order, their vectors and norms. It is read-only
// after Load and safe for concurrent use.
type Vectors struct {
	dim   int
	words []string
	ranks []int32 // GloVe frequency rank of each row (rows skip untokenizable words, so rank ≥ row)
	index map[string]int32
	data  []float32 // rows × dim
	norms []float32
}

// Load reads VocabFile and VectorsFile from dir. Every inconsistency (missing file, wrong magic, a file
// shorter or longer than its header says, a vocabulary of another length, a bad line) is an error naming
// the file; checksums are verified by the caller (package assets) before.
func Load(dir string) (*Vectors, error) {
	vpath := filepath.Join(dir, VectorsFile)
	raw, err := os.ReadFile(vpath)
	if err != nil {
		return nil, fmt.Errorf("glove: read vectors: %w", err)
	}
	if len(raw) < headerSize || !bytes.Equal(raw[:4], vectorsMagic[:]) {
		return nil, fmt.Errorf("glove: %s is not a vectors file of this version (magic %q)", vpath, vectorsMagic[:])
	}
	rows := int(binary.LittleEndian.Uint32(raw[4:]))
	dim := int(binary.LittleEndian.Uint32(raw[8:]))
	if rows <= 0 || dim <= 0 || dim > 4096 {
		return nil, fmt.Errorf("glove: %s: header says %d rows of dimension %d", vpath, rows, dim)
	}
	if want := headerSize + rows*dim*2; len(raw) != want {
		return nil, fmt.Errorf("glove: %s is %d bytes, want %d for %d rows of dimension %d (truncated or corrupt: re-run make models)",
			vpath, len(raw), want, rows, dim)
	}
	wpath := filepath.Join(dir, VocabFile)
	vocab, err := os.ReadFile(wpath)
	if err != nil {
		return nil, fmt.Errorf("glove: read vocabulary: %w", err)
	}
	v := &Vectors{
		dim:   dim,
		words: make([]string, 0, rows),
		ranks: make([]int32, 0, rows),
		index: make(map[string]int32, rows),
		data:  make([]float32, rows*dim),
		norms: make([]float32, rows),
	}
	for line := 1; len(vocab) > 0; line++ {
		nl := bytes.IndexByte(vocab, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("glove: %s line %d: missing final newline (truncated?)", wpath, line)
		}
		w, r, ok := bytes.Cut(vocab[:nl], []byte{'\t'})
		vocab = vocab[nl+1:]
		rank, err := strconv.Atoi(string(r))
		if !ok || len(w) == 0 || err != nil || rank < 0 {
			return nil, fmt.Errorf("glove: %s line %d: want \"word<TAB>rank\"", wpath, line)
		}
		word := string(w)
		if _, dup := v.index[word]; dup {
			return nil, fmt.Errorf("glove: %s line %d: duplicate word %q", wpath, line, word)
		}
		v.index[word] = int32(len(v.words))
		v.words = append(v.words, word)
		v.ranks = append(v.ranks, int32(rank))
	}
	if len(v.words) != rows {
		return nil, fmt.Errorf("glove: %s has %d words but %s has %d rows", wpath, len(v.words), vpath, rows)
	}
	body := raw[headerSize:]
	for i := range v.data {
		v.data[i] = fromHalf(binary.LittleEndian.Uint16(body[2*i:]))
	}
	for r := 0; r < rows; r++ {
		var s float64
		for _, x := range v.data[r*dim : (r+1)*dim] {
			s += float64(x) * float64(x)
		}
		v.norms[r] = float32(math.Sqrt(s))
	}
	return v, nil
}

// Dim is the vector dimension.
func (v *Vectors) Dim() int { return v.dim }

// Len is the number of words.
func (v *Vectors) Len() int { return len(v.words) }

// Lookup returns the row of word.
func (v *Vectors) Lookup(word string) (int, bool) {
	r, ok := v.index[word]
	return int(r), ok
}

// LookupBytes is Lookup without allocating a string.
func (v *Vectors) LookupBytes(word []byte) (int, bool) {
	r, ok := v.index[string(word)]
	return int(r), ok
}

// Row returns the vector of a row; the slice aliases the table and must not be modified.
func (v *Vectors) Row(r int) []float32 { return v.data[r*v.dim : (r+1)*v.dim : (r+1)*v.dim] }

// Norm returns the Euclidean norm of a row's vector.
func (v *Vectors) Norm(r int) float32 { return v.norms[r] }

// Word returns a row's word.
func (v *Vectors) Word(r int) string { return v.words[r] }

// Rank returns a row's 0-based frequency rank in the GloVe corpus.
func (v *Vectors) Rank(r int) int { return int(v.ranks[r]) }

// Cosine returns the cosine similarity of two rows (0 when either vector is zero).
func (v *Vectors) Cosine(a, b int) float32 {
	na, nb := v.norms[a], v.norms[b]
	if na == 0 || nb == 0 {
		return 0
	}
	return dot(v.Row(a), v.Row(b)) / (na * nb)
}

// dot is gonum's BLAS dot product: SSE in assembly on amd64, ~2× the speed of the best plain Go loop
// here (which its loads bound at one element a cycle), and the GloVe cosines are a quarter of an ingest
// build's CPU. Its partial sums are ordered differently from a loop's, so the last bits of a cosine may
// differ from one computed elsewhere; docs/eval.md's numbers are measured with it.
func dot(a, b []float32) float32 {
	return blas32.Dot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(a), Inc: 1, Data: b[:len(a)]})
}

// Dot is the inner product of two equal-length vectors.
func Dot(a, b []float32) float32 { return dot(a, b) }
