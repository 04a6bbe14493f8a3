//go:build faiss

package faiss

/*
#cgo CFLAGS: -fopenmp
#cgo LDFLAGS: -L/usr/local/lib -lfaiss_c -lfaiss -lopenblas -lgomp -lstdc++ -lm
#include <stdlib.h>
#include <omp.h>
#include <faiss/c_api/faiss_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>

// Every call that may run an OpenMP parallel region first sets the calling thread's team size. Go runs
// cgo calls on whichever OS thread the goroutine is on, and libgomp keeps a thread team per calling
// thread: without this, single queries from many goroutines would each wake a full team (the main cost
// of single-query FAISS search from Go). One thread for single operations, several for batches.

static int cns_add(FaissIndex* idx, idx_t n, const float* x, const idx_t* ids, int threads) {
	omp_set_num_threads(threads);
	return faiss_Index_add_with_ids(idx, n, x, ids);
}

static int cns_search(const FaissIndex* idx, idx_t n, const float* x, idx_t k, float* dist, idx_t* labels, int threads) {
	omp_set_num_threads(threads);
	return faiss_Index_search(idx, n, x, k, dist, labels);
}

static int cns_remove(FaissIndex* idx, size_t n, const idx_t* ids, size_t* removed) {
	FaissIDSelectorBatch* sel = NULL;
	int rc = faiss_IDSelectorBatch_new(&sel, n, ids);
	if (rc != 0) return rc;
	omp_set_num_threads(1);
	rc = faiss_Index_remove_ids(idx, (const FaissIDSelector*)sel, removed);
	faiss_IDSelector_free((FaissIDSelector*)sel);
	return rc;
}

static int cns_set_param(FaissIndex* idx, const char* name, double val) {
	FaissParameterSpace* ps = NULL;
	int rc = faiss_ParameterSpace_new(&ps);
	if (rc != 0) return rc;
	rc = faiss_ParameterSpace_set_index_parameter(ps, idx, name, val);
	faiss_ParameterSpace_free(ps);
	return rc;
}

// cns_id_map returns the IDMap's internal-position → label table and its sub-index, or NULL when idx is
// not an IndexIDMap.
static const idx_t* cns_id_map(FaissIndex* idx, size_t* n, FaissIndex** sub) {
	FaissIndexIDMap* m = faiss_IndexIDMap_cast(idx);
	if (m == NULL) return NULL;
	idx_t* p = NULL;
	faiss_IndexIDMap_id_map(m, &p, n);
	*sub = faiss_IndexIDMap_sub_index(m);
	return p;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// cIndex is an owned FAISS index. Its methods are not synchronised: Index serialises writers.
type cIndex struct {
	p   *C.FaissIndex
	dim int
}

// call runs one FAISS C API call and turns a non-zero return code into an error carrying FAISS's message.
// The message is thread-local in FAISS, so the goroutine stays on its OS thread from the call until the
// message is read.
func call(step string, f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := f(); rc != 0 {
		return lastError(rc, step)
	}
	return nil
}

// lastError returns FAISS's message for the last failed call of this OS thread.
func lastError(rc C.int, step string) error {
	msg := C.GoString(C.faiss_get_last_error())
	if msg == "" {
		msg = "no message"
	}
	// The C++ exception text carries a file:line prefix and a trailing newline; keep it whole (it is
	// what FAISS's own tools print) but on one line.
	return fmt.Errorf("faiss %s (code %d): %s", step, int(rc), oneLine(msg))
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return string(b)
}

// newCIndex builds an inner-product index from an index_factory description.
func newCIndex(dim int, description string) (*cIndex, error) {
	cs := C.CString(description)
	defer C.free(unsafe.Pointer(cs))
	var p *C.FaissIndex
	if err := call("index_factory "+description, func() C.int {
		return C.faiss_index_factory(&p, C.int(dim), cs, C.METRIC_INNER_PRODUCT)
	}); err != nil {
		return nil, err
	}
	return &cIndex{p: p, dim: dim}, nil
}

// readCIndex reads an index written by write.
func readCIndex(path string) (*cIndex, error) {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var p *C.FaissIndex
	if err := call("read_index", func() C.int { return C.faiss_read_index_fname(cs, 0, &p) }); err != nil {
		return nil, err
	}
	return &cIndex{p: p, dim: int(C.faiss_Index_d(p))}, nil
}

func (x *cIndex) free() {
	if x.p != nil {
		C.faiss_Index_free(x.p)
		x.p = nil
	}
}

func (x *cIndex) ntotal() int64 { return int64(C.faiss_Index_ntotal(x.p)) }

func (x *cIndex) isTrained() bool { return C.faiss_Index_is_trained(x.p) != 0 }

func (x *cIndex) isInnerProduct() bool {
	return C.faiss_Index_metric_type(x.p) == C.METRIC_INNER_PRODUCT
}

// add adds n = len(ids) vectors (row-major in v) under ids.
func (x *cIndex) add(v []float32, ids []int64, threads int) error {
	if len(ids) == 0 {
		return nil
	}
	if len(v) != len(ids)*x.dim {
		return errors.New("faiss add: vector data does not match the ids")
	}
	return call("add_with_ids", func() C.int {
		return C.cns_add(x.p, C.idx_t(len(ids)), (*C.float)(unsafe.Pointer(&v[0])), (*C.idx_t)(unsafe.Pointer(&ids[0])), C.int(threads))
	})
}

// search returns, for each of the len(q)/dim queries, k labels and inner products, best first; missing
// results have label -1.
func (x *cIndex) search(q []float32, k int, threads int) (dist []float32, labels []int64, err error) {
	n := len(q) / x.dim
	dist = make([]float32, n*k)
	labels = make([]int64, n*k)
	if n == 0 || k == 0 {
		return dist, labels, nil
	}
	err = call("search", func() C.int {
		return C.cns_search(x.p, C.idx_t(n), (*C.float)(unsafe.Pointer(&q[0])), C.idx_t(k),
			(*C.float)(unsafe.Pointer(&dist[0])), (*C.idx_t)(unsafe.Pointer(&labels[0])), C.int(threads))
	})
	if err != nil {
		return nil, nil, err
	}
	return dist, labels, nil
}

// remove removes the vectors with the given labels and returns how many it removed.
func (x *cIndex) remove(ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var removed C.size_t
	if err := call("remove_ids", func() C.int {
		return C.cns_remove(x.p, C.size_t(len(ids)), (*C.idx_t)(unsafe.Pointer(&ids[0])), &removed)
	}); err != nil {
		return 0, err
	}
	return int(removed), nil
}

// canRemove reports whether the index implements remove_ids (flat and IVF indexes do, HNSW does not), by
// removing nothing: the call fails before touching the index when removal is not implemented.
func (x *cIndex) canRemove() bool {
	_, err := x.remove([]int64{-12345})
	return err == nil
}

// setParam sets a search-time parameter through FAISS's ParameterSpace (e.g. "efSearch"), which reaches
// through the IDMap to the wrapped index.
func (x *cIndex) setParam(name string, val float64) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return call("set "+name, func() C.int { return C.cns_set_param(x.p, cs, C.double(val)) })
}

func (x *cIndex) write(path string) error {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	return call("write_index", func() C.int { return C.faiss_write_index_fname(x.p, cs) })
}

// idMap returns a copy of the IDMap's labels in internal order, and false when the index is not an
// IndexIDMap.
func (x *cIndex) idMap() ([]int64, bool) {
	var n C.size_t
	var sub *C.FaissIndex
	p := C.cns_id_map(x.p, &n, &sub)
	if p == nil {
		return nil, false
	}
	if n == 0 {
		return []int64{}, true
	}
	return append([]int64(nil), unsafe.Slice((*int64)(unsafe.Pointer(p)), int(n))...), true
}

// reconstructAll returns the stored vectors in internal order (the order of idMap), read back from the
// wrapped index; it fails for index kinds that cannot reconstruct.
func (x *cIndex) reconstructAll() ([]float32, error) {
	var n C.size_t
	var sub *C.FaissIndex
	if C.cns_id_map(x.p, &n, &sub) == nil {
		return nil, errors.New("faiss reconstruct: not an IDMap index")
	}
	out := make([]float32, int(n)*x.dim)
	if n == 0 {
		return out, nil
	}
	if err := call("reconstruct_n", func() C.int {
		return C.faiss_Index_reconstruct_n(sub, 0, C.idx_t(n), (*C.float)(unsafe.Pointer(&out[0])))
	}); err != nil {
		return nil, err
	}
	return out, nil
}
