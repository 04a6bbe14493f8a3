package configs_test

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns/configs"
)

// The optional backends' required settings are checked with the rest of the configuration.
func TestBackendSettings(t *testing.T) {
	t.Parallel()
	_, err := configs.Load(configs.Options{Environ: env("CNS_NLP_BACKEND=cybertron", "CNS_NLP_NLI_MODEL=nli",
		"CNS_VECTOR_BACKEND=faiss", "CNS_VECTOR_FAISS_INDEX=HNSW32")})
	list, ok := configs.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	joined := strings.Join(list, "\n")
	for _, want := range []string{"nlp.embedder_model: required with nlp.backend cybertron", `vector.faiss_index: "HNSW32" must start with "IDMap,"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("problem %q not reported in %v", want, list)
		}
	}
	if strings.Contains(joined, "nlp.nli_model") {
		t.Errorf("nlp.nli_model is set but reported: %v", list)
	}
	if _, err := configs.Load(configs.Options{Environ: env("CNS_NLP_BACKEND=cybertron", "CNS_NLP_NLI_MODEL=nli",
		"CNS_NLP_EMBEDDER_MODEL=enc", "CNS_VECTOR_BACKEND=faiss", "CNS_VECTOR_FAISS_INDEX=IDMap,HNSW32")}); err != nil {
		t.Errorf("complete settings refused: %v", err)
	}
}
