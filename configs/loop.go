package configs

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Pairs configures chiral pair discovery (docs/pairs.md has the calibration of the defaults).
type Pairs struct {
	MinChirality     float64 `koanf:"min_chirality"`
	MinEntanglement  float64 `koanf:"min_entanglement"`
	NLIWeight        float64 `koanf:"nli_weight"`
	EngagementWeight float64 `koanf:"engagement_weight"`
	// ConflictThreshold is the NLI contradiction probability from which two claims are a conflict point.
	ConflictThreshold float64 `koanf:"conflict_threshold"`
	MaxCandidates     int     `koanf:"max_candidates"`
}

// Synthesis configures the synthesizer, the admission of its output and its budgets.
type Synthesis struct {
	Generator string `koanf:"generator"` // builtin or openai
	// AutoPerSNO is how many of a new SNO's pairs are synthesized automatically (best first; 0: none).
	AutoPerSNO  int           `koanf:"auto_per_sno"`
	AcceptTrust float64       `koanf:"accept_trust"`
	RejectTrust float64       `koanf:"reject_trust"`
	MaxPerHour  int           `koanf:"max_per_hour"`
	Cooldown    time.Duration `koanf:"cooldown"`
	LLM         LLM           `koanf:"llm"`
}

// LLM configures the OpenAI-compatible chat-completions synthesizer.
type LLM struct {
	BaseURL          string        `koanf:"base_url"`
	Model            string        `koanf:"model"`
	APIKey           string        `koanf:"api_key"` // secret
	Timeout          time.Duration `koanf:"timeout"`
	MaxAttempts      int           `koanf:"max_attempts"`
	MaxTokens        int           `koanf:"max_tokens"`
	Temperature      float64       `koanf:"temperature"`
	MaxTokensPerHour int64         `koanf:"max_tokens_per_hour"`
}

// Population configures population management.
type Population struct {
	MaxActive     int           `koanf:"max_active"`
	ProtectRecent time.Duration `koanf:"protect_recent"`
}

// Generators are the accepted synthesis.generator values.
var Generators = []string{"builtin", "openai"}

func (c *Config) loopProblems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	for _, k := range []struct {
		key string
		v   float64
	}{
		{"pairs.min_chirality", c.Pairs.MinChirality}, {"pairs.min_entanglement", c.Pairs.MinEntanglement},
		{"pairs.nli_weight", c.Pairs.NLIWeight}, {"pairs.engagement_weight", c.Pairs.EngagementWeight},
		{"pairs.conflict_threshold", c.Pairs.ConflictThreshold},
		{"synthesis.accept_trust", c.Synthesis.AcceptTrust}, {"synthesis.reject_trust", c.Synthesis.RejectTrust},
	} {
		if !finite01(k.v) {
			add("%s: must be in [0,1]", k.key)
		}
	}
	if c.Pairs.MaxCandidates <= 0 {
		add("pairs.max_candidates: must be positive")
	}
	if c.Synthesis.RejectTrust > c.Synthesis.AcceptTrust {
		add("synthesis.reject_trust: must not be above synthesis.accept_trust")
	}
	if !slices.Contains(Generators, c.Synthesis.Generator) {
		add("synthesis.generator: %q is not one of %s", c.Synthesis.Generator, strings.Join(Generators, ", "))
	}
	if c.Synthesis.AutoPerSNO < 0 {
		add("synthesis.auto_per_sno: must not be negative")
	}
	if c.Synthesis.MaxPerHour < 0 {
		add("synthesis.max_per_hour: must not be negative (0: no limit)")
	}
	if c.Synthesis.Cooldown < 0 {
		add("synthesis.cooldown: must not be negative (0: none)")
	}
	l := c.Synthesis.LLM
	if c.Synthesis.Generator == "openai" {
		if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("synthesis.llm.base_url: must be an http(s) URL when synthesis.generator is openai")
		}
		if strings.TrimSpace(l.Model) == "" {
			add("synthesis.llm.model: must be set when synthesis.generator is openai")
		}
	}
	if l.Timeout <= 0 {
		add("synthesis.llm.timeout: must be a positive duration")
	}
	if l.MaxAttempts < 1 || l.MaxAttempts > 20 {
		add("synthesis.llm.max_attempts: must be between 1 and 20")
	}
	if l.MaxTokens < 1 {
		add("synthesis.llm.max_tokens: must be positive")
	}
	if math.IsNaN(l.Temperature) || l.Temperature < 0 || l.Temperature > 2 {
		add("synthesis.llm.temperature: must be in [0,2]")
	}
	if l.MaxTokensPerHour < 0 {
		add("synthesis.llm.max_tokens_per_hour: must not be negative (0: no limit)")
	}
	if c.Population.MaxActive < 0 {
		add("population.max_active: must not be negative (0: no limit)")
	}
	if c.Population.ProtectRecent < 0 {
		add("population.protect_recent: must not be negative")
	}
	return p
}
