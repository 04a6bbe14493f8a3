// Package eval measures the NLP backends on real, labelled data: it reads the evaluation datasets
// (SICK, RTE-3, SciFact, Climate-FEVER, STS-B; formats and licences in each folder's README under the
// data root), computes the metrics (accuracy, macro-F1, AUROC, Spearman, expected calibration error),
// builds the training sets that `cns train nli` uses (TRAIN splits only), and runs the full evaluation
// behind `cns eval` with the majority-class and token-Jaccard baselines beside every number.
package eval
