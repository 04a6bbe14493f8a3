// Package population manages the size and the pace of the SNO population: which ACTIVE SNOs to archive
// when a project goes over its limit, and the budgets that pace synthesis (syntheses per hour, LLM tokens
// per hour, a cooldown per SNO). The budgets are counted in the store (cns.PairStore.ConsumeQuota), so
// every API replica and worker shares them.
package population

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cns-dev/cns"
)

// Member is an ACTIVE SNO as the archive policy sees it.
type Member struct {
	ID        string
	Trust     float64
	CreatedAt time.Time
	Parents   []string // lineage parents (a synthesis)
}

// Policy decides what to archive.
type Policy struct {
	// MaxActive is the most ACTIVE SNOs a project keeps (0: no limit).
	MaxActive int
	// ProtectRecent keeps SNOs created within this long of now out of the archive: a new SNO has not had
	// the time to be paired and synthesized yet.
	ProtectRecent time.Duration
}

// SelectForArchive returns the ids to archive so that at most MaxActive members remain: the lowest trust
// first (ties: oldest first, then id), never a protected one. Protected are the members created within
// ProtectRecent of now and the parents of ACTIVE syntheses (members with lineage parents): archiving
// them would orphan an accepted synthesis. When too many are protected, fewer are archived than needed.
func (p Policy) SelectForArchive(members []Member, now time.Time) []string {
	if p.MaxActive <= 0 || len(members) <= p.MaxActive {
		return nil
	}
	excess := len(members) - p.MaxActive
	parents := map[string]bool{}
	for _, m := range members {
		for _, id := range m.Parents {
			parents[id] = true
		}
	}
	cands := make([]Member, 0, len(members))
	for _, m := range members {
		if parents[m.ID] || (p.ProtectRecent > 0 && now.Sub(m.CreatedAt) < p.ProtectRecent) {
			continue
		}
		cands = append(cands, m)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Trust != b.Trust {
			return a.Trust < b.Trust
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	out := make([]string, 0, min(excess, len(cands)))
	for _, m := range cands[:min(excess, len(cands))] {
		out = append(out, m.ID)
	}
	return out
}

// Quota keys.
const (
	KeySyntheses = "synthesis"
	KeyTokens    = "llm_tokens"
)

// CooldownKey is the quota key of an SNO's synthesis cooldown.
func CooldownKey(snoID string) string { return "cooldown:" + snoID }

// Budgets paces synthesis. The zero value of a limit means "no limit". Safe for concurrent use.
type Budgets struct {
	Store            cns.PairStore
	SynthesesPerHour int
	TokensPerHour    int64
	// Cooldown is how long an SNO rests after being a parent of a synthesis before it is again.
	Cooldown time.Duration
	Now      func() time.Time
}

func (b *Budgets) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func exhausted(retry time.Duration, format string, args ...any) error {
	e := cns.Errorf(cns.EEXHAUSTED, format, args...)
	e.RetryAfterSeconds = int(math.Ceil(retry.Seconds()))
	return e
}

// CheckSynthesis returns EEXHAUSTED (with a retry hint) when either SNO is cooling down or the hourly
// synthesis budget is spent; it consumes nothing. RecordSynthesis consumes them once the synthesis is
// claimed. Checking before and recording after the claim keeps a concurrent request for the same pair
// from being refused by the budget its twin just took: whoever sees the spend can also see the claim.
// The price: callers checking at the same moment may overrun a budget by their number.
func (b *Budgets) CheckSynthesis(ctx context.Context, project, x, y string) error {
	now := b.now()
	if b.Cooldown > 0 {
		for _, id := range []string{x, y} {
			_, ok, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: CooldownKey(id), Limit: 1, Window: b.Cooldown, Now: now})
			if err != nil {
				return fmt.Errorf("check cooldown of %s: %w", id, err)
			}
			if !ok {
				return exhausted(b.Cooldown, "sno %s was synthesized less than %s ago (synthesis.cooldown)", id, b.Cooldown)
			}
		}
	}
	if b.SynthesesPerHour > 0 {
		_, ok, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: KeySyntheses, Limit: int64(b.SynthesesPerHour), Window: time.Hour, Now: now})
		if err != nil {
			return fmt.Errorf("check synthesis budget: %w", err)
		}
		if !ok {
			return exhausted(time.Hour, "the synthesis budget of %d per hour is spent (synthesis.max_per_hour)", b.SynthesesPerHour)
		}
	}
	return nil
}

// RecordSynthesis counts a claimed synthesis against the hourly budget and starts the cooldown of both
// SNOs. The spend is recorded even past the limit (the synthesis is claimed): CheckSynthesis then refuses
// the next ones.
func (b *Budgets) RecordSynthesis(ctx context.Context, project, x, y string) error {
	now := b.now()
	if b.SynthesesPerHour > 0 {
		if _, _, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: KeySyntheses, Amount: 1, Limit: math.MaxInt64,
			Window: time.Hour, Now: now}); err != nil {
			return fmt.Errorf("record synthesis: %w", err)
		}
	}
	if b.Cooldown > 0 {
		for _, id := range []string{x, y} {
			// Refused only when a concurrent synthesis started this cooldown already: nothing to do then.
			if _, _, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: CooldownKey(id), Amount: 1, Limit: 1, Window: b.Cooldown, Now: now}); err != nil {
				return fmt.Errorf("start cooldown of %s: %w", id, err)
			}
		}
	}
	return nil
}

// AllowTokens returns EEXHAUSTED when the project's hourly LLM token budget is spent.
func (b *Budgets) AllowTokens(ctx context.Context, project string) error {
	if b.TokensPerHour <= 0 {
		return nil
	}
	used, ok, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: KeyTokens, Limit: b.TokensPerHour, Window: time.Hour, Now: b.now()})
	if err != nil {
		return fmt.Errorf("check token budget: %w", err)
	}
	if !ok {
		return exhausted(time.Hour, "the LLM token budget of %d per hour is spent (%d used; synthesis.llm.max_tokens_per_hour)", b.TokensPerHour, used)
	}
	return nil
}

// SpendTokens records tokens a model call used. The spend is always recorded, even past the budget (the
// tokens are gone): AllowTokens then refuses the next call.
func (b *Budgets) SpendTokens(ctx context.Context, project string, n int) error {
	if b.TokensPerHour <= 0 || n <= 0 {
		return nil
	}
	if _, _, err := b.Store.ConsumeQuota(ctx, cns.Quota{Project: project, Key: KeyTokens, Amount: int64(n), Limit: math.MaxInt64,
		Window: time.Hour, Now: b.now()}); err != nil {
		return fmt.Errorf("record token spend: %w", err)
	}
	return nil
}
