// Package registry keeps the list of running cns processes in Redis: each process writes a heartbeat
// (default every 10 s) and deregisters on a clean shutdown; readers see live processes and, for an hour,
// the ones that stopped beating (offline after three missed beats). Listing reads one sorted set, never
// KEYS or SCAN over the keyspace.
package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Process describes one running process.
type Process struct {
	Service       string // "cns-api", "cns-worker"
	Instance      string
	Version       string
	Address       string
	Concurrency   int
	StartedAt     time.Time
	LastHeartbeat time.Time
	Online        bool
}

// Registry registers processes in Redis.
type Registry struct {
	rdb      redis.UniversalClient
	interval time.Duration
	log      *zap.Logger
	now      func() time.Time
}

// New returns a registry whose heartbeats come every interval.
func New(rdb redis.UniversalClient, interval time.Duration, log *zap.Logger) *Registry {
	return &Registry{rdb: rdb, interval: interval, log: log, now: time.Now}
}

const (
	indexKey = "cns:registry"       // ZSET member "service|instance", score = last heartbeat (unix ms)
	forget   = time.Hour            // offline processes are listed this long, then pruned
	hashPfx  = "cns:registry:proc:" // HASH per process, expiring after three missed beats
)

func member(p Process) string { return p.Service + "|" + p.Instance }

// Run registers p and beats until ctx ends, then deregisters. It returns ctx's error.
func (r *Registry) Run(ctx context.Context, p Process) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if err := r.beat(ctx, p); err != nil && ctx.Err() == nil {
			// Redis may be down for a while; the next beat tries again.
			r.log.Warn("registry heartbeat failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.deregister(dctx, p); err != nil {
				r.log.Warn("registry deregister failed", zap.Error(err))
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (r *Registry) beat(ctx context.Context, p Process) error {
	now := r.now()
	m := member(p)
	_, err := r.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, hashPfx+m, map[string]any{
			"service": p.Service, "instance": p.Instance, "version": p.Version, "address": p.Address,
			"concurrency": p.Concurrency, "started_at": p.StartedAt.UnixMilli(), "last_heartbeat": now.UnixMilli(),
		})
		pipe.PExpire(ctx, hashPfx+m, 3*r.interval+r.interval/2)
		pipe.ZAdd(ctx, indexKey, redis.Z{Score: float64(now.UnixMilli()), Member: m})
		pipe.ZRemRangeByScore(ctx, indexKey, "-inf", strconv.FormatInt(now.Add(-forget).UnixMilli(), 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

func (r *Registry) deregister(ctx context.Context, p Process) error {
	m := member(p)
	_, err := r.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, hashPfx+m)
		pipe.ZRem(ctx, indexKey, m)
		return nil
	})
	return err
}

// List returns the registered processes, online first.
func (r *Registry) List(ctx context.Context) ([]Process, error) {
	zs, err := r.rdb.ZRevRangeWithScores(ctx, indexKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list registry: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(zs))
	_, err = r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, z := range zs {
			cmds[i] = pipe.HGetAll(ctx, hashPfx+z.Member.(string))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	now := r.now()
	var online, offline []Process
	for i, z := range zs {
		m := z.Member.(string)
		service, instance, _ := strings.Cut(m, "|")
		p := Process{Service: service, Instance: instance, LastHeartbeat: time.UnixMilli(int64(z.Score))}
		h := cmds[i].Val()
		if len(h) > 0 {
			p.Version, p.Address = h["version"], h["address"]
			p.Concurrency, _ = strconv.Atoi(h["concurrency"])
			if ms, err := strconv.ParseInt(h["started_at"], 10, 64); err == nil {
				p.StartedAt = time.UnixMilli(ms)
			}
		}
		p.Online = len(h) > 0 && now.Sub(p.LastHeartbeat) <= 3*r.interval
		if p.Online {
			online = append(online, p)
		} else {
			offline = append(offline, p)
		}
	}
	return append(online, offline...), nil
}
