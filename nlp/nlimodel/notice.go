package nlimodel

import (
	"fmt"
	"strings"
)

// Notice renders the NOTICE that `cns train nli` writes beside a weights file: what the model was trained
// on, the checksums of those files, and their licences — the weights are derived from that data.
func Notice(m *Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "NLI model %s — weights.json in this directory\n\n", m.Name)
	b.WriteString("Written by `cns train nli`; retrain with the same command to reproduce it bit for bit.\n")
	if m.Training == nil {
		b.WriteString("No training provenance recorded.\n")
		return b.String()
	}
	c := m.Training.Config
	fmt.Fprintf(&b, "Classifier: %d features, hidden %d, epochs %d, batch %d, lr %g, l2 %g, seed %d; %d examples.\n\n",
		len(m.Features), c.Hidden, c.Epochs, c.Batch, c.LR, c.L2, c.Seed, m.Training.Examples)
	b.WriteString("Training data (TRAIN splits only; paths relative to the dataset root):\n\n")
	nc := false
	for _, s := range m.Training.Sets {
		fmt.Fprintf(&b, "- %s: %s, %d pairs, sha256 %s\n  licence: %s\n", s.Name, s.File, s.Pairs, s.SHA256, s.License)
		if strings.Contains(s.License, "NC") {
			nc = true
		}
	}
	if nc {
		b.WriteString("\nThese weights are derived from SICK, licensed CC BY-NC-SA 3.0 (non-commercial). For weights free\n" +
			"of it, run `cns train nli --exclude sick`.\n")
	}
	b.WriteString("\nFeatures also read GloVe 6B 100d (PDDL 1.0) and WordNet 3.0 (WordNet 3.0 licence) from the models\n" +
		"directory; those files are not part of the weights.\n")
	return b.String()
}
