package server

import (
	"io"

	"connectrpc.com/connect"
	"github.com/klauspost/compress/gzip"
)

// fastGzip replaces connect-go's gzip (the standard library's, at its default level) with klauspost's
// at BestSpeed: the same gzip on the wire, which every gRPC and Connect client decodes, for a fraction
// of the CPU. A page of 20 SNOs is ~160 KB; compressing it at the default level took a third of the API
// process's CPU at 1,000 ListSNOs/s (docs/benchmarks.md), while BestSpeed still shrinks this text-heavy
// protobuf to about a third.
func fastGzip() connect.HandlerOption {
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &gzip.Reader{} },
		func() connect.Compressor {
			w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level never fails
			return w
		})
}
