// Package ingest turns a raw document into the parts of a Structured Narrative Object (SNO): a
// hypothesis, a reasoning graph of claims joined by typed edges, and a canonical evidence set.
//
// It is a deliberately small, rule-based extractor rather than a model: it needs no network, no weights
// and no state, so the same document always yields the same SNO parts (jobs can be retried and replayed
// without drift) and every function is safe for concurrent use. The steps, each documented where it is
// implemented, are:
//
//  1. normalise whitespace and drop a leading title line (normalize.go);
//  2. split into sentences, aware of abbreviations, decimals, DOIs and URLs (split.go);
//  3. choose the hypothesis, preferring a conclusion sentence, and strip its conclusion marker
//     (hypothesis.go);
//  4. turn the remaining sentences into claims linked by discourse markers (relations.go);
//  5. collect DOIs, URLs and citations as canonical evidence, plus the document itself (evidence.go).
//
// Everything is bounded by cns.Limits so that the result always passes the same checks as a structured
// submission (cns.BuildNarrative) would.
package ingest
