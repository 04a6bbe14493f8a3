package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A program is a batch write laid out by the client as whole commands: a few ZMSCORE checks that must all
// hold, then one call per command with all its members (programScript). The common case of the batch
// calls — new jobs created, existing jobs completing with new SNOs — needs no decision per item once the
// checks hold, so the script builds no per-item tables and makes no per-item calls: Redis CPU per job
// created and completed went from ~32 to ~28 µs at batches of 256 (BenchmarkBatchBookkeeping; the rest
// is the commands, ~12 µs, and reading the arguments). When a check fails nothing is written and the
// batch runs through its per-item script instead (a second round trip, for the rare batch: a retried
// request, a redelivered command, a purged project).
type program struct {
	keys []string // KEYS: the shared keys first, then every key an argument names (declared for the script)
	argv []any
}

// guard adds a check: every member of the zset KEYS[key] is present (or, with present false, absent).
// Guards go before every command (the script reads them first).
func (p *program) guard(key int, present bool, members []any) {
	if len(members) == 0 {
		return
	}
	flag := "0"
	if present {
		flag = "1"
	}
	p.argv[0] = p.argv[0].(int) + 1
	p.argv = append(p.argv, key, flag, len(members))
	p.argv = append(p.argv, members...)
}

// command adds one call of a variadic command on KEYS[key] (key 0: the arguments start with the key,
// as MSET's do); width is how many arguments make one member, so a chunk never splits one. Name
// "ZREM+" is a ZREM that runs only while the ZREMs since the last plain ZREM removed fewer members
// than it names: a job is in one state zset, so the sweep stops where it is found. Commands run after
// every guard, in the order added; one without arguments is left out.
func (p *program) command(name string, key, width int, args []any) {
	if len(args) == 0 {
		return
	}
	p.argv = append(p.argv, name, key, width, len(args))
	p.argv = append(p.argv, args...)
}

func newProgram(shared []string) *program {
	return &program{keys: append([]string(nil), shared...), argv: []any{0}}
}

// programScript runs a program: 1 when written, 0 when a guard failed (nothing written).
var programScript = redis.NewScript(`
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local key, present, n = KEYS[tonumber(ARGV[i])], ARGV[i+1] == "1", tonumber(ARGV[i+2])
  i = i + 3
  for s = i, i + n - 1, 4000 do
    local got = redis.call("ZMSCORE", key, unpack(ARGV, s, math.min(s + 3999, i + n - 1)))
    for j = 1, #got do
      if (got[j] ~= false) ~= present then return 0 end
    end
  end
  i = i + n
end
local removed = 0
while i <= #ARGV do
  local cmd, k, w, n = ARGV[i], tonumber(ARGV[i+1]), tonumber(ARGV[i+2]), tonumber(ARGV[i+3])
  i = i + 4
  local run = true
  if cmd == "ZREM" then
    removed = 0
  elseif cmd == "ZREM+" then
    cmd, run = "ZREM", removed < n
  end
  if run then
    local step = 4000 - 4000 % w
    for s = i, i + n - 1, step do
      local e = math.min(s + step - 1, i + n - 1)
      local r
      if k > 0 then r = redis.call(cmd, KEYS[k], unpack(ARGV, s, e)) else r = redis.call(cmd, unpack(ARGV, s, e)) end
      if cmd == "ZREM" then removed = removed + r end
    end
  end
  i = i + n
end
return 1
`)

// runPrograms runs the programs in one pipeline and returns, per program, whether it was written, or
// the error of its call.
func (s *Store) runPrograms(ctx context.Context, progs []*program) ([]bool, []error) {
	ok, errs := make([]bool, len(progs)), make([]error, len(progs))
	if len(progs) == 0 {
		return ok, errs
	}
	cmds := s.evalPipelined(ctx, programScript, len(progs), func(i int) ([]string, []any) { return progs[i].keys, progs[i].argv })
	for i, c := range cmds {
		n, err := c.Int64()
		ok[i], errs[i] = n == 1, err
		if err == nil && n != 0 && n != 1 {
			errs[i] = fmt.Errorf("unexpected program result %d", n)
		}
	}
	return ok, errs
}

// negFloat is -f as Redis reads a score (the SNO zsets order by trust, highest first).
func negFloat(f float64) string { return strconv.FormatFloat(-f, 'g', -1, 64) }

