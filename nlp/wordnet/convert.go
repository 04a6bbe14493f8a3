package wordnet

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cns-dev/cns/nlp"
)

// File names inside a WordNet asset directory.
const (
	SynsetsFile    = "synsets.txt"    // one synset per line: pos, lemmas, hypernym lines, similar-to lines
	AntonymsFile   = "antonyms.txt"   // "a<TAB>b" lemma pairs, a < b, sorted
	ExceptionsFile = "exceptions.txt" // "pos<TAB>inflected<TAB>base", sorted
)

// posFiles are the WordNet data files, in the order their synsets are numbered.
var posFiles = []struct {
	pos  byte
	name string
}{{'n', "noun"}, {'v', "verb"}, {'a', "adj"}, {'r', "adv"}}

// ConvertInfo describes a conversion.
type ConvertInfo struct {
	Synsets    int
	Lemmas     int
	Antonyms   int // lemma pairs, direct and through adjective satellites
	Exceptions int
}

type rawSynset struct {
	pos     byte // n, v, a (satellites s are folded into a), r
	lemmas  []string
	hyper   []string // keys "pos:offset"
	similar []string
	ants    []rawAnt
}

type rawAnt struct {
	src    int // index into lemmas (-1: every lemma)
	target string
	tgtIdx int
}

