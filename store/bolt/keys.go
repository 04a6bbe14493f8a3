package bolt

import (
	"encoding/binary"
	"math"
	"time"
)

// Key layout. Every per-project key starts with project + 0x00; projects may not contain 0x00, so one
// project's keys never share a prefix with another's ("a" vs "ab" are "a\x00…" vs "ab\x00…"). Numbers are
// encoded big-endian and order-preserving so that bbolt's byte order is the order we list in.

const sep = 0x00

// timeKeyLen is the width of an encoded time: 8 bytes of Unix seconds (sign bit flipped so negative
// seconds sort first) and 4 bytes of nanoseconds. Seconds+nanos rather than UnixNano because UnixNano
// overflows outside 1678–2262, and the zero time.Time must encode (and sort oldest) too.
const timeKeyLen = 12

// trustKeyLen is the width of an encoded trust.
const trustKeyLen = 8

func projectPrefix(project string) []byte {
	b := make([]byte, 0, len(project)+1)
	b = append(b, project...)
	return append(b, sep)
}

// projectEnd is the smallest key greater than every key of the project: project + 0x01.
func projectEnd(project string) []byte {
	b := make([]byte, 0, len(project)+1)
	b = append(b, project...)
	return append(b, sep+1)
}

// entityKey is project\x00id: the primary key of jobs and SNOs, and the idempotency index key
// (project\x00key).
func entityKey(project, id string) []byte {
	b := make([]byte, 0, len(project)+1+len(id))
	b = append(b, project...)
	b = append(b, sep)
	return append(b, id...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// jobTimeKey is project\x00 time \x00 id, ascending by creation time then id. ListJobs walks it
// backwards for newest first.
func jobTimeKey(project string, created time.Time, id string) []byte {
	b := make([]byte, 0, len(project)+2+timeKeyLen+len(id))
	b = append(b, project...)
	b = append(b, sep)
	b = appendTime(b, created)
	b = append(b, sep)
	return append(b, id...)
}

// unfinishedKey is time + project\x00id: all projects in one creation-time order, because the recovery
// scan at start-up is global. The tail after the time is the job's entityKey.
func unfinishedKey(created time.Time, project, id string) []byte {
	b := make([]byte, 0, timeKeyLen+len(project)+1+len(id))
	b = appendTime(b, created)
	b = append(b, project...)
	b = append(b, sep)
	return append(b, id...)
}

// descTrust maps a trust to a uint64 whose big-endian bytes sort in descending trust order. The IEEE-754
// bits are first made order-preserving (flip all bits of negatives, set the sign bit of positives) and
// then inverted. -0 is folded to +0 so that a cursor built from 0 finds SNOs stored with -0.
func descTrust(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

// trustFromDesc inverts descTrust.
func trustFromDesc(u uint64) float64 {
	b := ^u
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// trustPrefix is project\x00 desc(trust): the position of the first SNO with exactly this trust.
func trustPrefix(project string, trust float64) []byte {
	b := make([]byte, 0, len(project)+1+trustKeyLen)
	b = append(b, project...)
	b = append(b, sep)
	return binary.BigEndian.AppendUint64(b, descTrust(trust))
}

// trustKey is project\x00 desc(trust) \x00 id: a forward cursor scan yields trust descending, then id
// ascending (byte order, as Go compares strings).
func trustKey(project string, trust float64, id string) []byte {
	b := trustPrefix(project, trust)
	b = append(b, sep)
	return append(b, id...)
}

// splitTrustKey returns the trust and id of a trustKey whose project prefix has length plen.
func splitTrustKey(k []byte, plen int) (float64, string) {
	t := trustFromDesc(binary.BigEndian.Uint64(k[plen : plen+trustKeyLen]))
	return t, string(k[plen+trustKeyLen+1:])
}
