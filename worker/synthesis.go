package worker

import (
	"context"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/dispatch"
)

// Discoverer is what the operational loop needs from the engine; *engine.Engine implements it.
type Discoverer interface {
	DiscoverPairs(ctx context.Context, sno *cns.SNO) ([]cns.Pair, error)
	EnforcePopulation(ctx context.Context, project string) ([]string, error)
}

// PairLoop is the operational loop run after a job stored an ACTIVE SNO: discover its chiral pairs
// (stored), queue the synthesis of the best of them, and keep the population under its limit. The job
// has already succeeded when it runs, so its failures are logged, never retried: pairs of the SNO can
// still be found on demand (FindChiralPairs computes them exactly).
type PairLoop struct {
	Engine Discoverer
	// Syntheses queues synthesize_pair jobs; nil means discovery only.
	Syntheses *dispatch.Syntheses
	// MaxAutoPerSNO bounds the syntheses queued for one new SNO, best potential first (0: none).
	MaxAutoPerSNO int
	Log           *zap.Logger
}

// AfterStore implements the worker's hook.
func (p *PairLoop) AfterStore(ctx context.Context, sno *cns.SNO) {
	if sno.Status != cns.StatusActive {
		return
	}
	log := p.Log.With(zap.String("project", sno.Project), zap.String("sno_id", sno.ID))
	pairs, err := p.Engine.DiscoverPairs(ctx, sno)
	if err != nil {
		log.Error("pair discovery failed", zap.Error(err))
	} else if len(pairs) > 0 {
		log.Info("chiral pairs discovered", zap.Int("pairs", len(pairs)), zap.Float64("best_potential", pairs[0].Potential))
	}
	if p.Syntheses != nil {
		for i, pr := range pairs {
			if i == p.MaxAutoPerSNO {
				break
			}
			id, created, err := p.Syntheses.Accept(ctx, sno.Project, pr.A, pr.B, true)
			if dispatch.IsExhausted(err) {
				log.Info("synthesis not queued: budget spent", zap.String("sno_a", pr.A), zap.String("sno_b", pr.B), zap.String("reason", cns.ErrorMessage(err)))
				continue // a cooldown is per SNO: another pair may still pass
			}
			if err != nil {
				log.Error("queue synthesis", zap.String("sno_a", pr.A), zap.String("sno_b", pr.B), zap.Error(err))
				continue
			}
			if created {
				log.Info("synthesis queued by discovery", zap.String("synthesis_job_id", id), zap.String("sno_a", pr.A), zap.String("sno_b", pr.B))
			}
		}
	}
	archived, err := p.Engine.EnforcePopulation(ctx, sno.Project)
	if err != nil {
		log.Error("population limit", zap.Error(err))
	}
	if len(archived) > 0 {
		log.Info("population limit: archived lowest-trust SNOs", zap.Int("archived", len(archived)), zap.Strings("sno_ids", archived))
	}
}
