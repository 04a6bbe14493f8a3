package eval

import (
	"math"
	"sort"
)

// Accuracy is the fraction of pred equal to gold (NaN for no items).
func Accuracy(pred, gold []int) float64 {
	if len(gold) == 0 {
		return math.NaN()
	}
	n := 0
	for i := range gold {
		if pred[i] == gold[i] {
			n++
		}
	}
	return float64(n) / float64(len(gold))
}

// MacroF1 is the unweighted mean of the per-class F1 over classes; a class with no gold and no predicted
// item is left out, a class never predicted but present counts as F1 0.
func MacroF1(pred, gold []int, classes []int) float64 {
	var sum float64
	n := 0
	for _, c := range classes {
		var tp, fp, fn float64
		for i := range gold {
			switch {
			case pred[i] == c && gold[i] == c:
				tp++
			case pred[i] == c:
				fp++
			case gold[i] == c:
				fn++
			}
		}
		if tp+fp+fn == 0 {
			continue
		}
		sum += 2 * tp / (2*tp + fp + fn)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// AUROC is the area under the ROC curve of score for separating positives from negatives: the
// probability that a random positive scores above a random negative, ties counting one half
// (Mann–Whitney). NaN when either class is empty.
func AUROC(score []float64, positive []bool) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	ranks := averageRanks(score, idx)
	var np, nn, sumPos float64
	for i, p := range positive {
		if p {
			np++
			sumPos += ranks[i]
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return math.NaN()
	}
	return (sumPos - np*(np+1)/2) / (np * nn)
}

// averageRanks returns 1-based ranks with ties given their average rank; idx orders x ascending.
func averageRanks(x []float64, idx []int) []float64 {
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Spearman is the rank correlation of x and y (Pearson on average ranks). NaN when either is constant.
func Spearman(x, y []float64) float64 {
	return Pearson(ranksOf(x), ranksOf(y))
}

func ranksOf(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	return averageRanks(x, idx)
}

// Pearson is the linear correlation of x and y. NaN when either is constant or empty.
func Pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n == 0 {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// ECE is the expected calibration error of probabilities p for binary outcomes y over equal-width bins:
// Σ_b (n_b/n)·|mean(p in b) − mean(y in b)|. p = 1 falls in the last bin.
func ECE(p []float64, y []bool, bins int) float64 {
	if len(p) == 0 || bins <= 0 {
		return math.NaN()
	}
	cnt := make([]float64, bins)
	sp := make([]float64, bins)
	sy := make([]float64, bins)
	for i, x := range p {
		b := int(x * float64(bins))
		b = min(max(b, 0), bins-1)
		cnt[b]++
		sp[b] += x
		if y[i] {
			sy[b]++
		}
	}
	var e float64
	for b := range cnt {
		if cnt[b] > 0 {
			e += cnt[b] / float64(len(p)) * math.Abs(sp[b]/cnt[b]-sy[b]/cnt[b])
		}
	}
	return e
}
