package bertgen

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"strconv"
)

// writeTorch writes tensors as a PyTorch state dict in the zip format of torch.save (PyTorch ≥ 1.6): an
// archive with data.pkl, a pickle (protocol 2) of an OrderedDict name → torch._utils._rebuild_tensor_v2
// whose storages are persistent ids ('storage', torch.FloatStorage, key, 'cpu', numel), and one
// little-endian float32 record per storage under data/<key>. Only what Hugging Face BERT checkpoints
// use is written: contiguous float32 tensors, one storage each.
func writeTorch(path string, tensors []tensor) error {
	var pk pickler
	pk.op(0x80, 2) // PROTO 2
	pk.global("collections", "OrderedDict")
	pk.op(')') // EMPTY_TUPLE
	pk.op('R') // REDUCE: OrderedDict()
	pk.op('(') // MARK for SETITEMS
	for i, t := range tensors {
		pk.str(t.name)
		pk.global("torch._utils", "_rebuild_tensor_v2")
		pk.op('(') // MARK: the six arguments
		// The storage, loaded by the unpickler's persistent_load.
		pk.op('(')
		pk.str("storage")
		pk.global("torch", "FloatStorage")
		pk.str(strconv.Itoa(i))
		pk.str("cpu")
		pk.int(len(t.data))
		pk.op('t') // TUPLE
		pk.op('Q') // BINPERSID
		pk.int(0)  // storage offset
		pk.ints(t.shape)
		pk.ints(strides(t.shape))
		pk.op(0x89) // NEWFALSE: requires_grad
		pk.global("collections", "OrderedDict")
		pk.op(')')
		pk.op('R') // backward hooks: OrderedDict()
		pk.op('t') // TUPLE of the arguments
		pk.op('R') // REDUCE: _rebuild_tensor_v2(*args)
	}
	pk.op('u') // SETITEMS
	pk.op('.') // STOP

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		// Stored, not deflated, like torch.save.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if err := add("data.pkl", pk.b); err != nil {
		return err
	}
	for i, t := range tensors {
		raw := make([]byte, 4*len(t.data))
		for j, f := range t.data {
			binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(f))
		}
		if err := add("data/"+strconv.Itoa(i), raw); err != nil {
			return err
		}
	}
	if err := add("version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// strides returns the row-major strides of a shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// pickler emits the few pickle opcodes a state dict needs.
type pickler struct{ b []byte }

func (p *pickler) op(codes ...byte) { p.b = append(p.b, codes...) }

func (p *pickler) global(module, name string) {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module...)
	p.b = append(p.b, '\n')
	p.b = append(p.b, name...)
	p.b = append(p.b, '\n')
}

func (p *pickler) str(s string) { // BINUNICODE
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}

func (p *pickler) int(v int) { // BININT (signed 32-bit)
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
}

func (p *pickler) ints(vs []int) { // a tuple of ints
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	p.op('t')
}
