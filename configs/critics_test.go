package configs_test

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns/configs"
)

// TestAdversarialCriticKeys: the adversarial-narrative thresholds load from the environment, their ranges
// are checked with every problem listed, and production refuses a flood cap that would still admit floods.
func TestAdversarialCriticKeys(t *testing.T) {
	t.Parallel()
	l, err := configs.Load(configs.Options{Environ: env("CNS_CRITICS_FLOOD_CLUSTER=5", "CNS_CRITICS_FLOOD_SIMILARITY=0.9",
		"CNS_CRITICS_FLOOD_TRUST_CAP=0.1", "CNS_CRITICS_MISCITATION_CONTRADICTION=0", "CNS_CRITICS_RESTATEMENT_SIMILARITY=0.7")})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Critics; c.FloodCluster != 5 || c.FloodSimilarity != 0.9 || c.FloodTrustCap != 0.1 || c.MiscitationContradiction != 0 || c.RestatementSimilarity != 0.7 {
		t.Fatalf("critics = %+v", c)
	}
	d, err := configs.Load(configs.Options{Environ: env()})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Critics; c.FloodCluster != 3 || c.FloodSimilarity != 0.95 || c.FloodTrustCap != 0.2 || c.MiscitationContradiction != 0.5 || c.RestatementSimilarity != 0.85 {
		t.Fatalf("default critics = %+v", c)
	}

	problems := func(kv ...string) []string {
		t.Helper()
		_, err := configs.Load(configs.Options{Environ: env(kv...)})
		list, ok := configs.AsProblems(err)
		if !ok {
			t.Fatalf("%v: want problems, got %v", kv, err)
		}
		return list
	}
	want := func(list []string, needles ...string) {
		t.Helper()
		for _, n := range needles {
			found := false
			for _, p := range list {
				found = found || strings.Contains(p, n)
			}
			if !found {
				t.Errorf("problem %q not reported in:\n%s", n, strings.Join(list, "\n"))
			}
		}
	}
	want(problems("CNS_CRITICS_FLOOD_CLUSTER=1", "CNS_CRITICS_FLOOD_TRUST_CAP=1.5", "CNS_CRITICS_MISCITATION_CONTRADICTION=-0.1",
		"CNS_CRITICS_RESTATEMENT_SIMILARITY=2"),
		"critics.flood_cluster", "critics.flood_trust_cap", "critics.miscitation_contradiction", "critics.restatement_similarity")
	want(problems("CNS_CRITICS_FLOOD_SIMILARITY=0"), "critics.flood_similarity")
	if _, err := configs.Load(configs.Options{Environ: env("CNS_CRITICS_FLOOD_SIMILARITY=0", "CNS_CRITICS_FLOOD_CLUSTER=0")}); err != nil {
		t.Errorf("flood detection off without a similarity: %v", err)
	}
	// In dev a cap at the admission threshold is allowed (an experiment); production refuses it.
	if _, err := configs.Load(configs.Options{Environ: env("CNS_CRITICS_FLOOD_TRUST_CAP=0.3")}); err != nil {
		t.Errorf("dev refused the cap: %v", err)
	}
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	prod := []string{"CNS_PROFILE=production", "CNS_REDIS_URL=rediss://redis.internal:6380", "CNS_AUTH__PROJECTS__ACME__SECRET=" + key,
		"CNS_DASHBOARD_SESSION_KEY=" + key, "CNS_SERVER_TLS_INSECURE=true"}
	want(problems(append(prod, "CNS_CRITICS_FLOOD_TRUST_CAP=0.3")...), "critics.flood_trust_cap: production needs it below admission.min_trust")
	if _, err := configs.Load(configs.Options{Environ: env(append(prod, "CNS_CRITICS_FLOOD_TRUST_CAP=0.3", "CNS_CRITICS_FLOOD_CLUSTER=0")...)}); err != nil {
		t.Errorf("production with flood detection off refused: %v", err)
	}
}
