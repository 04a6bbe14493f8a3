package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// bucketDeadLetters holds dead letters keyed project\x00 time \x00 id (oldest first). Dead letters are
// few (they need operator attention), so Take scans the project's range instead of keeping an id index.
var bucketDeadLetters = []byte("deadletters")

// deadLetterRecord is the stored form of a cns.DeadLetter.
type deadLetterRecord struct {
	Schema     int       `json:"schema"`
	ID         string    `json:"id"`
	Project    string    `json:"project"`
	JobID      string    `json:"job_id,omitempty"`
	Topic      string    `json:"topic"`
	Payload    []byte    `json:"payload,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Deliveries int       `json:"deliveries"`
	CreatedAt  time.Time `json:"created_at"`
}

func deadLetterKey(dl *cns.DeadLetter) []byte {
	b := make([]byte, 0, len(dl.Project)+2+timeKeyLen+len(dl.ID))
	b = append(b, dl.Project...)
	b = append(b, sep)
	b = appendTime(b, dl.CreatedAt)
	b = append(b, sep)
	return append(b, dl.ID...)
}

func (r *deadLetterRecord) domain() *cns.DeadLetter {
	return &cns.DeadLetter{ID: r.ID, Project: r.Project, JobID: r.JobID, Topic: r.Topic, Payload: r.Payload,
		Reason: r.Reason, Deliveries: r.Deliveries, CreatedAt: r.CreatedAt}
}

// AddDeadLetter stores the dead letter and, in the same transaction, the (failed) job.
func (s *Store) AddDeadLetter(ctx context.Context, dl *cns.DeadLetter, job *cns.Job) error {
	const op = "add dead letter"
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	if dl == nil || dl.ID == "" {
		return wrap(op, cns.Errorf(cns.EINVALID, "dead letter without id"))
	}
	if err := checkProject(dl.Project); err != nil {
		return wrap(op, err)
	}
	rec, err := json.Marshal(&deadLetterRecord{Schema: 1, ID: dl.ID, Project: dl.Project, JobID: dl.JobID, Topic: dl.Topic,
		Payload: dl.Payload, Reason: dl.Reason, Deliveries: dl.Deliveries, CreatedAt: dl.CreatedAt})
	if err != nil {
		return wrap(op, fmt.Errorf("encode dead letter: %w", err))
	}
	var jrec []byte
	if job != nil {
		if err := checkJob(job); err != nil {
			return wrap(op, err)
		}
		if job.Project != dl.Project {
			return wrap(op, cns.Errorf(cns.EINVALID, "job project %q is not the dead letter's %q", job.Project, dl.Project))
		}
		if jrec, err = record.EncodeJob(job); err != nil {
			return wrap(op, fmt.Errorf("encode job: %w", err))
		}
	}
	return wrap(op, s.db.Batch(func(tx *bbolt.Tx) error {
		if job != nil {
			b := bucketsOf(tx)
			old, err := getJob(b, job.Project, job.ID)
			if err != nil {
				return err
			}
			if err := putJob(b, old, job, jrec); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketDeadLetters).Put(deadLetterKey(dl), rec)
	}))
}

// ListDeadLetters returns the project's dead letters, newest first.
func (s *Store) ListDeadLetters(ctx context.Context, project string, limit int) ([]*cns.DeadLetter, error) {
	const op = "list dead letters"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	var out []*cns.DeadLetter
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketDeadLetters).Cursor()
		prefix, end := projectPrefix(project), projectEnd(project)
		k, v := c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && string(k) >= string(prefix); k, v = c.Prev() {
			var r deadLetterRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode dead letter: %w", err)
			}
			out = append(out, r.domain())
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// TakeDeadLetters removes and returns the named dead letters (all of the project's when ids is empty).
func (s *Store) TakeDeadLetters(ctx context.Context, project string, ids []string) ([]*cns.DeadLetter, error) {
	const op = "take dead letters"
	if err := ctx.Err(); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	var out []*cns.DeadLetter
	err := s.db.Update(func(tx *bbolt.Tx) error {
		out = nil
		b := tx.Bucket(bucketDeadLetters)
		c := b.Cursor()
		prefix, end := projectPrefix(project), projectEnd(project)
		var keys [][]byte
		for k, v := c.Seek(prefix); k != nil && string(k) < string(end); k, v = c.Next() {
			var r deadLetterRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode dead letter: %w", err)
			}
			if len(ids) > 0 && !slices.Contains(ids, r.ID) {
				continue
			}
			keys = append(keys, slices.Clone(k))
			out = append(out, r.domain())
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}
