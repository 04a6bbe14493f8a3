package configs_test

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns/configs"
)

func TestLoopDefaults(t *testing.T) {
	t.Parallel()
	l, err := configs.Load(configs.Options{Environ: env()})
	if err != nil {
		t.Fatal(err)
	}
	if l.Synthesis.Generator != "builtin" || l.Synthesis.AcceptTrust != 0.75 || l.Synthesis.RejectTrust != 0.45 ||
		l.Population.MaxActive != 10000 || l.Pairs.MaxCandidates != 1000 {
		t.Fatalf("loop defaults: %+v %+v %+v", l.Pairs, l.Synthesis, l.Population)
	}
}

func TestLLMKeyIsSecret(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	l, err := configs.Load(configs.Options{Environ: env("CNS_SYNTHESIS_GENERATOR=openai", "CNS_SYNTHESIS_LLM_BASE_URL=http://127.0.0.1:11434/v1",
		"CNS_SYNTHESIS_LLM_MODEL=llama3", "CNS_SYNTHESIS_LLM_API_KEY="+key)})
	if err != nil {
		t.Fatal(err)
	}
	if l.Synthesis.LLM.APIKey != key {
		t.Fatalf("api key not loaded from the environment: %q", l.Synthesis.LLM.APIKey)
	}
	for _, e := range l.Entries() {
		if strings.Contains(e.Value, key) {
			t.Fatalf("%s shows the api key: %+v", e.Key, e)
		}
		if e.Key == "synthesis.llm.api_key" && (!e.Secret || e.Value != "[redacted]" || e.Source != "env") {
			t.Fatalf("api key entry = %+v", e)
		}
	}
}

func TestLoopProblems(t *testing.T) {
	t.Parallel()
	_, err := configs.Load(configs.Options{Environ: env("CNS_SYNTHESIS_GENERATOR=openai", "CNS_SYNTHESIS_LLM_API_KEY=sk-secret-value",
		"CNS_SYNTHESIS_REJECT_TRUST=0.9", "CNS_PAIRS_MIN_CHIRALITY=1.5", "CNS_SYNTHESIS_LLM_MAX_ATTEMPTS=0", "CNS_POPULATION_MAX_ACTIVE=-1")})
	list, ok := configs.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"synthesis.llm.base_url", "synthesis.llm.model", "synthesis.reject_trust", "pairs.min_chirality",
		"synthesis.llm.max_attempts", "population.max_active"} {
		found := false
		for _, p := range list {
			found = found || strings.HasPrefix(p, want+":")
		}
		if !found {
			t.Errorf("problem %q not reported in %v", want, list)
		}
	}
	if strings.Contains(err.Error(), "sk-secret-value") {
		t.Error("the api key leaked into the error")
	}
}
