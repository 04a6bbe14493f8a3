package record

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Records are encoded as CBOR (RFC 8949) maps with the JSON field names of the record structs: a
// record decodes in about a quarter of the time of the same record in JSON (no number or base64 text
// to parse; BenchmarkCodecs), encodes in half the time, and the embedding is stored as raw bytes. Every
// read of an SNO — GetSNO, listings, the worker's job loads — pays the decode, which is why it matters.
//
// Records written as JSON by builds before the switch still decode: a JSON record is an object, its
// first byte '{', which no CBOR map starts with (0xa0–0xbf). Rewriting records (any update, or
// `cns keys rotate`) stores them as CBOR.

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// Times as RFC 3339 text with nanoseconds, exactly what the JSON records held.
	if encMode, err = (cbor.EncOptions{Time: cbor.TimeRFC3339Nano}).EncMode(); err != nil {
		panic(err)
	}
	if decMode, err = (cbor.DecOptions{}).DecMode(); err != nil {
		panic(err)
	}
}

func marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

func unmarshal(b []byte, v any) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, v)
	}
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cbor: %w", err)
	}
	return nil
}
