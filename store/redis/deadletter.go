package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
)

// maxDeadLetters caps a project's dead-letter stream (approximately, as XADD MAXLEN ~ does): a runaway
// failure must not grow Redis without bound.
const maxDeadLetters = 100000

// addDeadLetter: KEYS job, jobs, 4 state zsets, deadletters; ARGV job record (or ""), job id, score,
// stateIndex, then the dead letter's fields as name/value pairs. {0} when the job is missing.
var addDeadLetter = redis.NewScript(keysPrelude + putJobStep + `
if ARGV[1] ~= "" then
  if putJob(1, 0) == 0 then return 0 end
end
local fields = {}
for i = 5, #ARGV do fields[#fields+1] = ARGV[i] end
redis.call("XADD", KEYS[7], "MAXLEN", "~", "` + strconv.Itoa(maxDeadLetters) + `", "*", unpack(fields))
return 1
`)

// AddDeadLetter implements cns.Store: the dead letter goes to the project's dead-letter stream and the
// failed job is stored, in one script.
func (s *Store) AddDeadLetter(ctx context.Context, dl *cns.DeadLetter, job *cns.Job) error {
	const op = "add dead letter"
	if err := s.guard(ctx); err != nil {
		return wrap(op, err)
	}
	if dl == nil || dl.ID == "" {
		return wrap(op, cns.Errorf(cns.EINVALID, "dead letter without id"))
	}
	if err := checkProject(dl.Project); err != nil {
		return wrap(op, err)
	}
	if err := s.addProject(ctx, dl.Project); err != nil {
		return wrap(op, err)
	}
	args := []any{"", "", 0, 0}
	keys := s.k.jobKeys(dl.Project, "-")
	if job != nil {
		if err := checkJob(job); err != nil {
			return wrap(op, err)
		}
		if job.Project != dl.Project {
			return wrap(op, cns.Errorf(cns.EINVALID, "job project %q is not the dead letter's %q", job.Project, dl.Project))
		}
		si, err := stateIndex(job.State)
		if err != nil {
			return wrap(op, err)
		}
		rec, err := record.EncodeJob(job)
		if err != nil {
			return wrap(op, fmt.Errorf("encode job: %w", err))
		}
		sealed, err := s.ring.seal(rec, s.k.job(job.Project, job.ID))
		if err != nil {
			return wrap(op, err)
		}
		args = []any{sealed, job.ID, micros(job.CreatedAt), si}
		keys = s.k.jobKeys(job.Project, job.ID)
	}
	keys = append(keys, s.k.deadLetters(dl.Project))
	args = append(args, "id", dl.ID, "job_id", dl.JobID, "topic", dl.Topic, "payload", dl.Payload, "reason", dl.Reason,
		"deliveries", dl.Deliveries, "created", dl.CreatedAt.UTC().Format(time.RFC3339Nano))
	n, err := addDeadLetter.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, cns.Errorf(cns.ENOTFOUND, "job %q not found", job.ID))
	}
	return nil
}

func deadLetterFrom(project string, m redis.XMessage) (*cns.DeadLetter, error) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	deliveries, _ := strconv.Atoi(str("deliveries"))
	created, err := time.Parse(time.RFC3339Nano, str("created"))
	if err != nil {
		return nil, fmt.Errorf("dead letter %s: bad time: %w", m.ID, err)
	}
	var payload []byte
	if p := str("payload"); p != "" {
		payload = []byte(p)
	}
	return &cns.DeadLetter{ID: str("id"), Project: project, JobID: str("job_id"), Topic: str("topic"), Payload: payload,
		Reason: str("reason"), Deliveries: deliveries, CreatedAt: created}, nil
}

// ListDeadLetters implements cns.Store: newest first.
func (s *Store) ListDeadLetters(ctx context.Context, project string, limit int) ([]*cns.DeadLetter, error) {
	const op = "list dead letters"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = s.rdb.XRevRangeN(ctx, s.k.deadLetters(project), "+", "-", int64(limit)).Result()
	} else {
		msgs, err = s.rdb.XRevRange(ctx, s.k.deadLetters(project), "+", "-").Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(op, err)
	}
	out := make([]*cns.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		dl, err := deadLetterFrom(project, m)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, dl)
	}
	return out, nil
}

// TakeDeadLetters implements cns.Store. Each entry is deleted with its own XDEL and returned only when
// this call deleted it, so two concurrent redrives never both take the same dead letter.
func (s *Store) TakeDeadLetters(ctx context.Context, project string, ids []string) ([]*cns.DeadLetter, error) {
	const op = "take dead letters"
	if err := s.guard(ctx); err != nil {
		return nil, wrap(op, err)
	}
	if err := checkProject(project); err != nil {
		return nil, wrap(op, err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	key := s.k.deadLetters(project)
	msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(op, err)
	}
	var out []*cns.DeadLetter
	for _, m := range msgs {
		dl, err := deadLetterFrom(project, m)
		if err != nil {
			return nil, wrap(op, err)
		}
		if len(ids) > 0 && !want[dl.ID] {
			continue
		}
		n, err := s.rdb.XDel(ctx, key, m.ID).Result()
		if err != nil {
			return out, wrap(op, err)
		}
		if n == 1 {
			out = append(out, dl)
		}
	}
	return out, nil
}