// Convert reads the WordNet 3.0 database files in src (data.noun, data.verb, data.adj, data.adv and the
// *.exc morphological exception lists, as installed by Debian's wordnet-base in /usr/share/wordnet) and
// writes the compact files SynsetsFile, AntonymsFile and ExceptionsFile into dir. Only single-word lemmas
// the service's tokenizer can produce are kept (multi-word lemmas cannot be matched token by token); their
// synsets stay in the hypernym graph. Output depends only on the input files.
func Convert(src, dir string) (ConvertInfo, error) {
	var info ConvertInfo
	keyLine := map[string]int{}
	var syns []rawSynset
	for _, pf := range posFiles {
		path := filepath.Join(src, "data."+pf.name)
		b, err := os.ReadFile(path)
		if err != nil {
			return info, fmt.Errorf("wordnet convert: %w", err)
		}
		for ln, line := range bytes.Split(b, []byte{'\n'}) {
			if len(line) == 0 || line[0] == ' ' {
				continue // the licence header lines start with two spaces
			}
			s, key, err := parseDataLine(string(line))
			if err != nil {
				return info, fmt.Errorf("wordnet convert: %s line %d: %w", path, ln+1, err)
			}
			if s.pos != pf.pos {
				return info, fmt.Errorf("wordnet convert: %s line %d: synset of type %c in the %s file", path, ln+1, s.pos, pf.name)
			}
			keyLine[key] = len(syns)
			syns = append(syns, s)
		}
	}
	if len(syns) == 0 {
		return info, fmt.Errorf("wordnet convert: no synsets in %s", src)
	}
	resolve := func(keys []string) ([]int, error) {
		out := make([]int, 0, len(keys))
		for _, k := range keys {
			i, ok := keyLine[k]
			if !ok {
				return nil, fmt.Errorf("pointer to unknown synset %s", k)
			}
			out = append(out, i)
		}
		sort.Ints(out)
		return out, nil
	}
	var sb strings.Builder
	lemmaSet := map[string]bool{}
	for i, s := range syns {
		hyp, err := resolve(s.hyper)
		if err != nil {
			return info, fmt.Errorf("wordnet convert: synset %d: %w", i, err)
		}
		sim, err := resolve(s.similar)
		if err != nil {
			return info, fmt.Errorf("wordnet convert: synset %d: %w", i, err)
		}
		sb.WriteByte(s.pos)
		sb.WriteByte('\t')
		first := true
		for _, l := range s.lemmas {
			if !usable(l) {
				continue
			}
			if !first {
				sb.WriteByte(' ')
			}
			sb.WriteString(l)
			first = false
			lemmaSet[l] = true
		}
		sb.WriteByte('\t')
		writeInts(&sb, hyp)
		sb.WriteByte('\t')
		writeInts(&sb, sim)
		sb.WriteByte('\n')
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return info, fmt.Errorf("wordnet convert: %w", err)
	}
	if err := writeFile(filepath.Join(dir, SynsetsFile), []byte(sb.String())); err != nil {
		return info, fmt.Errorf("wordnet convert: %w", err)
	}
	info.Synsets, info.Lemmas = len(syns), len(lemmaSet)

	// Antonyms: the direct lexical pairs, widened through adjective clusters: a satellite ("icy") of a
	// head adjective ("cold") opposes the head's antonym ("hot"), WordNet's indirect antonymy.
	pairs := map[[2]string]bool{}
	add := func(a, b string) {
		if a == b || !usable(a) || !usable(b) {
			return
		}
		if b < a {
			a, b = b, a
		}
		pairs[[2]string{a, b}] = true
	}
	satellites := map[int][]int{} // head adjective → satellites pointing at it
	for i, s := range syns {
		if s.pos == 'a' {
			for _, k := range s.similar {
				satellites[keyLine[k]] = append(satellites[keyLine[k]], i)
			}
		}
	}
	for i, s := range syns {
		for _, a := range s.ants {
			j := keyLine[a.target]
			t := syns[j]
			srcLemmas := s.lemmas
			if a.src >= 0 && a.src < len(s.lemmas) {
				srcLemmas = s.lemmas[a.src : a.src+1]
			}
			tgtLemmas := t.lemmas
			if a.tgtIdx >= 0 && a.tgtIdx < len(t.lemmas) {
				tgtLemmas = t.lemmas[a.tgtIdx : a.tgtIdx+1]
			}
			for _, x := range srcLemmas {
				for _, y := range tgtLemmas {
					add(x, y)
				}
			}
			if s.pos == 'a' {
				for _, sat := range satellites[i] {
					for _, x := range syns[sat].lemmas {
						for _, y := range tgtLemmas {
							add(x, y)
						}
					}
				}
			}
		}
	}
	keys := make([][2]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	var ab strings.Builder
	for _, k := range keys {
		ab.WriteString(k[0])
		ab.WriteByte('\t')
		ab.WriteString(k[1])
		ab.WriteByte('\n')
	}
	if err := writeFile(filepath.Join(dir, AntonymsFile), []byte(ab.String())); err != nil {
		return info, fmt.Errorf("wordnet convert: %w", err)
	}
	info.Antonyms = len(keys)

	var exc []string
	for _, pf := range posFiles {
		path := filepath.Join(src, pf.name+".exc")
		b, err := os.ReadFile(path)
		if err != nil {
			return info, fmt.Errorf("wordnet convert: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || !usable(f[0]) {
				continue
			}
			for _, base := range f[1:] {
				if usable(base) {
					exc = append(exc, string(pf.pos)+"\t"+f[0]+"\t"+base)
				}
			}
		}
	}
	sort.Strings(exc)
	exc = compactStrings(exc)
	if err := writeFile(filepath.Join(dir, ExceptionsFile), []byte(strings.Join(exc, "\n")+"\n")); err != nil {
		return info, fmt.Errorf("wordnet convert: %w", err)
	}
	info.Exceptions = len(exc)
	return info, nil
}

// parseDataLine parses "offset lex_filenum ss_type w_cnt word lex_id … p_cnt ptr… | gloss".
func parseDataLine(line string) (rawSynset, string, error) {
	if bar := strings.Index(line, " | "); bar >= 0 {
		line = line[:bar]
	}
	f := strings.Fields(line)
	if len(f) < 4 {
		return rawSynset{}, "", fmt.Errorf("too few fields")
	}
	var s rawSynset
	s.pos = f[2][0]
	if s.pos == 's' {
		s.pos = 'a'
	}
	key := string(s.pos) + ":" + f[0]
	wcnt, err := strconv.ParseInt(f[3], 16, 32)
	if err != nil || wcnt <= 0 || 4+2*int(wcnt) >= len(f) {
		return rawSynset{}, "", fmt.Errorf("bad word count %q", f[3])
	}
	i := 4
	for w := 0; w < int(wcnt); w++ {
		s.lemmas = append(s.lemmas, cleanLemma(f[i]))
		i += 2
	}
	pcnt, err := strconv.Atoi(f[i])
	if err != nil || i+1+4*pcnt > len(f) {
		return rawSynset{}, "", fmt.Errorf("bad pointer count %q", f[i])
	}
	i++
	for p := 0; p < pcnt; p++ {
		sym, off, pos, st := f[i], f[i+1], f[i+2], f[i+3]
		i += 4
		if pos == "s" {
			pos = "a"
		}
		target := pos + ":" + off
		switch sym {
		case "@", "@i":
			s.hyper = append(s.hyper, target)
		case "&":
			s.similar = append(s.similar, target)
		case "!":
			src, _ := strconv.ParseInt(st[:2], 16, 32)
			tgt, _ := strconv.ParseInt(st[2:], 16, 32)
			s.ants = append(s.ants, rawAnt{src: int(src) - 1, target: target, tgtIdx: int(tgt) - 1})
		}
	}
	return s, key, nil
}

// cleanLemma lower-cases a lemma and drops the adjective position markers "(a)", "(p)", "(ip)".
func cleanLemma(w string) string {
	if i := strings.IndexByte(w, '('); i > 0 {
		w = w[:i]
	}
	return strings.ToLower(w)
}

// usable reports whether the tokenizer produces w as one token.
func usable(w string) bool {
	t := nlp.Tokens(w)
	return len(t) == 1 && t[0] == w
}

func writeInts(sb *strings.Builder, xs []int) {
	for i, x := range xs {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(x))
	}
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// writeFile writes through a temporary file and a rename, so an interrupted conversion never leaves a
// half-written asset under the final name.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
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
