// Package nlimodel is the trained NLI of the built-in backend: alignment features between a premise and
// a hypothesis (best-match GloVe similarities, WordNet synonym, hypernym and antonym alignments,
// negation, quantifier, number and unit mismatches, overlap and length ratios, word-order swaps) fed to a
// small classifier (multinomial logistic regression or a one-hidden-layer MLP) trained by `cns train nli`
// on the TRAIN splits of real datasets. The default weights are committed in weights.json (a few KB) with
// a NOTICE of the training data's checksums and licences.
package nlimodel
