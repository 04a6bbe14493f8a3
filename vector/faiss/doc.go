// Package faiss is the FAISS vector index behind cns.VectorIndex: the project's own small cgo binding to
// FAISS's C API (index_factory, add_with_ids through an IDMap, single and batched search, remove_ids,
// ntotal, write/read index, errors from faiss_get_last_error), for populations where the exact pure-Go
// index is too slow. "IDMap,Flat" is exact; "IDMap,HNSW32" approximate with a configurable efSearch.
// Store persists one index per project with checksums and falls back to a rebuild from the store whenever
// a file is missing, damaged or stale.
//
// Everything but this comment is behind the build tag `faiss`, so the default build stays pure Go. It
// needs the static FAISS library and its C API: scripts/install-faiss.sh (make faiss) installs Debian's
// libfaiss-dev and libopenblas-dev and builds /usr/local/lib/libfaiss_c.a from the matching source
// package. Then: go build -tags faiss.
package faiss
