package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// PurgeJobs implements cns.Store. It walks the job time index of every project (each project's keys are
// in creation order, so the walk of a project stops at the cutoff) and deletes terminal jobs with their
// index entries, in one transaction.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	const op = "purge jobs"
	if err := ctx.Err(); err != nil {
		return 0, wrap(op, err)
	}
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		b := bucketsOf(tx)
		type victim struct{ timeKey, project, id []byte }
		var victims []victim
		c := b.jobTimes.Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(victims) < limit); {
			i := bytes.IndexByte(k, sep)
			if i < 0 || len(k) < i+1+timeKeyLen+1 {
				return fmt.Errorf("malformed job time index entry %q", k)
			}
			project := k[:i]
			cutoff := jobTimeKey(string(project), before, "")
			if bytes.Compare(k, cutoff) >= 0 {
				// The rest of this project is newer: jump to the next project.
				k, v = c.Seek(projectEnd(string(project)))
				continue
			}
			if st, ok := record.StateFromCode(firstByte(v)); ok && st.Terminal() {
				victims = append(victims, victim{append([]byte(nil), k...), append([]byte(nil), project...), append([]byte(nil), k[i+1+timeKeyLen+1:]...)})
			}
			k, v = c.Next()
		}
		for _, vc := range victims {
			j, err := getJob(b, string(vc.project), string(vc.id))
			if err != nil {
				return fmt.Errorf("job time index names job %q: %v", vc.id, err)
			}
			if j.IdempotencyKey != "" {
				ik := entityKey(j.Project, j.IdempotencyKey)
				if id := b.jobKeys.Get(ik); id != nil && string(id) == j.ID {
					if err := b.jobKeys.Delete(ik); err != nil {
						return err
					}
				}
			}
			if err := b.jobTimes.Delete(vc.timeKey); err != nil {
				return err
			}
			if err := b.jobs.Delete(entityKey(j.Project, j.ID)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

var _ cns.Store = (*Store)(nil)
