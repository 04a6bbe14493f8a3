package bolt

import (
	"testing"

	"github.com/cns-dev/cns/store/storetest"
)

func TestBatchContract(t *testing.T) {
	storetest.RunBatch(t, func(t *testing.T) storetest.BatchStore { return openTemp(t) })
}
