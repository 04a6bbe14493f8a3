package eval

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

// Row is one measured number with its baselines.
type Row struct {
	Task      string  `json:"task"`
	Metric    string  `json:"metric"`
	N         int     `json:"n"`
	Value     float64 `json:"value"`
	Majority  float64 `json:"majority"` // NaN when undefined (rendered "—"; null in JSON)
	Jaccard   float64 `json:"jaccard"`
	TrainedOn string  `json:"trained_on"`
	Note      string  `json:"note,omitempty"`
}

// Report is the result of Run.
type Report struct {
	Embedder string        `json:"embedder"`
	NLI      string        `json:"nli"`
	Rows     []Row         `json:"rows"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Options configure Run.
type Options struct {
	Root string // dataset root
	// Resources and NLI are the backend under test (GloVe-SIF, WordNet and the trained model).
	Resources *nlimodel.Resources
	NLI       *nlimodel.NLI
	// Embedder is the service's embedder measured on STS-B (nil: the SIF embedder alone).
	Embedder cns.Embedder
	// Only restricts the run to tasks whose name starts with one of these (empty: all).
	Only []string
	// Log receives progress lines (nil: none).
	Log func(format string, args ...any)
}

// Run evaluates the backend on every dataset found under the root. A dataset missing from the root is
// an error: the table must not silently lose rows.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Embedder == nil {
		o.Embedder = o.Resources.SIF
	}
	rep := &Report{Embedder: o.Embedder.Name(), NLI: o.NLI.Name()}
	trained := trainedOn(o.NLI.Model())
	want := func(task string) bool {
		return len(o.Only) == 0 || slices.ContainsFunc(o.Only, func(p string) bool { return strings.HasPrefix(task, p) })
	}
	steps := []struct {
		name string
		fn   func() ([]Row, error)
	}{
		{"sick", func() ([]Row, error) { return evalSICK(ctx, o, trained) }},
		{"rte3", func() ([]Row, error) { return evalRTE(ctx, o, trained) }},
		{"scifact", func() ([]Row, error) { return evalSciFact(ctx, o, trained) }},
		{"climate-fever", func() ([]Row, error) { return evalClimate(ctx, o, trained) }},
		{"stsb", func() ([]Row, error) { return evalSTSB(ctx, o) }},
		{"grounding", func() ([]Row, error) { return evalGrounding(ctx, o, trained) }},
	}
	for _, s := range steps {
		if !want(s.name) {
			continue
		}
		t := time.Now()
		rows, err := s.fn()
		if err != nil {
			return nil, fmt.Errorf("eval %s: %w", s.name, err)
		}
		rep.Rows = append(rep.Rows, rows...)
		o.Log("%s done in %s", s.name, time.Since(t).Round(time.Millisecond))
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func trainedOn(m *nlimodel.Model) string {
	if m.Training == nil {
		return "unknown"
	}
	var names []string
	for _, s := range m.Training.Sets {
		names = append(names, s.Name+" train")
	}
	return strings.Join(names, " + ")
}

// classify runs the NLI on pairs and returns the probabilities.
func classify(ctx context.Context, n cns.NLI, pairs []Pair) ([][3]float64, error) {
	out := make([][3]float64, len(pairs))
	for i, p := range pairs {
		e, err := n.Classify(ctx, p.Premise, p.Hypothesis)
		if err != nil {
			return nil, fmt.Errorf("classify %s: %w", p.ID, err)
		}
		out[i] = [3]float64{e.Entail, e.Neutral, e.Contradict}
	}
	return out, nil
}

func argmax(p [3]float64) int {
	k := 0
	for i := 1; i < 3; i++ {
		if p[i] > p[k] {
			k = i
		}
	}
	return k
}

func labels(ps []Pair) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Label
	}
	return out
}

func majority(train []Pair) int {
	var c [3]int
	for _, p := range train {
		c[p.Label]++
	}
	k := 0
	for i := 1; i < 3; i++ {
		if c[i] > c[k] {
			k = i
		}
	}
	return k
}

func constant(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TokenJaccard is the token-set Jaccard similarity of two texts (nlp.Tokens), the overlap baseline.
func TokenJaccard(a, b string) float64 {
	sa, sb := map[string]bool{}, map[string]bool{}
	for _, t := range nlp.Tokens(a) {
		sa[t] = true
	}
	for _, t := range nlp.Tokens(b) {
		sb[t] = true
	}
	if len(sa)+len(sb) == 0 {
		return 0
	}
	inter := 0
	for t := range sa {
		if sb[t] {
			inter++
		}
	}
	return float64(inter) / float64(len(sa)+len(sb)-inter)
}

// jaccardModel fits the token-Jaccard baseline classifier: logistic regression on (Jaccard, Jaccard²),
// trained on train and applied to test.
func jaccardModel(train, test []Pair) ([][3]float64, error) {
	feat := func(p Pair) []float64 {
		j := TokenJaccard(p.Premise, p.Hypothesis)
		return []float64{j, j * j}
	}
	ex := make([]nlimodel.Example, len(train))
	for i, p := range train {
		ex[i] = nlimodel.Example{X: feat(p), Label: p.Label}
	}
	m, err := nlimodel.Train(ex, nlimodel.TrainConfig{Epochs: 30, Batch: 32, LR: 0.01, Seed: 1}, "jaccard-lr")
	if err != nil {
		return nil, fmt.Errorf("jaccard baseline: %w", err)
	}
	out := make([][3]float64, len(test))
	for i, p := range test {
		out[i] = m.Predict(feat(p))
	}
	return out, nil
}

func preds(ps [][3]float64) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = argmax(p)
	}
	return out
}

var all3 = []int{Entail, Neutral, Contradict}

func evalSICK(ctx context.Context, o Options, trained string) ([]Row, error) {
	all, err := ReadSICK(filepath.Join(o.Root, SICKFile))
	if err != nil {
		return nil, err
	}
	train, test := Filter(all, "TRAIN"), Filter(all, "TEST")
	probs, err := classify(ctx, o.NLI, test)
	if err != nil {
		return nil, err
	}
	gold, pred := labels(test), preds(probs)
	maj := constant(len(test), majority(train))
	jp, err := jaccardModel(train, test)
	if err != nil {
		return nil, err
	}
	jpred := preds(jp)
	return []Row{
		{Task: "SICK test (3-way)", Metric: "accuracy", N: len(test), Value: Accuracy(pred, gold), Majority: Accuracy(maj, gold), Jaccard: Accuracy(jpred, gold), TrainedOn: trained},
		{Task: "SICK test (3-way)", Metric: "macro-F1", N: len(test), Value: MacroF1(pred, gold, all3), Majority: MacroF1(maj, gold, all3), Jaccard: MacroF1(jpred, gold, all3), TrainedOn: trained},
	}, nil
}

// RTEFolds is the number of cross-validation folds on RTE-3 (which has only a dev set here).
const RTEFolds = 10

func evalRTE(ctx context.Context, o Options, trained string) ([]Row, error) {
	pairs, err := ReadRTE3(filepath.Join(o.Root, RTE3File))
	if err != nil {
		return nil, err
	}
	gold := labels(pairs)
	// Zero-shot: the default model, entailment against the rest.
	probs, err := classify(ctx, o.NLI, pairs)
	if err != nil {
		return nil, err
	}
	zs := make([]int, len(pairs))
	for i, p := range probs {
		if p[0] > 0.5 {
			zs[i] = Entail
		} else {
			zs[i] = Neutral
		}
	}
	// 10-fold cross-validation of the same feature classifier trained on the other nine folds only:
	// fold of pair i is i mod 10 (the file order mixes tasks).
	X := Featurize(o.Resources, pairs)
	cv, cvMaj, cvJac := make([]int, len(pairs)), make([]int, len(pairs)), make([]int, len(pairs))
	for f := 0; f < RTEFolds; f++ {
		var tr, te []int
		for i := range pairs {
			if i%RTEFolds == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		ex := make([]nlimodel.Example, len(tr))
		var trPairs, tePairs []Pair
		for k, i := range tr {
			ex[k] = nlimodel.Example{X: X[i], Label: pairs[i].Label}
			trPairs = append(trPairs, pairs[i])
		}
		cfg := nlimodel.TrainConfig{Hidden: 0, Epochs: 40, Batch: 32, LR: 0.003, L2: 1e-3, Seed: 1}
		m, err := nlimodel.Train(ex, cfg, "rte-cv")
		if err != nil {
			return nil, err
		}
		for _, i := range te {
			p := m.Predict(X[i])
			cv[i] = Neutral
			if p[0] > p[1]+p[2] {
				cv[i] = Entail
			}
			tePairs = append(tePairs, pairs[i])
		}
		mj := majority(trPairs)
		jp, err := jaccardModel(trPairs, tePairs)
		if err != nil {
			return nil, err
		}
		for k, i := range te {
			cvMaj[i] = mj
			cvJac[i] = argmax(jp[k])
		}
	}
	allMaj := constant(len(pairs), majority(pairs))
	return []Row{
		{Task: "RTE-3 dev (2-way)", Metric: "accuracy (10-fold CV)", N: len(pairs), Value: Accuracy(cv, gold), Majority: Accuracy(cvMaj, gold), Jaccard: Accuracy(cvJac, gold),
			TrainedOn: "RTE-3 dev, other 9 folds (logistic regression on the same features)"},
		{Task: "RTE-3 dev (2-way)", Metric: "accuracy (zero-shot)", N: len(pairs), Value: Accuracy(zs, gold), Majority: Accuracy(allMaj, gold), Jaccard: Accuracy(cvJac, gold),
			TrainedOn: trained, Note: "entailment iff P(entail) > 0.5; baselines as in the CV row"},
	}, nil
}

// binaryRows computes macro-F1 and the AUROC of entail − contradict for pairs labelled Entail or
// Contradict, with the baselines: majority (always the train majority of the two) and token Jaccard
// (logistic regression on the train pairs). The decision "SUPPORT iff entail − contradict ≥ t" uses the t
// that maximises macro-F1 on the TRAIN pairs (trainProbs), for the model and the Jaccard baseline alike:
// the classifier's probabilities are trained on three mixed datasets, so its neutral point on one domain
// is a calibration choice that belongs to the training split.
func binaryRows(task string, probs, trainProbs [][3]float64, test, train []Pair, trained string) ([]Row, error) {
	two := []int{Entail, Contradict}
	margin := func(ps [][3]float64) []float64 {
		out := make([]float64, len(ps))
		for i, p := range ps {
			out[i] = p[0] - p[2]
		}
		return out
	}
	decide := func(sc []float64, t float64) []int {
		out := make([]int, len(sc))
		for i, x := range sc {
			out[i] = Entail
			if x < t {
				out[i] = Contradict
			}
		}
		return out
	}
	bestT := func(sc []float64, gold []int) float64 {
		cands := append([]float64{0}, sc...)
		best, bt := -1.0, 0.0
		for _, t := range cands {
			if f := MacroF1(decide(sc, t), gold, two); f > best || (f == best && math.Abs(t) < math.Abs(bt)) {
				best, bt = f, t
			}
		}
		return bt
	}
	gold, trGold := labels(test), labels(train)
	score := margin(probs)
	t := bestT(margin(trainProbs), trGold)
	pos := make([]bool, len(test))
	for i := range test {
		pos[i] = test[i].Label == Entail
	}
	maj := constant(len(test), majority(train))
	jp, err := jaccardModel(train, test)
	if err != nil {
		return nil, err
	}
	jtr, err := jaccardModel(train, train)
	if err != nil {
		return nil, err
	}
	jscore := margin(jp)
	jt := bestT(margin(jtr), trGold)
	return []Row{
		{Task: task, Metric: "macro-F1", N: len(test), Value: MacroF1(decide(score, t), gold, two), Majority: MacroF1(maj, gold, two),
			Jaccard: MacroF1(decide(jscore, jt), gold, two), TrainedOn: trained, Note: fmt.Sprintf("SUPPORT iff entail − contradict ≥ %.3f (threshold chosen on the TRAIN pairs)", t)},
		{Task: task, Metric: "AUROC (entail − contradict)", N: len(test), Value: AUROC(score, pos), Majority: 0.5, Jaccard: AUROC(jscore, pos), TrainedOn: trained},
	}, nil
}

func evalSciFact(ctx context.Context, o Options, trained string) ([]Row, error) {
	dir := filepath.Join(o.Root, SciFactDir)
	tr, err := ReadSciFact(dir, "train")
	if err != nil {
		return nil, err
	}
	dev, err := ReadSciFact(dir, "dev")
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, v := range []struct {
		task        string
		test, train []Pair
	}{
		{"SciFact dev (claim, rationale sentences)", dev.RationalePairs(), tr.RationalePairs()},
		{"SciFact dev (claim, whole abstract)", dev.AbstractPairs(), tr.AbstractPairs()},
	} {
		probs, err := classify(ctx, o.NLI, v.test)
		if err != nil {
			return nil, err
		}
		trProbs, err := classify(ctx, o.NLI, v.train)
		if err != nil {
			return nil, err
		}
		r, err := binaryRows(v.task, probs, trProbs, v.test, v.train, trained)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func evalClimate(ctx context.Context, o Options, trained string) ([]Row, error) {
	all, err := ReadClimateFEVER(filepath.Join(o.Root, ClimateFEVERFile))
	if err != nil {
		return nil, err
	}
	train, test := Filter(all, "train"), Filter(all, "test")
	probs, err := classify(ctx, o.NLI, test)
	if err != nil {
		return nil, err
	}
	gold, pred := labels(test), preds(probs)
	maj := constant(len(test), majority(train))
	jp, err := jaccardModel(train, test)
	if err != nil {
		return nil, err
	}
	jpred := preds(jp)
	task := fmt.Sprintf("Climate-FEVER test part (%d%% of claims, 3-way)", ClimateTestPercent)
	rows := []Row{
		{Task: task, Metric: "accuracy", N: len(test), Value: Accuracy(pred, gold), Majority: Accuracy(maj, gold), Jaccard: Accuracy(jpred, gold), TrainedOn: trained},
		{Task: task, Metric: "macro-F1", N: len(test), Value: MacroF1(pred, gold, all3), Majority: MacroF1(maj, gold, all3), Jaccard: MacroF1(jpred, gold, all3), TrainedOn: trained},
	}
	// SUPPORTS vs REFUTES among the evidence that is one or the other.
	var bt, btr []Pair
	var bp, btrp [][3]float64
	trProbs, err := classify(ctx, o.NLI, train)
	if err != nil {
		return nil, err
	}
	for i, p := range train {
		if p.Label != Neutral {
			btrp = append(btrp, trProbs[i])
		}
	}
	for i, p := range test {
		if p.Label != Neutral {
			bt = append(bt, p)
			bp = append(bp, probs[i])
		}
	}
	for _, p := range train {
		if p.Label != Neutral {
			btr = append(btr, p)
		}
	}
	b, err := binaryRows("Climate-FEVER test part (SUPPORTS vs REFUTES)", bp, btrp, bt, btr, trained)
	if err != nil {
		return nil, err
	}
	return append(rows, b...), nil
}

func evalSTSB(ctx context.Context, o Options) ([]Row, error) {
	pairs, err := ReadSTSB(filepath.Join(o.Root, STSBFile))
	if err != nil {
		return nil, err
	}
	gold := make([]float64, len(pairs))
	emb, sif, mean, hashed, jac := make([]float64, len(pairs)), make([]float64, len(pairs)), make([]float64, len(pairs)), make([]float64, len(pairs)), make([]float64, len(pairs))
	h := nlp.NewHashedEmbedder(0)
	vecs := o.Resources.SIF.Vectors()
	cos := func(e cns.Embedder, a, b string) (float64, error) {
		u, err := e.Embed(ctx, a)
		if err != nil {
			return 0, err
		}
		v, err := e.Embed(ctx, b)
		if err != nil {
			return 0, err
		}
		return cns.Cosine(u, v), nil
	}
	for i, p := range pairs {
		gold[i] = p.Score
		var err error
		if emb[i], err = cos(o.Embedder, p.Premise, p.Hypothesis); err != nil {
			return nil, fmt.Errorf("embed %s: %w", p.ID, err)
		}
		if sif[i], err = cos(o.Resources.SIF, p.Premise, p.Hypothesis); err != nil {
			return nil, fmt.Errorf("embed %s: %w", p.ID, err)
		}
		if hashed[i], err = cos(h, p.Premise, p.Hypothesis); err != nil {
			return nil, fmt.Errorf("embed %s: %w", p.ID, err)
		}
		if ma, mb := glove.Mean(vecs, p.Premise), glove.Mean(vecs, p.Hypothesis); ma != nil && mb != nil {
			mean[i] = cns.Cosine(ma, mb)
		}
		jac[i] = TokenJaccard(p.Premise, p.Hypothesis)
	}
	nan := math.NaN()
	note := fmt.Sprintf("SIF alone %.3f; plain GloVe mean %.3f; hashed n-gram fallback alone %.3f",
		Spearman(sif, gold), Spearman(mean, gold), Spearman(hashed, gold))
	return []Row{{Task: "STS-B dev", Metric: "Spearman (cosine of " + o.Embedder.Name() + ")", N: len(pairs), Value: Spearman(emb, gold),
		Majority: nan, Jaccard: Spearman(jac, gold), TrainedOn: "no training (SIF a and lexical weight λ chosen on SICK TRAIN relatedness)", Note: note}}, nil
}

// jaccardNLI is the token-Jaccard baseline behind the NLI port: entailment = Jaccard, never a
// contradiction.
type jaccardNLI struct{}

func (jaccardNLI) Classify(_ context.Context, p, h string) (cns.Entailment, error) {
	j := TokenJaccard(p, h)
	return cns.Entailment{Entail: j, Neutral: 1 - j}, nil
}
func (jaccardNLI) Name() string { return "token-jaccard" }

// ECEBins is the number of equal-width bins of the calibration error.
const ECEBins = 10

// evalGrounding measures how well the grounding critic's score, read as the probability that a claim is
// supported, matches SciFact dev labels: for every claim, an SNO whose hypothesis is the claim and whose
// evidence is each cited abstract; positive when some cited abstract SUPPORTs it.
func evalGrounding(ctx context.Context, o Options, trained string) ([]Row, error) {
	dir := filepath.Join(o.Root, SciFactDir)
	tr, err := ReadSciFact(dir, "train")
	if err != nil {
		return nil, err
	}
	dev, err := ReadSciFact(dir, "dev")
	if err != nil {
		return nil, err
	}
	supported := func(c SciFactClaim) bool {
		for _, evs := range c.Evidence {
			for _, ev := range evs {
				if ev.Label == "SUPPORT" {
					return true
				}
			}
		}
		return false
	}
	score := func(n cns.NLI) ([]float64, []bool, error) {
		ev, err := critic.NewEvaluator(critic.DefaultConfig(), n)
		if err != nil {
			return nil, nil, err
		}
		var p []float64
		var y []bool
		for _, c := range dev.Claims {
			sno := &cns.SNO{Hypothesis: c.Claim, Graph: cns.NewGraph(c.Claim)}
			for _, d := range c.Cited {
				doc, ok := dev.Corpus[d]
				if !ok {
					continue
				}
				sno.Evidence = append(sno.Evidence, cns.Evidence{ID: fmt.Sprint(d), SourceID: fmt.Sprint(d), Content: strings.Join(doc.Abstract, " "), Confidence: 1})
			}
			cs, err := ev.Grounding(ctx, sno)
			if err != nil {
				return nil, nil, fmt.Errorf("claim %d: %w", c.ID, err)
			}
			p = append(p, cs.Score)
			y = append(y, supported(c))
		}
		return p, y, nil
	}
	p, y, err := score(o.NLI)
	if err != nil {
		return nil, err
	}
	jp, _, err := score(jaccardNLI{})
	if err != nil {
		return nil, err
	}
	var rate float64
	for _, c := range tr.Claims {
		if supported(c) {
			rate++
		}
	}
	rate /= float64(len(tr.Claims))
	mp := make([]float64, len(y))
	for i := range mp {
		mp[i] = rate
	}
	return []Row{
		{Task: "Grounding critic vs SciFact dev claims", Metric: fmt.Sprintf("ECE (%d bins, lower is better)", ECEBins), N: len(y), Value: ECE(p, y, ECEBins),
			Majority: ECE(mp, y, ECEBins), Jaccard: ECE(jp, y, ECEBins), TrainedOn: trained,
			Note: "majority: the SciFact TRAIN share of supported claims as a constant probability"},
		{Task: "Grounding critic vs SciFact dev claims", Metric: "AUROC (supported vs not)", N: len(y), Value: AUROC(p, y), Majority: 0.5, Jaccard: AUROC(jp, y), TrainedOn: trained},
	}, nil
}

// Format renders the report as a Markdown table.
func (r *Report) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Embedder %s, NLI %s; %d rows in %s.\n\n", r.Embedder, r.NLI, len(r.Rows), r.Elapsed.Round(time.Second))
	b.WriteString("| task | metric | n | value | majority | token Jaccard | trained on |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %d | **%s** | %s | %s | %s |\n", row.Task, row.Metric, row.N, num(row.Value), num(row.Majority), num(row.Jaccard), row.TrainedOn)
	}
	var notes []string
	for _, row := range r.Rows {
		if row.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s, %s: %s", row.Task, row.Metric, row.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.3f", x)
}

// DefaultRoot returns ../shared/data when it exists (the layout of these machines), else "".
func DefaultRoot() string {
	for _, p := range []string{filepath.Join("..", "shared", "data")} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	return ""
}
