package record

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/cns-dev/cns/store/storetest"
)

// BenchmarkCodecs compares encoding/json (the records of older builds) with the CBOR codec on the record
// of an SNO about the size ingestion produces.
func BenchmarkCodecs(b *testing.B) {
	cb, err := EncodeSNO(storetest.RealisticSNO("p", "sno_x", "job_x", rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		b.Fatal(err)
	}
	var r snoRecord
	if err := unmarshal(cb, &r); err != nil {
		b.Fatal(err)
	}
	rec, err := json.Marshal(&r)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("json %d bytes, cbor %d bytes", len(rec), len(cb))
	b.Run("json-decode", func(b *testing.B) {
		for b.Loop() {
			var x snoRecord
			_ = json.Unmarshal(rec, &x)
		}
	})
	b.Run("cbor-decode", func(b *testing.B) {
		for b.Loop() {
			var x snoRecord
			_ = unmarshal(cb, &x)
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(&r)
		}
	})
	b.Run("cbor-encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = marshal(&r)
		}
	})
}
