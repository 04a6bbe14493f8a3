package bolt

import (
	"path/filepath"
	"slices"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/storetest"
)

func TestPairContract(t *testing.T) {
	storetest.RunPairs(t, func(t *testing.T) storetest.PairStore { return openTemp(t) })
}

// TestUpgradeLayout1 opens a file written before the evidence index existed: Open builds the index from
// the stored SNOs, so pair discovery sees the SNOs of an older data dir.
func TestUpgradeLayout1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cns.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	active := testSNO("p1", "s1", 0.5, cns.StatusActive)
	active.Evidence = []cns.Evidence{{ID: "doi:10.1/a", SourceID: "10.1/a", Confidence: 1}}
	archived := testSNO("p1", "s2", 0.5, cns.StatusArchived)
	archived.Evidence = []cns.Evidence{{ID: "doi:10.1/a", SourceID: "10.1/a", Confidence: 1}}
	complete(t, s, active)
	complete(t, s, archived)
	// Make it a layout-1 file: no evidence bucket.
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bucketEvidence); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaLayout, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatalf("open a layout-1 file: %v", err)
	}
	defer s.Close()
	got, err := s.SNOIDsByEvidence(t.Context(), "p1", []string{"doi:10.1/a"})
	if err != nil || !slices.Equal(got["doi:10.1/a"], []string{"s1"}) {
		t.Fatalf("index after the upgrade = %v, %v; want only the ACTIVE s1", got, err)
	}
	var layout string
	_ = s.db.View(func(tx *bbolt.Tx) error { layout = string(tx.Bucket(bucketMeta).Get(metaLayout)); return nil })
	if layout != layoutVersion {
		t.Fatalf("layout after the upgrade = %q", layout)
	}
}