// runFast is runPrograms for the batch calls: each project's batch that lays out as a program (build returns nil for the
// others) is written as one; written(i) records an item of a written program. The batches returned are
// left for the per-item script: those that do not lay out, and those whose guard failed.
func (s *Store) runFast(ctx context.Context, op string, batches []batchArgs, build func(*batchArgs) *program, errs []error, written func(i int) error) []batchArgs {
	var fast []batchArgs
	var progs []*program
	var slow []batchArgs
	for _, a := range batches {
		if p := build(&a); p != nil {
			fast, progs = append(fast, a), append(progs, p)
		} else {
			slow = append(slow, a)
		}
	}
	ok, perrs := s.runPrograms(ctx, progs)
	for b, a := range fast {
		switch {
		case perrs[b] != nil:
			for _, i := range a.idx {
				errs[i] = wrap(op, perrs[b])
			}
		case ok[b]:
			for _, i := range a.idx {
				errs[i] = wrap(op, written(i))
			}
		default:
			slow = append(slow, a)
		}
	}
	return slow
}

// createProgram lays out one project's job creations (a, as createJobs takes them) as a program, or
// returns nil when an item has an idempotency key or repeats an id of the batch (createJobs orders
// those). The guard: no id is taken.
func createProgram(a *batchArgs) *program {
	const shared, width = 5, 6
	n := len(a.idx)
	p := newProgram(a.keys[:shared])
	ids, seen := make([]any, n), make(map[string]bool, n)
	recs, all := make([]any, 0, 2*n), make([]any, 0, 2*n)
	var byState [4][]any
	for j := range n {
		arg := a.argv[j*width : (j+1)*width]
		id := arg[1].(string)
		if arg[3] == "1" || seen[id] {
			return nil
		}
		seen[id], ids[j] = true, id
		key := a.keys[shared+2*j]
		p.keys = append(p.keys, key)
		recs = append(recs, key, arg[0])
		all = append(all, arg[2], id)
		si := arg[5].(int)
		byState[si] = append(byState[si], arg[2], id)
	}
	p.guard(1, false, ids)
	p.command("MSET", 0, 2, recs)
	p.command("ZADD", 1, 2, all)
	for si := range byState {
		p.command("ZADD", 2+si, 2, byState[si])
	}
	return p
}

// completeProgram lays out one project's completions (a, as completeJobs takes them) as a program, or
// returns nil when an item repeats a job or an SNO of the batch (completeJobs orders those). The
// guards: every job exists, every SNO is new (so nothing of an older version is to be taken out of the
// status zsets, the trust sum or the evidence index).
func completeProgram(a *batchArgs) *program {
	const shared, width = 14, 10
	n := len(a.idx)
	p := newProgram(a.keys[:shared])
	jids, sids := make([]any, n), make([]any, n)
	seen := make(map[string]bool, 2*n)
	recs, revs, snos := make([]any, 0, 4*n), make([]any, 0, 2*n), make([]any, 0, 2*n)
	var byState, byStatus [4][]any
	var evidence, indexed []any
	var trustSum float64
	active := false
	for j := range n {
		arg := a.argv[j*width : (j+1)*width]
		jid, sid := arg[1].(string), arg[5].(string)
		if seen["j"+jid] || seen["s"+sid] {
			return nil
		}
		seen["j"+jid], seen["s"+sid] = true, true
		jids[j], sids[j] = jid, sid
		jk, sk := a.keys[shared+2*j], a.keys[shared+2*j+1]
		p.keys = append(p.keys, jk, sk)
		recs = append(recs, jk, arg[0], sk, arg[4])
		revs = append(revs, sid, arg[9])
		si := arg[3].(int)
		byState[si] = append(byState[si], arg[2], jid)
		trust, st := arg[6].(float64), arg[7].(int)
		score := negFloat(trust)
		snos = append(snos, score, sid)
		byStatus[st] = append(byStatus[st], score, sid)
		if st != 0 { // only ACTIVE SNOs count in the trust sum and the evidence index
			continue
		}
		trustSum, active = trustSum+trust, true
		if ev := arg[8].(string); ev != "" {
			for _, e := range strings.Split(ev, "\n") {
				if e != "" {
					evidence = append(evidence, 0, e+"\x00"+sid)
				}
			}
			indexed = append(indexed, sid, ev)
		}
	}
	p.guard(1, true, jids)  // the jobs zset holds every job
	p.guard(6, false, sids) // the snos zset every SNO
	p.command("MSET", 0, 2, recs)
	p.command("HSET", 14, 2, revs)
	// Out of the other states, most likely first (a short job is recorded running only if it lasts).
	p.command("ZREM", 2, 1, jids)
	p.command("ZREM+", 3, 1, jids)
	p.command("ZREM+", 5, 1, jids)
	for si := range byState {
		p.command("ZADD", 2+si, 2, byState[si])
	}
	p.command("ZADD", 6, 2, snos)
	for st := range byStatus {
		p.command("ZADD", 7+st, 2, byStatus[st])
	}
	if active {
		p.command("HINCRBYFLOAT", 11, 2, []any{"active_trust_sum", strconv.FormatFloat(trustSum, 'g', -1, 64)})
	}
	p.command("ZADD", 12, 2, evidence)
	p.command("HSET", 13, 2, indexed)
	return p
}
