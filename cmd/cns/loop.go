package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/population"
	"github.com/cns-dev/cns/relation"
	"github.com/cns-dev/cns/synthesis"
	"github.com/cns-dev/cns/worker"
)

// loopParts are the operational loop's parts of a process: pair discovery, synthesis, budgets and
// population management. They exist only when the store implements cns.PairStore.
type loopParts struct {
	pairs     cns.PairStore
	budgets   *population.Budgets
	syntheses *dispatch.Syntheses
	after     *worker.PairLoop
}

// openLoop turns the operational loop on in the engine. Call it before the engine's first Rebuild.
func (m *Main) openLoop(c *configs.Config, nli cns.NLI) error {
	ps, ok := m.store.(cns.PairStore)
	if !ok {
		m.Log.Warn("this store keeps no pairs: pair discovery and synthesis are off")
		return nil
	}
	budgets := &population.Budgets{Store: ps, SynthesesPerHour: c.Synthesis.MaxPerHour,
		TokensPerHour: c.Synthesis.LLM.MaxTokensPerHour, Cooldown: c.Synthesis.Cooldown}
	synth, err := newSynthesizer(c, budgets, m.Log.Named("synthesis"))
	if err != nil {
		return err
	}
	err = m.engine.EnableLoop(engine.LoopConfig{
		Relation: relation.Config{
			MinChirality: c.Pairs.MinChirality, MinEntanglement: c.Pairs.MinEntanglement,
			NLIWeight: c.Pairs.NLIWeight, EngagementWeight: c.Pairs.EngagementWeight,
			ConflictThreshold: c.Pairs.ConflictThreshold, MaxConflictPoints: 5,
		},
		MaxCandidates: c.Pairs.MaxCandidates,
		AcceptTrust:   c.Synthesis.AcceptTrust, RejectTrust: c.Synthesis.RejectTrust,
		Population: population.Policy{MaxActive: c.Population.MaxActive, ProtectRecent: c.Population.ProtectRecent},
	}, ps, nli, synth)
	if err != nil {
		return err
	}
	m.loop = &loopParts{pairs: ps, budgets: budgets,
		after: &worker.PairLoop{Engine: m.engine, MaxAutoPerSNO: c.Synthesis.AutoPerSNO, Log: m.Log.Named("pairs")}}
	m.Log.Info("operational loop on", zap.String("generator", synth.Name()), zap.Float64("min_chirality", c.Pairs.MinChirality),
		zap.Float64("min_entanglement", c.Pairs.MinEntanglement), zap.Int("population_max_active", c.Population.MaxActive))
	return nil
}

// wireLoop connects the loop to the dispatcher once it exists (the worker's hook already points at
// m.loop.after, which runs only after Start).
func (m *Main) wireLoop() {
	if m.loop == nil {
		return
	}
	m.loop.syntheses = &dispatch.Syntheses{D: m.dispatcher, Pairs: m.loop.pairs, Budget: m.loop.budgets, Generator: m.engine.Generator()}
	if m.Config.Synthesis.AutoPerSNO > 0 {
		m.loop.after.Syntheses = m.loop.syntheses
	}
}

// newSynthesizer builds the configured synthesizer. The LLM's API key goes only into its client.
func newSynthesizer(c *configs.Config, meter synthesis.TokenMeter, log *zap.Logger) (cns.Synthesizer, error) {
	switch c.Synthesis.Generator {
	case "builtin":
		return synthesis.Builtin{}, nil
	case "openai":
		l := c.Synthesis.LLM
		s, err := synthesis.NewLLM(synthesis.LLMConfig{BaseURL: l.BaseURL, Model: l.Model, APIKey: l.APIKey, Timeout: l.Timeout,
			MaxAttempts: l.MaxAttempts, MaxTokens: l.MaxTokens, Temperature: l.Temperature, Meter: meter, Log: log})
		if err != nil {
			return nil, fmt.Errorf("synthesis.llm: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("synthesis.generator %q is not available in this build", c.Synthesis.Generator)
}
